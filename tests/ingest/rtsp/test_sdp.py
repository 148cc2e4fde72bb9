from __future__ import annotations

import pytest

from ingest.rtsp.sdp import MediaDescription, SdpError, parse_sdp

HIKVISION = """v=0
o=- 1109162014219182 1109162014219192 IN IP4 x.y.z.w
s=Media Presentation
e=NONE
b=AS:5050
t=0 0
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/
m=video 0 RTP/AVP 96
c=IN IP4 0.0.0.0
b=AS:5000
a=recvonly
a=x-dimensions:1920,1080
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1
a=rtpmap:96 H264/90000
a=fmtp:96 profile-level-id=420029; packetization-mode=1; \
sprop-parameter-sets=Z00AKpWoHgCJ+WbgICAoAAADAAgAAAMBlCA=,aO48gA==
m=audio 0 RTP/AVP 8
c=IN IP4 0.0.0.0
b=AS:50
a=recvonly
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=2
a=rtpmap:8 PCMA/8000
a=Media_header:MEDIAINFO=494D4B48010100000400000111710110401F000000FA000000000000000000000000000000000000;
a=appversion:1.0
"""

DAHUA_BASE = "rtsp://10.0.0.5:554/cam/realmonitor?channel=1&subtype=0"
DAHUA = """v=0\r
o=- 2251938210 2251938210 IN IP4 0.0.0.0\r
s=Media Server\r
c=IN IP4 0.0.0.0\r
t=0 0\r
a=control:*\r
a=packetization-supported:DH\r
a=rtppayload-supported:DH\r
a=range:npt=now-\r
m=video 0 RTP/AVP 96\r
a=control:trackID=0\r
a=framerate:25.000000\r
a=rtpmap:96 H265/90000\r
a=fmtp:96 profile-id=1;sprop-sps=QgEBAWAAAAMAsAAAAwAAAwB7oAPAgBDlja5JMvTcBAQEAg==;\
sprop-pps=RAHA8vA8kAA=;sprop-vps=QAEMAf//AWAAAAMAsAAAAwAAAwB7rAk=\r
a=recvonly\r
m=audio 0 RTP/AVP 97\r
a=control:trackID=1\r
a=rtpmap:97 MPEG4-GENERIC/16000/2\r
a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;\
indexdeltalength=3;config=1410\r
a=recvonly\r
"""


def test_hikvision_absolute_controls_and_h264_fmtp() -> None:
    video, audio = parse_sdp(HIKVISION, "rtsp://192.168.1.64:554/Streaming/Channels/101")
    assert video == MediaDescription(
        kind="video",
        payload_type=96,
        encoding="H264",
        clock_rate=90000,
        channels=1,
        fmtp={
            "profile-level-id": "420029",
            "packetization-mode": "1",
            "sprop-parameter-sets": "Z00AKpWoHgCJ+WbgICAoAAADAAgAAAMBlCA=,aO48gA==",
        },
        control="rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1",
    )
    assert (audio.kind, audio.payload_type, audio.encoding, audio.clock_rate, audio.channels) == (
        "audio",
        8,
        "PCMA",
        8000,
        1,
    )
    assert audio.fmtp == {}
    assert audio.control == "rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=2"


def test_dahua_relative_controls_are_appended_to_the_base_url_with_its_query() -> None:
    video, audio = parse_sdp(DAHUA, DAHUA_BASE)
    # FFmpeg and Dahua cameras expect plain appending, not urljoin (which would drop "realmonitor?...")
    assert video.control == DAHUA_BASE + "/trackID=0"
    assert audio.control == DAHUA_BASE + "/trackID=1"
    assert video.encoding == "H265"
    assert video.fmtp["sprop-vps"] == "QAEMAf//AWAAAAMAsAAAAwAAAwB7rAk="
    assert video.fmtp["sprop-pps"] == "RAHA8vA8kAA="
    assert (audio.encoding, audio.clock_rate, audio.channels) == ("MPEG4-GENERIC", 16000, 2)
    assert audio.fmtp["mode"] == "AAC-hbr"
    assert audio.fmtp["config"] == "1410"
    assert audio.fmtp["streamtype"] == "5"


def _sdp(session_control: str | None, media_control: str | None) -> str:
    lines = ["v=0", "s=x", "t=0 0"]
    if session_control is not None:
        lines.append(f"a=control:{session_control}")
    lines += ["m=video 0 RTP/AVP 96", "a=rtpmap:96 H264/90000"]
    if media_control is not None:
        lines.append(f"a=control:{media_control}")
    return "\n".join(lines) + "\n"


