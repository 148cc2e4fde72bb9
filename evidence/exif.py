"""Just enough JPEG parsing for evidence: picture size, and from EXIF the time taken, orientation and
the camera's serial number. Reads only the headers, never the picture data."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

JPEG_MAGIC = b"\xff\xd8\xff"
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_TAG_MODEL, _TAG_ORIENTATION, _TAG_EXIF_IFD = 0x0110, 0x0112, 0x8769
_TAG_TAKEN, _TAG_TAKEN_OFFSET, _TAG_SERIAL = 0x9003, 0x9011, 0xA431
# EXIF orientation -> degrees the picture must be turned clockwise to show upright.
_ORIENTATION_DEGREES = {1: 0, 3: 180, 6: 90, 8: 270}


class NotAJpeg(ValueError):
    """The file is not a readable JPEG; the message says why."""


@dataclass(frozen=True)
class JpegInfo:
    width: int
    height: int
    taken_at: datetime | None  # naive (camera local time) unless EXIF gave an offset
    orientation: int  # degrees clockwise
    serial: str | None
    model: str | None


def read_jpeg_info(path: Path) -> JpegInfo:
    """Size and EXIF facts of the JPEG at ``path``; NotAJpeg if it is not one or is cut short."""
    with path.open("rb") as f:
        if f.read(3) != JPEG_MAGIC:
            raise NotAJpeg("not a JPEG file")
        f.seek(-2, 2)
        if f.read(2) != b"\xff\xd9":
            raise NotAJpeg("the JPEG is truncated (no end-of-image marker)")
        f.seek(2)
        return _walk_segments(f)


def _walk_segments(f: BinaryIO) -> JpegInfo:
    exif: dict[int, object] = {}
    while True:
        head = f.read(4)
        if len(head) < 4 or head[0] != 0xFF:
            raise NotAJpeg("the JPEG headers are damaged")
        marker, length = head[1], struct.unpack(">H", head[2:])[0]
        body = f.read(length - 2)
        if len(body) < length - 2:
            raise NotAJpeg("the JPEG is truncated inside its headers")
        if marker == 0xE1 and body.startswith(b"Exif\x00\x00") and not exif:
            exif = _parse_tiff(body[6:])
        elif marker in _SOF_MARKERS:
            height, width = struct.unpack(">HH", body[1:5])
            return _info(width, height, exif)
        elif marker == 0xDA:
            raise NotAJpeg("the JPEG has no frame header")


def _info(width: int, height: int, exif: dict[int, object]) -> JpegInfo:
    if width == 0 or height == 0:
        raise NotAJpeg("the JPEG has no picture size")
    orientation = exif.get(_TAG_ORIENTATION)
    return JpegInfo(
        width=width,
        height=height,
        taken_at=_taken_at(exif.get(_TAG_TAKEN), exif.get(_TAG_TAKEN_OFFSET)),
        orientation=_ORIENTATION_DEGREES.get(orientation if isinstance(orientation, int) else 1, 0),
        serial=_text(exif.get(_TAG_SERIAL)),
        model=_text(exif.get(_TAG_MODEL)),
    )


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _taken_at(value: object, offset: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        taken = datetime.strptime(value.strip(), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if isinstance(offset, str) and len(offset.strip()) == 6:
        sign = -1 if offset.strip()[0] == "-" else 1
        try:
            hours, minutes = int(offset.strip()[1:3]), int(offset.strip()[4:6])
        except ValueError:
            return taken
        return taken.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    return taken


def _parse_tiff(data: bytes) -> dict[int, object]:
    """Tags of IFD0 and the EXIF IFD (ASCII and SHORT/LONG values only)."""
    if len(data) < 8 or data[:2] not in (b"II", b"MM"):
        return {}
    endian = "<" if data[:2] == b"II" else ">"
    try:
        (ifd0,) = struct.unpack(endian + "I", data[4:8])
        tags = _read_ifd(data, ifd0, endian)
        exif_ifd = tags.get(_TAG_EXIF_IFD)
        if isinstance(exif_ifd, int):
            tags.update(_read_ifd(data, exif_ifd, endian))
    except (struct.error, IndexError):
        return {}
    return tags


def _read_ifd(data: bytes, offset: int, endian: str) -> dict[int, object]:
    (count,) = struct.unpack(endian + "H", data[offset : offset + 2])
    tags: dict[int, object] = {}
    for i in range(min(count, 512)):
        entry = data[offset + 2 + 12 * i : offset + 14 + 12 * i]
        tag, kind, n = struct.unpack(endian + "HHI", entry[:8])
        if kind == 2:  # ASCII, inline when 4 bytes or fewer
            start = struct.unpack(endian + "I", entry[8:])[0] if n > 4 else offset + 10 + 12 * i
            tags[tag] = data[start : start + n].split(b"\x00", 1)[0].decode("ascii", "replace")
        elif kind == 3:
            tags[tag] = struct.unpack(endian + "H", entry[8:10])[0]
        elif kind == 4:
            tags[tag] = struct.unpack(endian + "I", entry[8:])[0]
    return tags
