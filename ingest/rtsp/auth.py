"""Answers to RTSP ``WWW-Authenticate`` challenges: Digest (RFC 2617 / RFC 7616, RFC 2069) and Basic."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable

_Hash = Callable[[str], str]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# algorithm (upper case) -> (hash, is a "-sess" variant)
_ALGORITHMS: dict[str, tuple[_Hash, bool]] = {
    "MD5": (_md5, False),
    "MD5-SESS": (_md5, True),
    "SHA-256": (_sha256, False),
    "SHA-256-SESS": (_sha256, True),
}

_SEPARATORS = ' \t,="'


def parse_challenges(header: str) -> list[tuple[str, dict[str, str]]]:
    """(scheme in lower case, parameters with lower-case names) of each challenge in one header value.

    A header may hold several challenges (``Digest realm="a", nonce="b", Basic realm="a"``); quoted values
    may contain commas and backslash-escaped characters.
    """
    challenges: list[tuple[str, dict[str, str]]] = []
    params: dict[str, str] | None = None
    unquoted_key: str | None = None  # the last parameter, if its value was an unquoted token
    after_comma = True
    size = len(header)
    i = 0
    while i < size:
        while i < size and header[i] in " \t,":
            if header[i] == ",":
                after_comma = True
            i += 1
        start = i
        while i < size and header[i] not in _SEPARATORS:
            i += 1
        token = header[start:i]
        if not token:
            i += 1  # a stray '=' or '"'
            continue
        j = i
        while j < size and header[j] in " \t":
            j += 1
        if j < size and header[j] == "=":
            i = j + 1
            while i < size and header[i] in " \t":
                i += 1
            unquoted_key = None
            if i < size and header[i] == '"':
                value, i = _quoted(header, i + 1)
            else:
                start = i
                while i < size and header[i] not in " \t,":
                    i += 1
                value = header[start:i]
                unquoted_key = token.lower()
            if params is not None:
                params[token.lower()] = value
        elif after_comma:
            params = {}
            unquoted_key = None
            challenges.append((token.lower(), params))
        elif params is not None and unquoted_key is not None:
            # an unquoted value with spaces, as some cameras send: realm=IP Camera
            params[unquoted_key] += " " + token
        after_comma = False
    return challenges


def _quoted(text: str, i: int) -> tuple[str, int]:
    """The unescaped quoted-string starting after its opening quote at ``i``, and the index after it."""
    out: list[str] = []
    size = len(text)
    while i < size:
        char = text[i]
        if char == "\\" and i + 1 < size:
            out.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    return "".join(out), i


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def authorization(
    method: str,
    uri: str,
    challenges: list[str],
    username: str,
    password: str,
    nonce_count: int = 1,
    *,
    cnonce: str | None = None,
) -> str | None:
    """The ``Authorization`` header value answering the ``WWW-Authenticate`` headers ``challenges``.

    Digest is preferred over Basic (the first Digest challenge with a supported algorithm and qop wins);
    None when no challenge uses a supported scheme. ``cnonce`` is random unless given (for tests).
    """
    parsed = [challenge for header in challenges for challenge in parse_challenges(header)]
    for scheme, params in parsed:
        if scheme == "digest":
            answer = _digest(method, uri, params, username, password, nonce_count, cnonce)
            if answer is not None:
                return answer
    for scheme, _params in parsed:
        if scheme == "basic":
            token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
            return f"Basic {token}"
    return None


def _digest(
    method: str,
    uri: str,
    params: dict[str, str],
    username: str,
    password: str,
    nonce_count: int,
    cnonce: str | None,
) -> str | None:
    algorithm = params.get("algorithm")
    found = _ALGORITHMS.get((algorithm or "MD5").upper())
    nonce = params.get("nonce")
    if found is None or nonce is None:
        return None
    digest, session = found
    realm = params.get("realm", "")
    qop: str | None = None
    if "qop" in params:
        offered = {option.strip().lower() for option in params["qop"].split(",")}
        if "auth" in offered:
            qop = "auth"
        elif "auth-int" in offered:
            qop = "auth-int"
        else:
            return None
    if cnonce is None:
        cnonce = secrets.token_hex(8)
    nc = f"{nonce_count & 0xFFFFFFFF:08x}"

    ha1 = digest(f"{username}:{realm}:{password}")
    if session:
        ha1 = digest(f"{ha1}:{nonce}:{cnonce}")
    # RTSP requests that need auth (DESCRIBE, SETUP, PLAY, ...) carry no body: auth-int hashes "".
    ha2 = digest(f"{method}:{uri}:{digest('')}" if qop == "auth-int" else f"{method}:{uri}")
    if qop is None:
        response = digest(f"{ha1}:{nonce}:{ha2}")
    else:
        response = digest(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")

    parts = [
        f"username={_quote(username)}",
        f"realm={_quote(realm)}",
        f"nonce={_quote(nonce)}",
        f"uri={_quote(uri)}",
        f"response={_quote(response)}",
    ]
    if algorithm is not None:
        parts.append(f"algorithm={algorithm}")
    if qop is not None:
        parts += [f"qop={qop}", f"nc={nc}", f"cnonce={_quote(cnonce)}"]
    elif session:
        parts.append(f"cnonce={_quote(cnonce)}")
    if "opaque" in params:
        parts.append(f"opaque={_quote(params['opaque'])}")
    return "Digest " + ", ".join(parts)