BASE = "rtsp://cam.local/live/main"


@pytest.mark.parametrize(
    ("session_control", "media_control", "expected"),
    [
        # relative media control: joined with exactly one "/" to the base URL ...
        (None, "trackID=1", BASE + "/trackID=1"),
        (None, "/trackID=1", BASE + "/trackID=1"),
        ("*", "track1", BASE + "/track1"),
        # ... or to an absolute session-level control
        ("rtsp://cam.local/agg/", "track1", "rtsp://cam.local/agg/track1"),
        ("rtsp://cam.local/agg", "/track1", "rtsp://cam.local/agg/track1"),
        # a relative session-level control is ignored
        ("live", "track1", BASE + "/track1"),
        # absolute media control: used as is
        ("rtsp://cam.local/agg/", "rtsp://other:8554/s/t=1", "rtsp://other:8554/s/t=1"),
        (None, "RTSP://cam.local/x", "RTSP://cam.local/x"),
        # "*" or none: the aggregate URL itself
        (None, None, BASE),
        (None, "*", BASE),
        ("*", "*", BASE),
        ("rtsp://cam.local/agg/", None, "rtsp://cam.local/agg/"),
    ],
)
def test_control_urls(session_control: str | None, media_control: str | None, expected: str) -> None:
    (media,) = parse_sdp(_sdp(session_control, media_control), BASE)
    assert media.control == expected


def test_base_url_with_trailing_slash_gets_one_slash() -> None:
    (media,) = parse_sdp(_sdp(None, "trackID=1"), BASE + "/")
    assert media.control == BASE + "/trackID=1"


def test_line_endings_blank_lines_and_whitespace_are_tolerated() -> None:
    text = (
        "v=0\r\n\r\ns=x\n\n  \r\nm=audio 0 RTP/AVP 0 101\r\n"
        "a=rtpmap:101 telephone-event/8000\n\na=fmtp:101 0-15\r\n"
        "m=video 0 RTP/AVP 97 98\n"
        "a=rtpmap:98 H264/90000\n"
        "a=rtpmap:97 h264/90000\n"
        "a=fmtp:98 packetization-mode=0\n"
        "a=fmtp:97  Packetization-Mode = 1 ;SPROP-parameter-sets=Z0IAKeKQFAe2AtwEBAaQeJEV,aM48gA==; flag ;\n"
    )
    audio, video = parse_sdp(text, BASE)
    # static payload type 0 without rtpmap; the other payload type's rtpmap/fmtp don't apply
    assert (audio.payload_type, audio.encoding, audio.clock_rate, audio.channels) == (0, "PCMU", 8000, 1)
    assert audio.fmtp == {}
    assert audio.control == BASE
    assert (video.payload_type, video.encoding, video.clock_rate) == (97, "H264", 90000)
    assert video.fmtp == {
        "packetization-mode": "1",
        "sprop-parameter-sets": "Z0IAKeKQFAe2AtwEBAaQeJEV,aM48gA==",
        "flag": "",
    }


def test_static_pcma_without_rtpmap() -> None:
    (media,) = parse_sdp("v=0\nm=audio 0 RTP/AVP 8\na=control:trackID=2\n", BASE)
    assert (media.kind, media.encoding, media.clock_rate, media.channels) == ("audio", "PCMA", 8000, 1)
    assert media.control == BASE + "/trackID=2"


def test_dynamic_payload_type_without_rtpmap_has_no_encoding() -> None:
    (video,) = parse_sdp("v=0\nm=video 0 RTP/AVP 96\n", BASE)
    assert (video.encoding, video.clock_rate) == ("", 90000)


def test_non_rtp_media_are_left_out() -> None:
    text = "v=0\nm=application 0 TCP/WSS *\nm=video 0 RTP/AVP 96\na=rtpmap:96 H265/90000\n"
    (video,) = parse_sdp(text, BASE)
    assert video.encoding == "H265"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no m= line"),
        ("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=x\r\na=control:*\r\n", "no m= line"),
        ("v=0\nm=application 9 TCP/BFCP *\n", "no m= line with an RTP payload type"),
        ("<html>401 Unauthorized</html>", "no m= line"),
    ],
)
def test_sdp_without_media_is_an_error(text: str, message: str) -> None:
    with pytest.raises(SdpError, match=message):
        parse_sdp(text, BASE)
