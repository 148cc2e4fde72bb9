from __future__ import annotations

import base64
import hashlib
import re

import pytest

from ingest.rtsp.auth import authorization, parse_challenges

RFC2617_CHALLENGE = (
    'Digest realm="testrealm@host.com", qop="auth,auth-int", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


QUOTED = {"username", "realm", "nonce", "uri", "response", "cnonce", "opaque"}


def _params(header: str) -> dict[str, str]:
    """The parameters of a Digest Authorization header; checks that exactly the QUOTED ones are quoted."""
    assert header.startswith("Digest ")
    params: dict[str, str] = {}
    for key, value in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\s]+)', header[7:]):
        assert value.startswith('"') == (key in QUOTED), key
        params[key] = value.strip('"')
    return params


def test_rfc2617_section_3_5_example() -> None:
    header = authorization(
        "GET", "/dir/index.html", [RFC2617_CHALLENGE], "Mufasa", "Circle Of Life", cnonce="0a4f113b"
    )
    assert header == (
        'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
        'uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", qop=auth, nc=00000001, '
        'cnonce="0a4f113b", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )


def test_rfc7616_examples_md5_and_sha256() -> None:
    challenge = (
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={}, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
    for algorithm, response in [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ]:
        header = authorization(
            "GET", "/dir/index.html", [challenge.format(algorithm)], "Mufasa", "Circle of Life", cnonce=cnonce
        )
        assert header is not None
        params = _params(header)
        assert params["response"] == response
        assert params["algorithm"] == algorithm


def test_rfc2069_digest_without_qop_against_independent_md5() -> None:
    challenge = 'Digest realm="IP Camera(C8157)", nonce="0a1b2c3d4e5f", stale="FALSE"'
    header = authorization("DESCRIBE", "rtsp://10.0.0.7:554/live", [challenge], "admin", "s3cret!")
    ha1 = _md5("admin:IP Camera(C8157):s3cret!")
    ha2 = _md5("DESCRIBE:rtsp://10.0.0.7:554/live")
    assert header == (
        'Digest username="admin", realm="IP Camera(C8157)", nonce="0a1b2c3d4e5f", '
        f'uri="rtsp://10.0.0.7:554/live", response="{_md5(f"{ha1}:0a1b2c3d4e5f:{ha2}")}"'
    )
    # RFC 1321 test vector, so the independent computation above is itself checked
    assert _md5("abc") == "900150983cd24fb0d6963f7d28e17f72"


def test_md5_sess_with_qop_and_nonce_count() -> None:
    challenge = 'Digest realm="r", nonce="n0nce", algorithm=MD5-sess, qop="auth"'
    header = authorization("SETUP", "rtsp://cam/live/trackID=1", [challenge], "u", "p", 26, cnonce="c1")
    assert header is not None
    params = _params(header)
    ha1 = _md5(f"{_md5('u:r:p')}:n0nce:c1")
    ha2 = _md5("SETUP:rtsp://cam/live/trackID=1")
    assert params["response"] == _md5(f"{ha1}:n0nce:0000001a:c1:auth:{ha2}")
    assert (params["algorithm"], params["qop"], params["nc"], params["cnonce"]) == (
        "MD5-sess",
        "auth",
        "0000001a",
        "c1",
    )
    assert "opaque" not in params


def test_auth_int_only_hashes_an_empty_body() -> None:
    challenge = 'Digest realm="r", nonce="n", qop="auth-int"'
    params = _params(authorization("PLAY", "rtsp://cam/live", [challenge], "u", "p", cnonce="c") or "")
    ha2 = _md5(f"PLAY:rtsp://cam/live:{_md5('')}")
    assert params["qop"] == "auth-int"
    assert params["response"] == _md5(f"{_md5('u:r:p')}:n:00000001:c:auth-int:{ha2}")


def test_random_cnonce_by_default() -> None:
    first = _params(authorization("GET", "/", [RFC2617_CHALLENGE], "u", "p") or "")
    second = _params(authorization("GET", "/", [RFC2617_CHALLENGE], "u", "p") or "")
    assert re.fullmatch(r"[0-9a-f]{16}", first["cnonce"])
    assert first["cnonce"] != second["cnonce"]


@pytest.mark.parametrize("order", [0, 1])
def test_digest_is_preferred_over_basic(order: int) -> None:
    challenges = ['Basic realm="cam"', 'Digest realm="cam", nonce="abc"']
    if order:
        challenges.reverse()
    header = authorization("DESCRIBE", "rtsp://cam/", challenges, "admin", "pw")
    assert header is not None and header.startswith("Digest ")


def test_several_challenges_in_one_header() -> None:
    header = 'Basic realm="a, b", DIGEST realm="a, b", nonce="x,y", Negotiate'
    assert parse_challenges(header) == [
        ("basic", {"realm": "a, b"}),
        ("digest", {"realm": "a, b", "nonce": "x,y"}),
        ("negotiate", {}),
    ]
    answer = authorization("OPTIONS", "*", [header], "u", "p")
    assert answer is not None and 'realm="a, b"' in answer and 'nonce="x,y"' in answer


def test_challenge_parsing_quoted_escapes_and_unquoted_tokens() -> None:
    header = 'digest  Realm = "say \\"hi\\", ok" ,NONCE=abc==,algorithm=md5 ,stale=FALSE, realm2=IP Camera'
    ((scheme, params),) = parse_challenges(header)
    assert scheme == "digest"
    assert params == {
        "realm": 'say "hi", ok',
        "nonce": "abc==",
        "algorithm": "md5",
        "stale": "FALSE",
        "realm2": "IP Camera",
    }
    answer = authorization("DESCRIBE", "rtsp://c/", [header], 'we"ird\\', "p", cnonce="c")
    assert answer is not None
    # quoted values are escaped again; the algorithm is echoed as the camera spelled it
    assert answer.startswith('Digest username="we\\"ird\\\\", realm="say \\"hi\\", ok", nonce="abc==", ')
    ha1 = _md5('we"ird\\:say "hi", ok:p')
    ha2 = _md5("DESCRIBE:rtsp://c/")
    assert f'response="{_md5(f"{ha1}:abc==:{ha2}")}", algorithm=md5' in answer


def test_basic_with_special_characters_in_the_password() -> None:
    password = "pä$$@:/wörd"
    header = authorization("DESCRIBE", "rtsp://cam/", ['Basic realm="IPCAM"'], "admin", password)
    assert header is not None
    scheme, token = header.split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token) == "admin:pä$$@:/wörd".encode()


@pytest.mark.parametrize(
    "challenges",
    [
        [],
        ["Bearer realm=x"],
        ["NTLM", "Negotiate"],
        ['Digest realm="r", nonce="n", algorithm=SHA-512-256'],  # unsupported algorithm
        ['Digest realm="r", nonce="n", qop="auth-conf"'],  # unsupported qop
        ['Digest realm="r"'],  # no nonce
        ["", ",,", '"', "="],
    ],
)
def test_no_supported_scheme(challenges: list[str]) -> None:
    assert authorization("DESCRIBE", "rtsp://cam/", challenges, "u", "p") is None


def test_unsupported_digest_falls_back_to_basic() -> None:
    challenges = ['Digest realm="r", nonce="n", algorithm=SHA-512-256', 'Basic realm="r"']
    assert authorization("DESCRIBE", "rtsp://cam/", challenges, "u", "p") == "Basic dTpw"
