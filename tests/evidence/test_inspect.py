"""Inspection of real files: containers, times, serials, rotation, photos, and clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from evidence.errors import Refused
from evidence.filenames import time_from_filename
from evidence.inspect import inspect_file
from evidence.models import EvidenceKind, TimeSource
from tests.evidence.media import ffmpeg, make_clip

YARD = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    "name, content_type",
    [
        ("mp4", "video/mp4"),
        ("faststart", "video/mp4"),
        ("mov", "video/quicktime"),
        ("mkv", "video/x-matroska"),
        ("avi", "video/x-msvideo"),
    ],
)
def test_every_container_is_inspected(media: dict[str, Path], name: str, content_type: str) -> None:
    info = inspect_file(media[name], media[name].name, YARD)
    assert info.kind is EvidenceKind.VIDEO
    assert info.content_type == content_type
    assert (info.width, info.height, info.fps) == (320, 240, 25.0)
    assert info.duration_s is not None and 1.9 < info.duration_s < 2.2
    assert info.audio_codec is not None


def test_container_time_and_serial_win(media: dict[str, Path]) -> None:
    info = inspect_file(media["mp4"], media["mp4"].name, YARD)
    assert info.started_at == datetime(2026, 11, 26, 6, 30, 15, tzinfo=UTC)
    assert info.time_source is TimeSource.CONTAINER
    assert info.device_serial == "BC-0042"
    assert inspect_file(media["mkv"], "clip.mkv", YARD).device_serial == "BC-0077"


def test_file_name_time_is_yard_local(media: dict[str, Path]) -> None:
    info = inspect_file(media["avi"], media["avi"].name, YARD)
    assert info.time_source is TimeSource.FILENAME
    assert info.started_at == datetime(2026, 11, 26, 14, 30, 15, tzinfo=YARD)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("20261126_143015.mp4", datetime(2026, 11, 26, 14, 30, 15)),
        ("VID_20261126_143015.MP4", datetime(2026, 11, 26, 14, 30, 15)),
        ("FILE261126-143015.MOV", datetime(2026, 11, 26, 14, 30, 15)),
        ("2026-11-26_14-30-15.mkv", datetime(2026, 11, 26, 14, 30, 15)),
        ("IMG20261126143015.jpg", datetime(2026, 11, 26, 14, 30, 15)),
        ("clip.mp4", None),
        ("VID_20261399_999999.mp4", None),
    ],
)
def test_body_cam_file_names(name: str, expected: datetime | None) -> None:
    got = time_from_filename(name, YARD)
    assert got == (expected.replace(tzinfo=YARD) if expected else None)


def test_rotation_is_read(media: dict[str, Path]) -> None:
    assert inspect_file(media["rotated"], "rotated.mp4", YARD).rotation in (90, 270)
    assert inspect_file(media["faststart"], "fast.mp4", YARD).rotation == 0


def test_photo_exif(media: dict[str, Path]) -> None:
    info = inspect_file(media["photo"], "IMG_0001.jpg", YARD)
    assert (info.kind, info.content_type, info.width, info.height) == (
        EvidenceKind.PHOTO,
        "image/jpeg",
        320,
        240,
    )
    assert info.time_source is TimeSource.EXIF
    assert info.started_at == datetime(2026, 11, 26, 14, 31, tzinfo=YARD)
    assert info.device_serial == "CAM-9"
    plain = inspect_file(media["plain_photo"], "20261126_143200.jpg", YARD)
    assert plain.time_source is TimeSource.FILENAME


@pytest.mark.parametrize(
    "name, reason",
    [
        ("text", "not a video or photo"),
        ("empty", "the file is empty"),
        ("truncated", "truncated"),
        ("cut_moov", "index is missing"),
    ],
)
def test_refusals_say_why(media: dict[str, Path], name: str, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        inspect_file(media[name], media[name].name, YARD)


def test_an_mp4_missing_only_its_last_bytes_is_refused(media: dict[str, Path], tmp_path: Path) -> None:
    """The index of an MP4 says where every frame lies: a file short of even 1 KB is found out."""
    cut = tmp_path / "short.mp4"
    cut.write_bytes(media["faststart"].read_bytes()[:-1024])
    with pytest.raises(
        Refused, match=r"truncated: the file has \d+ bytes but the frames of stream \d reach byte"
    ):
        inspect_file(cut, "short.mp4", YARD)


def test_a_fragmented_mp4_is_read_to_its_end(tmp_path: Path) -> None:
    """A fragmented MP4 (as some body cams write, to survive a power cut) has no complete index at its
    start: it is checked by reading its fragments."""
    clip = make_clip(tmp_path / "source.mp4", seconds=4)
    fragmented = tmp_path / "VID_20261127_101500.mp4"
    ffmpeg("-i", str(clip), "-c", "copy", "-movflags", "frag_keyframe+empty_moov", str(fragmented))
    info = inspect_file(fragmented, fragmented.name, YARD)
    assert info.kind is EvidenceKind.VIDEO and info.content_type == "video/mp4"
    assert (info.width, info.height) == (320, 240)
    assert info.duration_s is not None and 3.9 < info.duration_s < 4.2


def test_truncated_photo_is_refused(media: dict[str, Path], tmp_path: Path) -> None:
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(media["photo"].read_bytes()[:-200])
    with pytest.raises(Refused, match="truncated"):
        inspect_file(cut, "cut.jpg", YARD)
