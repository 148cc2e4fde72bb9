"""SegmentIndex: the database record of what was recorded, where it is stored, and where recording is missing.

Each camera's segments form a hash chain in ``seq`` order: ``chain_hash = sha256(prev_chain_hash +
canonical record)``. Inserts are serialized per camera (a lock in this process, the camera row locked
``FOR UPDATE`` on PostgreSQL, and the unique ``(camera_id, seq)`` as the last line of defence).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from recorder.models import ClockSource, GapReason, RecordingGap, Segment, StreamKind
from vms.db import Database
from vms.db.models import Camera

GENESIS_HASH = "0" * 64
MAX_SEGMENT_SECONDS = 900.0
"""No segment is longer (the writer cuts at this length even without a keyframe); range queries rely on it."""

_INSERT_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class NewSegment:
    """A segment uploaded to object storage, ready to be indexed."""

    camera_id: int
    stream: StreamKind
    start_at: datetime
    end_at: datetime
    clock_source: ClockSource
    bucket: str
    object_key: str
    size_bytes: int
    sha256: str
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    audio_codec: str | None = None
    starts_with_keyframe: bool = True
    salvaged: bool = False


@dataclass(frozen=True, slots=True)
class TimeRange:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class ChainVerification:
    """Result of checking a camera's hash chain; ``first_broken_id`` is the first segment that fails."""

    camera_id: int
    checked: int
    first_broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def canonical_record(segment: Segment) -> str:
    """The fields a segment's chain hash covers, as stable JSON (mutable flags like legal_hold excluded)."""
    record = {
        "camera_id": segment.camera_id,
        "stream": str(segment.stream),
        "seq": segment.seq,
        "start_at": _iso(segment.start_at),
        "end_at": _iso(segment.end_at),
        "clock_source": str(segment.clock_source),
        "bucket": segment.bucket,
        "object_key": segment.object_key,
        "size_bytes": segment.size_bytes,
        "sha256": segment.sha256,
        "salvaged": bool(segment.salvaged),
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def chain_hash(prev_chain_hash: str, segment: Segment) -> str:
    return hashlib.sha256((prev_chain_hash + canonical_record(segment)).encode()).hexdigest()


class SegmentIndex:
    """Insert and query segments and gaps; verify hash chains. Thread-safe."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._camera_locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # ---- segments ------------------------------------------------------------------------------------

    def insert_segment(self, new: NewSegment) -> Segment:
        """Append a segment to its camera's chain. Idempotent: the same object again returns the first row."""
        with self._camera_lock(new.camera_id):
            for attempt in range(_INSERT_ATTEMPTS):
                try:
                    return self._insert_once(new)
                except IntegrityError:
                    # Another process took the same seq (SQLite has no row locks): read the head again,
                    # after a random pause so that two writers do not keep colliding in step.
                    if attempt == _INSERT_ATTEMPTS - 1:
                        raise
                    time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")

    def _insert_once(self, new: NewSegment) -> Segment:
        with self._db.session() as s:
            s.execute(select(Camera.id).where(Camera.id == new.camera_id).with_for_update())
            existing = s.scalar(
                select(Segment).where(
                    Segment.camera_id == new.camera_id,
                    Segment.start_at == new.start_at,
                    Segment.object_key == new.object_key,
                )
            )
            if existing is not None:
                return existing
            head = s.execute(
                select(Segment.seq, Segment.chain_hash)
                .where(Segment.camera_id == new.camera_id)
                .order_by(Segment.seq.desc())
                .limit(1)
            ).first()
            seq, prev = (head[0] + 1, head[1]) if head is not None else (1, GENESIS_HASH)
            segment = Segment(
                camera_id=new.camera_id,
                stream=new.stream,
                seq=seq,
                start_at=_utc(new.start_at),
                end_at=_utc(new.end_at),
                duration_s=(new.end_at - new.start_at).total_seconds(),
                clock_source=new.clock_source,
                bucket=new.bucket,
                object_key=new.object_key,
                size_bytes=new.size_bytes,
                sha256=new.sha256,
                prev_chain_hash=prev,
                video_codec=new.video_codec,
                width=new.width,
                height=new.height,
                audio_codec=new.audio_codec,
                starts_with_keyframe=new.starts_with_keyframe,
                salvaged=new.salvaged,
                legal_hold=False,
            )
            segment.chain_hash = chain_hash(prev, segment)
            s.add(segment)
            s.flush()
            return segment

    def segments(
        self, camera_id: int, start: datetime, end: datetime, stream: StreamKind | None = StreamKind.MAIN
    ) -> list[Segment]:
        """Segments overlapping ``[start, end)``, ordered by start (``stream=None``: both streams)."""
        query = (
            select(Segment)
            .where(
                Segment.camera_id == camera_id,
                Segment.start_at >= start - timedelta(seconds=MAX_SEGMENT_SECONDS),
                Segment.start_at < end,
                Segment.end_at > start,
            )
            .order_by(Segment.start_at, Segment.seq)
        )
        if stream is not None:
            query = query.where(Segment.stream == stream)
        with self._db.session() as s:
            return list(s.scalars(query))

    def segment_count(self, camera_id: int) -> int:
        with self._db.session() as s:
            return int(s.scalar(select(func.count()).where(Segment.camera_id == camera_id)) or 0)

    def coverage(
        self,
        camera_id: int,
        start: datetime,
        end: datetime,
        stream: StreamKind = StreamKind.MAIN,
        tolerance_s: float = 0.5,
    ) -> list[TimeRange]:
        """The recorded spans within ``[start, end)``: segments merged where they touch (within tolerance)."""
        merged: list[TimeRange] = []
        slack = timedelta(seconds=tolerance_s)
        for seg in self.segments(camera_id, start, end, stream):
            s0, e0 = max(seg.start_at, start), min(seg.end_at, end)
            if merged and s0 <= merged[-1].end + slack:
                if e0 > merged[-1].end:
                    merged[-1] = TimeRange(merged[-1].start, e0)
            else:
                merged.append(TimeRange(s0, e0))
        return merged

    def verify_chain(self, camera_id: int, batch_size: int = 5000) -> ChainVerification:
        """Recompute the camera's chain and return the first segment that fails.

        Retention leaves seq holes: every row still proves itself (its hash over its own fields and
        ``prev_chain_hash``), and where seqs are consecutive the link to the previous row is checked too.
        """
        checked = 0
        prev: Segment | None = None
        for seg in self._iter_chain(camera_id, batch_size):
            checked += 1
            if chain_hash(seg.prev_chain_hash, seg) != seg.chain_hash:
                return ChainVerification(camera_id, checked, seg.id, f"segment seq {seg.seq}: record altered")
            if prev is not None and seg.seq == prev.seq + 1 and seg.prev_chain_hash != prev.chain_hash:
                problem = f"segment seq {seg.seq}: chain link broken"
                return ChainVerification(camera_id, checked, seg.id, problem)
            if prev is None and seg.seq == 1 and seg.prev_chain_hash != GENESIS_HASH:
                return ChainVerification(camera_id, checked, seg.id, "first segment does not start the chain")
            prev = seg
        return ChainVerification(camera_id, checked)

    def _iter_chain(self, camera_id: int, batch_size: int) -> Iterator[Segment]:
        after = 0
        while True:
            with self._db.session() as s:
                rows = list(
                    s.scalars(
                        select(Segment)
                        .where(Segment.camera_id == camera_id, Segment.seq > after)
                        .order_by(Segment.seq)
                        .limit(batch_size)
                    )
                )
            if not rows:
                return
            yield from rows
            after = rows[-1].seq

    # ---- gaps ----------------------------------------------------------------------------------------

    def open_gap(
        self, camera_id: int, stream: StreamKind, start: datetime, reason: GapReason, detail: str = ""
    ) -> int:
        """Start a gap whose end is not known yet; returns its id."""
        return self.record_gap(camera_id, stream, start, None, reason, detail)

    def record_gap(
        self,
        camera_id: int,
        stream: StreamKind,
        start: datetime,
        end: datetime | None,
        reason: GapReason,
        detail: str = "",
    ) -> int:
        with self._db.session() as s:
            gap = RecordingGap(
                camera_id=camera_id,
                stream=stream,
                start_at=_utc(start),
                end_at=None if end is None else _utc(end),
                reason=reason,
                detail=detail[:500],
            )
            s.add(gap)
            s.flush()
            return gap.id

    def close_open_gaps(self, camera_id: int, stream: StreamKind, end: datetime) -> int:
        """Close every open gap of the camera stream at ``end`` (recording resumed); returns how many.

        A gap that opened after ``end`` (clocks disagree) is closed where it starts, never inverted.
        """
        end = _utc(end)
        open_gap = (
            RecordingGap.camera_id == camera_id,
            RecordingGap.stream == stream,
            RecordingGap.end_at.is_(None),
        )
        closed = 0
        with self._db.session() as s:
            for condition, value in (
                (RecordingGap.start_at <= end, end),
                (RecordingGap.start_at > end, RecordingGap.start_at),
            ):
                result = s.execute(
                    update(RecordingGap)
                    .where(*open_gap, condition)
                    .values(end_at=value)
                    .execution_options(synchronize_session=False)
                )
                closed += int(getattr(result, "rowcount", 0) or 0)
        return closed

    def gaps(
        self, camera_id: int, start: datetime, end: datetime, stream: StreamKind | None = StreamKind.MAIN
    ) -> list[RecordingGap]:
        """Gaps overlapping ``[start, end)`` (open gaps included), ordered by start."""
        query = (
            select(RecordingGap)
            .where(
                RecordingGap.camera_id == camera_id,
                RecordingGap.start_at < end,
                (RecordingGap.end_at.is_(None)) | (RecordingGap.end_at > start),
            )
            .order_by(RecordingGap.start_at, RecordingGap.id)
        )
        if stream is not None:
            query = query.where(RecordingGap.stream == stream)
        with self._db.session() as s:
            return list(s.scalars(query))

    def _camera_lock(self, camera_id: int) -> threading.Lock:
        with self._locks_guard:
            return self._camera_locks.setdefault(camera_id, threading.Lock())


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
