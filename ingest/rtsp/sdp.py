"""The parts of a camera's SDP (RFC 4566) needed to set up and depacketize its media streams."""

from __future__ import annotations

import re
from dataclasses import dataclass


class SdpError(ValueError):
    """The camera's session description cannot be used (the message says why, for a person)."""


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """One ``m=`` section: what it carries and where to SETUP it."""

    kind: str
    """"video", "audio", "application", ... (from the m= line)"""
    payload_type: int
    """The first RTP payload type of the m= line."""
    encoding: str
    """Upper-case encoding name from a=rtpmap ("H264", "PCMA", ...); "" for a dynamic type without rtpmap."""
    clock_rate: int
    channels: int
    fmtp: dict[str, str]
    """a=fmtp parameters of ``payload_type``: keys lower-cased, values stripped."""
    control: str
    """Absolute URL to SETUP this media with."""


# RFC 3551 static payload types (encoding, clock rate, channels) that cameras send without a=rtpmap
_STATIC_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("PCMU", 8000, 1),
    3: ("GSM", 8000, 1),
    4: ("G723", 8000, 1),
    8: ("PCMA", 8000, 1),
    9: ("G722", 8000, 1),
    10: ("L16", 44100, 2),
    11: ("L16", 44100, 1),
    14: ("MPA", 90000, 1),
    18: ("G729", 8000, 1),
    26: ("JPEG", 90000, 1),
    32: ("MPV", 90000, 1),
    33: ("MP2T", 90000, 1),
}

_ABSOLUTE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _join(base: str, relative: str) -> str:
    # Plain appending, as FFmpeg and cameras do: "rtsp://cam/live?ch=1" + "trackID=1" must give
    # "rtsp://cam/live?ch=1/trackID=1", which urljoin would turn into "rtsp://cam/trackID=1".
    return base.rstrip("/") + "/" + relative.lstrip("/")


@dataclass(slots=True)
class _Section:
    kind: str
    payload_type: int
    rtpmaps: dict[int, str]
    fmtps: dict[int, str]
    control: str | None = None


def _parse_fmtp(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in text.split(";"):
        key, _, value = item.partition("=")  # values may contain "=" (base64 padding)
        key = key.strip().lower()
        if key:
            params[key] = value.strip()
    return params


def parse_sdp(text: str, base_url: str) -> list[MediaDescription]:
    """The RTP media of an SDP, in order; ``base_url`` is Content-Base, Content-Location or the request URL.

    Media whose m= line has no numeric payload type (not RTP) are left out. Raises SdpError when no usable
    m= line is found.
    """
    session_control: str | None = None
    sections: list[_Section] = []
    saw_media_line = False
    current: _Section | None = None
    in_media = False
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:].strip()
        if kind == "m":
            saw_media_line = True
            in_media = True
            fields = value.split()
            current = None
            if len(fields) >= 4 and fields[3].isascii() and fields[3].isdigit():
                current = _Section(fields[0].lower(), int(fields[3]), {}, {})
                sections.append(current)
            continue
        if kind != "a":
            continue
        name, _, attribute = value.partition(":")
        name = name.strip().lower()
        attribute = attribute.strip()
        if not in_media:
            if name == "control":
                session_control = attribute
            continue
        if current is None:
            continue
        if name == "control":
            current.control = attribute
        elif name in ("rtpmap", "fmtp"):
            number, _, rest = attribute.partition(" ")
            if number.isascii() and number.isdigit():
                target = current.rtpmaps if name == "rtpmap" else current.fmtps
                target.setdefault(int(number), rest.strip())
    if not sections:
        if saw_media_line:
            raise SdpError("the camera's SDP has no m= line with an RTP payload type")
        raise SdpError("the camera's SDP has no m= line (it describes no media stream)")

    base = base_url
    if session_control and session_control != "*" and _ABSOLUTE_URL.match(session_control):
        base = session_control
    return [_describe(section, base) for section in sections]


def _describe(section: _Section, base: str) -> MediaDescription:
    pt = section.payload_type
    encoding, clock_rate, channels = _STATIC_TYPES.get(pt, ("", 0, 1))
    rtpmap = section.rtpmaps.get(pt)
    if rtpmap:
        parts = rtpmap.split("/")
        encoding = parts[0].strip().upper()
        clock_rate = _to_int(parts[1]) if len(parts) > 1 else 0
        channels = _to_int(parts[2]) if len(parts) > 2 else 1
        channels = channels or 1
    if not clock_rate and section.kind == "video":
        clock_rate = 90000  # every RTP video payload format uses 90 kHz
    control = section.control
    if not control or control == "*":
        url = base
    elif _ABSOLUTE_URL.match(control):
        url = control
    else:
        url = _join(base, control)
    fmtp = _parse_fmtp(section.fmtps.get(pt, ""))
    return MediaDescription(section.kind, pt, encoding, clock_rate, channels, fmtp, url)


def _to_int(text: str) -> int:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else 0
