import pytest

from ingest.rtsp_url import RtspUrlError, build_rtsp_url, redact_rtsp_url, url_credentials, validate_rtsp_url


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("", "empty"),
        ("http://10.0.0.5/stream", "must start with rtsp://"),
        ("10.0.0.5/stream", "must start with rtsp://"),
        ("rtsp:///stream", "has no host"),
        ("rtsp://10.0.0.5:99999/stream", "invalid port"),
        ("rtsp://10.0.0.5:abc/stream", "invalid port"),
        ("rtsp://10.0.0.5:0/stream", "port 0"),
        ("rtsp://10.0.0.5/my stream", "spaces"),
    ],
)
def test_bad_urls_are_explained(url: str, complaint: str) -> None:
    with pytest.raises(RtspUrlError, match=complaint):
        validate_rtsp_url(url)


def test_good_urls_pass() -> None:
    assert validate_rtsp_url("rtsp://10.0.0.5:8554/Streaming/Channels/101").port == 8554
    assert validate_rtsp_url("rtsps://cam.yard.example/live").hostname == "cam.yard.example"


def test_credentials_with_special_characters_round_trip() -> None:
    url = build_rtsp_url("rtsp://10.0.0.5:554/live", "op@yard", "p@ss:w/rd%")
    assert url == "rtsp://op%40yard:p%40ss%3Aw%2Frd%25@10.0.0.5:554/live"
    assert url_credentials(url) == ("op@yard", "p@ss:w/rd%")


def test_given_credentials_replace_those_in_the_url() -> None:
    url = build_rtsp_url("rtsp://old:secret@10.0.0.5/live", "new", "pw")
    assert url == "rtsp://new:pw@10.0.0.5/live"


def test_url_without_credentials_is_unchanged() -> None:
    assert build_rtsp_url("rtsp://10.0.0.5/live") == "rtsp://10.0.0.5/live"


def test_password_without_username_is_refused() -> None:
    with pytest.raises(RtspUrlError, match="without a username"):
        build_rtsp_url("rtsp://10.0.0.5/live", None, "pw")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtsp://admin:p%40ss@10.0.0.5:554/live", "rtsp://admin:***@10.0.0.5:554/live"),
        ("rtsp://admin:p@ss@10.0.0.5/live", "rtsp://admin:***@10.0.0.5/live"),
        ("rtsp://admin@10.0.0.5/live", "rtsp://admin:***@10.0.0.5/live"),
        ("rtsp://10.0.0.5/live", "rtsp://10.0.0.5/live"),
    ],
)
def test_redaction_hides_passwords(url: str, shown: str) -> None:
    assert redact_rtsp_url(url) == shown
