"""Clip export: join a camera's recorded segments over a time range into ONE MP4, without re-encoding.

The clip starts at the keyframe at or before ``start`` and ends at the first keyframe at or after ``end``
(so it always covers the range, up to one GOP more at each end). Segments are streamed from object storage
one at a time into a temporary file, remuxed with PyAV (packets are copied, never decoded) into a regular
MP4 with ``+faststart`` written to ``path``.

Timeline: clip time follows the wall clock, ``clip position t`` is ``ClipResult.start + t``. A gap in the
recording is a jump in the timestamps (players hold the last frame across it); the gaps inside the clip are
listed in :attr:`ClipResult.gaps` (the API sends them in the ``X-Clip-Gaps`` header, the CLI in a sidecar
``<file>.json``). Segments whose video format differs from the first one's (the camera was reconfigured)
cannot share one MP4 track: they are left out and reported as ``stream_changed`` gaps. Audio codecs MP4 cannot
carry (G.711) are dropped and reported in :attr:`ClipResult.audio_dropped`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from av.container import InputContainer, OutputContainer
from sqlalchemy import select

from recorder.index import SegmentIndex
from recorder.models import RecordingGap, Segment
from vms.context import CoreServices
from vms.db.models import Camera
from vms.storage import ObjectStore

log = logging.getLogger("recorder.clip")

MAX_CLIP_SECONDS = 6 * 3600
GAP_TOLERANCE_S = 0.5
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "alac", "flac", "ac3", "eac3"})
_MIN_STEP = Fraction(1, 1000)
_DOWNLOAD_CHUNK = 1024 * 1024


class ClipError(Exception):
    """A clip cannot be made; ``status`` is the HTTP status that fits."""

    status = 500


class ClipRangeError(ClipError):
    """The requested range is not acceptable (end before start, too long)."""

    status = 422


class NoFootageError(ClipError):
    """Nothing was recorded in the requested range."""

    status = 404


@dataclass(frozen=True, slots=True)
class ClipGap:
    start: datetime
    end: datetime
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "reason": self.reason}


@dataclass(slots=True)
class ClipResult:
    """What was written: the clip's real start/end (wall clock), size, segments used and gaps inside."""

    camera_id: int
    requested_start: datetime
    requested_end: datetime
    start: datetime
    end: datetime
    size_bytes: int = 0
    segment_ids: list[int] = field(default_factory=list)
    gaps: list[ClipGap] = field(default_factory=list)
    audio_dropped: str | None = None
    integrity_failures: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "camera_id": self.camera_id,
            "requested_start": self.requested_start.isoformat(),
            "requested_end": self.requested_end.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "size_bytes": self.size_bytes,
            "segment_ids": self.segment_ids,
            "gaps": [g.as_json() for g in self.gaps],
            "audio_dropped": self.audio_dropped,
            "integrity_failures": self.integrity_failures,
            "timeline": "wall clock: position t is start + t; gaps are timestamp jumps",
        }


def check_range(start: datetime, end: datetime, max_seconds: float = MAX_CLIP_SECONDS) -> None:
    """Raise ClipRangeError unless ``start < end`` and the range is at most ``max_seconds`` long."""
    if end <= start:
        raise ClipRangeError("end must be after start")
    if (end - start).total_seconds() > max_seconds:
        raise ClipRangeError(
            f"a clip may cover at most {max_seconds / 3600:g} hours; ask for a shorter range"
        )


def plan_clip(index: SegmentIndex, camera_id: int, start: datetime, end: datetime) -> list[Segment]:
    """The main-stream segments a clip of ``[start, end)`` needs; NoFootageError when there are none."""
    check_range(start, end)
    segments = index.segments(camera_id, start, end)
    if not segments:
        raise NoFootageError(
            f"no footage was recorded for this camera between {start.isoformat()} and {end.isoformat()}"
        )
    return segments


