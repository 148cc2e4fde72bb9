"""Tiny real media files for evidence tests, made with the ffmpeg command line (320x240, 2 s)."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

SOURCE_ARGS = [
    "-f",
    "lavfi",
    "-i",
    "testsrc=size=320x240:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=44100",
]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def make_clip(
    path: Path,
    *,
    seconds: float = 2,
    faststart: bool = False,
    rotate: int | None = None,
    creation_time: str | None = None,
    serial: str | None = None,
) -> Path:
    """An H.264 (MPEG-4 Part 2 for AVI) clip with audio in the container the suffix names."""
    args = [*SOURCE_ARGS, "-t", str(seconds)]
    if path.suffix == ".avi":
        args += ["-c:v", "mpeg4", "-c:a", "mp3"]
    else:
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac"]
    if faststart:
        args += ["-movflags", "+faststart"]
    if serial:
        args += ["-metadata", f"serial_number={serial}"]
        if path.suffix in (".mp4", ".mov"):
            args += ["-movflags", "use_metadata_tags"]
    if creation_time:
        args += ["-metadata", f"creation_time={creation_time}"]
    if rotate is None:
        ffmpeg(*args, str(path))
        return path
    plain = path.with_name("unrotated-" + path.name)
    ffmpeg(*args, str(plain))
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", f"rotate={rotate}", str(path))  # display matrix
    plain.unlink()
    return path


def make_big_clip(path: Path, min_bytes: int) -> Path:
    """A valid MP4 of at least ``min_bytes``: a 2 s lossless 640x360 clip (~1 MB) repeated without
    re-encoding (the recipe of the 2 GB test, smaller)."""
    seed = path.with_name("seed-" + path.name)
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "2", "-c:v", "libx264",
           "-preset", "ultrafast", "-qp", "0", "-g", "25", str(seed))  # fmt: skip
    loops = min_bytes // seed.stat().st_size + 1
    ffmpeg("-stream_loop", str(loops), "-i", str(seed), "-c", "copy", str(path))
    seed.unlink()
    return path


def make_jpeg(path: Path, *, taken: str | None = None, serial: str | None = None) -> Path:
    """A JPEG photo; with ``taken`` ("YYYY:MM:DD HH:MM:SS") and ``serial`` in its EXIF."""
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=1", "-frames:v", "1", str(path))
    if taken or serial:
        data = path.read_bytes()
        path.write_bytes(data[:2] + _exif_segment(taken, serial) + data[2:])
    return path


def truncate(source: Path, target: Path, fraction: float = 0.6) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def _exif_segment(taken: str | None, serial: str | None) -> bytes:
    """APP1 'Exif' with IFD0 -> EXIF IFD holding DateTimeOriginal and BodySerialNumber (little endian)."""
    entries = []
    if taken:
        entries.append((0x9003, (taken + "\x00").encode()))
    if serial:
        entries.append((0xA431, (serial + "\x00").encode()))
    ifd0_offset = 8
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, ifd0_offset + 2 + 12 + 4) + b"\0\0\0\0"
    exif_ifd_offset = ifd0_offset + len(ifd0)
    data_offset = exif_ifd_offset + 2 + 12 * len(entries) + 4
    table, blobs = b"", b""
    for tag, value in entries:
        table += struct.pack("<HHII", tag, 2, len(value), data_offset + len(blobs))
        blobs += value
    tiff = b"II*\x00" + struct.pack("<I", ifd0_offset) + ifd0 + struct.pack("<H", len(entries)) + table
    tiff += b"\0\0\0\0" + blobs
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
