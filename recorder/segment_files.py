"""What a spooled segment is on disk: the media file and its JSON sidecars, and how they are named.

``<base>.mp4`` (or ``.mov`` for G.711 audio) is the media; ``<base>.partial.json`` is written before the
media file is opened (so a crash leaves the segment's start time behind); ``<base>.json`` marks the segment
finished. Sidecars are written atomically (temp file, fsync, rename).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from recorder.models import ClockSource, StreamKind

PARTIAL_SUFFIX = ".partial.json"
FINISHED_SUFFIX = ".json"
MEDIA_SUFFIXES = (".mp4", ".mov")


@dataclass(frozen=True, slots=True)
class SegmentHeader:
    """What is known when a segment opens.

    ``first_pts_s`` is the first video packet's presentation time in the file's (rebased) timeline: the
    wall-clock ``start_at`` corresponds to it, so a salvaged file's end is
    ``start_at + (last presentation end - first_pts_s)``.
    """

    uid: str
    camera_id: int
    camera_code: str
    stream: StreamKind
    start_at: datetime
    clock_source: ClockSource
    container: str
    video_codec: str | None
    width: int | None
    height: int | None
    audio_codec: str | None
    first_pts_s: float = 0.0
    starts_with_keyframe: bool = True

    @property
    def base_name(self) -> str:
        return f"{self.start_at.strftime('%Y%m%dT%H%M%S%fZ')}_{self.uid}"

    @property
    def extension(self) -> str:
        return ".mov" if self.container == "mov" else ".mp4"

    @property
    def media_name(self) -> str:
        return self.base_name + self.extension


@dataclass(frozen=True, slots=True)
class SpooledSegment:
    """A finished segment in the spool, waiting for upload."""

    header: SegmentHeader
    end_at: datetime
    size_bytes: int
    sha256: str
    salvaged: bool
    media_path: Path

    @property
    def uid(self) -> str:
        return self.header.uid

    @property
    def camera_id(self) -> int:
        return self.header.camera_id

    @property
    def start_at(self) -> datetime:
        return self.header.start_at

    @property
    def sidecar_path(self) -> Path:
        return self.media_path.with_name(self.header.base_name + FINISHED_SUFFIX)

    @property
    def duration_s(self) -> float:
        return (self.end_at - self.header.start_at).total_seconds()

    def moved_to(self, media_path: Path) -> SpooledSegment:
        return replace(self, media_path=media_path)


def header_to_json(header: SegmentHeader) -> dict[str, Any]:
    data = asdict(header)
    data["stream"] = str(header.stream)
    data["clock_source"] = str(header.clock_source)
    data["start_at"] = header.start_at.isoformat()
    return data


def header_from_json(data: dict[str, Any]) -> SegmentHeader:
    fields = dict(data)
    fields["stream"] = StreamKind(fields["stream"])
    fields["clock_source"] = ClockSource(fields["clock_source"])
    fields["start_at"] = datetime.fromisoformat(fields["start_at"])
    return SegmentHeader(**fields)


def segment_to_json(segment: SpooledSegment) -> dict[str, Any]:
    return {
        "header": header_to_json(segment.header),
        "end_at": segment.end_at.isoformat(),
        "size_bytes": segment.size_bytes,
        "sha256": segment.sha256,
        "salvaged": segment.salvaged,
        "media_name": segment.media_path.name,
    }


def segment_from_json(data: dict[str, Any], directory: Path) -> SpooledSegment:
    return SpooledSegment(
        header=header_from_json(data["header"]),
        end_at=datetime.fromisoformat(data["end_at"]),
        size_bytes=int(data["size_bytes"]),
        sha256=str(data["sha256"]),
        salvaged=bool(data["salvaged"]),
        media_path=directory / str(data["media_name"]),
    )


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def remove_quietly(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