class _Track:
    """One output stream and the timestamp bookkeeping that keeps it monotonic across segments."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.last_dts: Fraction | None = None


class ClipWriter:
    """Remuxes planned segments into one MP4 file."""

    def __init__(self, store: ObjectStore, index: SegmentIndex, temp_dir: Path | None = None) -> None:
        self._store = store
        self._index = index
        self._temp_dir = temp_dir

    def write(self, segments: list[Segment], start: datetime, end: datetime, path: Path) -> ClipResult:
        """Write the clip of ``[start, end)`` made of ``segments`` (from :func:`plan_clip`) to ``path``."""
        first = segments[0]
        fmt = (first.video_codec, first.width, first.height)
        usable = [s for s in segments if (s.video_codec, s.width, s.height) == fmt]
        changed = [s for s in segments if s not in usable]
        result = ClipResult(first.camera_id, start, end, start=first.start_at, end=first.end_at)
        with (
            tempfile.TemporaryDirectory(dir=self._temp_dir, prefix="clip-") as tmp,
            av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out,
        ):
            self._remux(out, usable, start, end, Path(tmp), result)
        result.size_bytes = path.stat().st_size
        result.gaps = self._gaps(result, usable, changed)
        return result

    def _remux(
        self,
        out: OutputContainer,
        segments: list[Segment],
        start: datetime,
        end: datetime,
        tmp: Path,
        result: ClipResult,
    ) -> None:
        tracks: dict[str, _Track] = {}
        origin: datetime | None = None
        clip_end: datetime | None = None
        for number, seg in enumerate(segments):
            media = self._download(seg, tmp, result)
            try:
                cut_in = _keyframe_at_or_before(media, seg, start) if number == 0 else None
                with av.open(str(media)) as inp:
                    if not tracks:
                        self._add_tracks(out, inp, tracks, result)
                    origin, seg_end, stop = self._copy_segment(out, inp, seg, tracks, origin, cut_in, end)
            finally:
                media.unlink(missing_ok=True)
            result.segment_ids.append(seg.id)
            clip_end = seg_end if clip_end is None or (seg_end and seg_end > clip_end) else clip_end
            if stop:
                break
        if origin is None:
            raise NoFootageError("the recorded segments of this range hold no video")
        result.start, result.end = origin, clip_end or origin

    def _add_tracks(
        self, out: OutputContainer, inp: InputContainer, tracks: dict[str, _Track], result: ClipResult
    ) -> None:
        if not inp.streams.video:
            raise NoFootageError("the recorded segment holds no video stream")
        tracks["video"] = _Track(out.add_stream_from_template(inp.streams.video[0]))
        if inp.streams.audio:
            audio = inp.streams.audio[0]
            name = audio.codec_context.name
            if name in MP4_AUDIO_CODECS:
                tracks["audio"] = _Track(out.add_stream_from_template(audio))
            else:
                result.audio_dropped = f"{name} audio cannot be stored in MP4; the clip has no sound"

    def _copy_segment(
        self,
        out: OutputContainer,
        inp: InputContainer,
        seg: Segment,
        tracks: dict[str, _Track],
        origin: datetime | None,
        cut_in: int | None,
        end: datetime,
    ) -> tuple[datetime | None, datetime | None, bool]:
        """Copy one segment's packets; returns (clip origin, wall end reached, whether the clip is done)."""
        video_in = inp.streams.video[0]
        anchor = _anchor_seconds(video_in)
        inputs = {video_in.index: "video"}
        if "audio" in tracks and inp.streams.audio:
            inputs[inp.streams.audio[0].index] = "audio"
        started = origin is not None and cut_in is None
        seg_end: datetime | None = None
        offsets: dict[str, Fraction] = {}
        for packet in inp.demux(*[s for s in inp.streams if s.index in inputs]):
            kind = inputs.get(packet.stream.index)
            if kind is None or packet.dts is None or packet.time_base is None:
                continue
            tb = Fraction(packet.time_base)
            pts = packet.pts if packet.pts is not None else packet.dts
            wall = seg.start_at + timedelta(seconds=float(pts * tb - anchor))
            if kind == "video":
                if not started:
                    if not packet.is_keyframe or (cut_in is not None and pts < cut_in):
                        continue
                    started = True
                    origin = origin or wall
                elif packet.is_keyframe and wall >= end:
                    return origin, seg_end, True
            elif not started or origin is None or wall < origin:
                continue
            assert origin is not None
            track = tracks[kind]
            if kind not in offsets:
                offsets[kind] = (
                    Fraction((seg.start_at - origin) // timedelta(microseconds=1), 1_000_000) - anchor
                )
            out_dts = packet.dts * tb + offsets[kind]
            if track.last_dts is not None and out_dts < track.last_dts + _MIN_STEP:
                shift = track.last_dts + _MIN_STEP - out_dts
                offsets[kind] += shift
                out_dts += shift
            out_pts = pts * tb + offsets[kind]
            packet.dts = round(out_dts / tb)
            packet.pts = round(out_pts / tb)
            track.last_dts = out_dts
            packet.stream = track.stream
            out.mux(packet)
            if kind == "video":
                duration = (packet.duration or 0) * tb
                wall_end = wall + timedelta(seconds=float(duration))
                seg_end = wall_end if seg_end is None or wall_end > seg_end else seg_end
        return origin, seg_end, False

    def _download(self, seg: Segment, tmp: Path, result: ClipResult) -> Path:
        """Stream the segment's object to a temporary file, checking its SHA-256 on the way."""
        suffix = Path(seg.object_key).suffix or ".mp4"
        target = tmp / f"segment-{seg.id}{suffix}"
        digest = hashlib.sha256()
        with self._store.open_read(seg.bucket, seg.object_key) as reader, target.open("wb") as f:
            for chunk in _chunks(reader):
                digest.update(chunk)
                f.write(chunk)
        if digest.hexdigest() != seg.sha256:
            log.warning("segment %s (%s) does not match its recorded SHA-256", seg.id, seg.object_key)
            result.integrity_failures.append(seg.id)
        return target

    def _gaps(self, result: ClipResult, used: list[Segment], changed: list[Segment]) -> list[ClipGap]:
        """Holes between the segments used, inside the clip, with the recorder's reason where known."""
        covered = [s for s in used if s.id in set(result.segment_ids)]
        holes: list[tuple[datetime, datetime]] = []
        edge = result.start
        for seg in covered:
            if (seg.start_at - edge).total_seconds() > GAP_TOLERANCE_S:
                holes.append((edge, seg.start_at))
            edge = max(edge, seg.end_at)
        if (result.end - edge).total_seconds() > GAP_TOLERANCE_S:
            holes.append((edge, result.end))
        recorded = self._index.gaps(result.camera_id, result.start, result.end)
        gaps = [ClipGap(a, b, _reason(a, b, recorded, changed)) for a, b in holes]
        return gaps


def _reason(start: datetime, end: datetime, recorded: list[RecordingGap], changed: list[Segment]) -> str:
    if any(s.start_at < end and s.end_at > start for s in changed):
        return "stream_changed"
    for gap in recorded:
        if gap.start_at < end and (gap.end_at is None or gap.end_at > start):
            return str(gap.reason)
    return "not_recorded"


def _anchor_seconds(video: Any) -> Fraction:
    """The file time that the segment's ``start_at`` stands for: the first video presentation time."""
    if video.start_time is not None and video.time_base is not None:
        return Fraction(video.start_time) * Fraction(video.time_base)
    return Fraction(0)


def _keyframe_at_or_before(media: Path, seg: Segment, start: datetime) -> int | None:
    """The pts of the last video keyframe at or before ``start`` (None: begin at the first keyframe)."""
    chosen: int | None = None
    with av.open(str(media)) as inp:
        if not inp.streams.video:
            return None
        video = inp.streams.video[0]
        anchor = _anchor_seconds(video)
        for packet in inp.demux(video):
            if packet.dts is None or not packet.is_keyframe or packet.time_base is None:
                continue
            pts = packet.pts if packet.pts is not None else packet.dts
            wall = seg.start_at + timedelta(seconds=float(pts * Fraction(packet.time_base) - anchor))
            if wall > start:
                break
            chosen = pts
    return chosen


def _chunks(reader: Any) -> Iterator[bytes]:
    while True:
        chunk: bytes = reader.read(_DOWNLOAD_CHUNK)
        if not chunk:
            return
        yield chunk


def export_clip(
    core: CoreServices,
    camera: str | int,
    start: datetime,
    end: datetime,
    path: Path | str,
    actor: str = "cli",
) -> ClipResult:
    """Write the clip to ``path`` and a sidecar ``<path>.json`` (gaps, segments), audited as an export.

    ``camera`` is a camera code or id. Raises ClipError (NoFootageError, ClipRangeError) and, for an unknown
    camera, LookupError; storage problems come out as :mod:`vms.storage.errors` exceptions.
    """
    if core.store is None:
        raise ClipError("object storage is not configured")
    with core.db.sessions() as s:
        key = Camera.id == camera if isinstance(camera, int) else Camera.code == camera
        found = s.scalar(select(Camera).where(key))
    if found is None:
        raise LookupError(f"camera {camera!r} not found")
    index = SegmentIndex(core.db)
    target = Path(path)
    segments = plan_clip(index, found.id, start, end)
    result = ClipWriter(core.store, index, target.parent).write(segments, start, end, target)
    sidecar = target.with_name(target.name + ".json")
    sidecar.write_text(json.dumps({"camera": found.code, **result.as_json()}, indent=2), encoding="utf-8")
    core.audit.record(
        actor,
        "export",
        object_type="camera",
        object_id=found.code,
        detail={"kind": "clip", **result.as_json()},
    )
    return result
