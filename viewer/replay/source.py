"""What a replay lane plays: a camera's recorded segments or one body-cam video, read from object storage.

:meth:`LaneSource.deliveries` yields the frames from a wall time ``t`` on, ready to send: when ``t`` falls
inside the recording, first the frames from the keyframe at or before ``t`` up to the frame shown at ``t``
(``catch_up`` for all but that last one, which is the ``anchor``), then every following frame (or only
keyframes) in order across segments. Each file is read with ranged GETs (:class:`RangedObjectFile`);
while one segment plays, the next is fetched by a helper thread.

Also tracks the recorded spans seen so far, so the session can tell "playing" from "gap" and "ended".
"""

from __future__ import annotations

import bisect
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from recorder.models import Segment, StreamKind
from viewer.replay.media import Frame, MediaError, VideoInfo, demux_frames, open_container, video_info
from viewer.replay.objectfile import RangedObjectFile
from vms.db import Database
from vms.storage import ObjectStore, StorageError

log = logging.getLogger("viewer.replay")

SPAN_TOLERANCE_S = 0.5
"""Recorded spans closer than this are one span (segment boundaries are not gaps)."""
PLAN_BATCH = 12
"""Segments asked from the index at a time."""
PREFETCH_WHOLE_BYTES = 64 * 1024 * 1024
"""The next segment is prefetched whole up to this size, else its first part."""
PLAYABLE_CODECS = frozenset({"h264"})

_prefetcher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="replay-prefetch")


@dataclass(frozen=True, slots=True)
class MediaFile:
    """One stored file of a lane and the wall time its first video frame stands for."""

    bucket: str
    key: str
    size: int
    origin: float
    end: float
    codec: str | None
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    frame: Frame
    catch_up: bool = False
    """Only there so the decoder reaches the frame at the seek time: send at once, never shown."""
    anchor: bool = False
    """The frame shown at the seek time: send at once, right after the catch-up frames."""


@dataclass(frozen=True, slots=True)
class Span:
    start: float
    end: float
    playable: bool = True
    """False: recorded in a codec the browser cannot be sent (H.265)."""
    codec: str | None = None


@dataclass(slots=True)
class SpanMap:
    """Recorded spans of a lane, merged, in time order (thread-safe)."""

    _spans: list[Span] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    complete_until: float = float("-inf")
    """Spans are known up to this time (the end of what the index was asked about)."""
    exhausted: bool = False
    """No recording exists after the last span."""

    def add(self, span: Span) -> None:
        with self._lock:
            starts = [s.start for s in self._spans]
            i = bisect.bisect_left(starts, span.start)
            self._spans.insert(i, span)
            merged: list[Span] = []
            for s in self._spans:
                last = merged[-1] if merged else None
                if (
                    last is not None
                    and s.start <= last.end + SPAN_TOLERANCE_S
                    and s.playable == last.playable
                ):
                    merged[-1] = Span(last.start, max(last.end, s.end), last.playable, last.codec)
                else:
                    merged.append(s)
            self._spans = merged

    def at(self, t: float) -> Span | None:
        with self._lock:
            for s in self._spans:
                if s.start - 1e-6 <= t < s.end:
                    return s
        return None

    def next_after(self, t: float) -> Span | None:
        with self._lock:
            return next((s for s in self._spans if s.start > t), None)

    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)


class LaneSource(ABC):
    """The media files of one lane, planned lazily from ``t`` on. Subclasses give :meth:`_files_from`."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.spans = SpanMap()
        self._prefetched: dict[str, tuple[RangedObjectFile, Future[None]]] = {}

    @abstractmethod
    def _files_from(self, t: float) -> Iterator[MediaFile]:
        """The lane's media files that cover ``t`` and what follows it, in order."""

    def probe(self, t: float) -> VideoInfo | None:
        """The codec of the first file at or after ``t`` (None: nothing recorded from ``t`` on)."""
        for media in self._files_from(t):
            with self._open(media) as fileobj, open_container(fileobj) as container:
                return video_info(container)
        return None

    def deliveries(
        self, t: float, *, keyframes_only: bool = False, stop: Callable[[], bool] = lambda: False
    ) -> Iterator[Delivery]:
        """Frames to send from wall time ``t`` on (see the module docstring). Raises MediaError/StorageError
        for a file that cannot be read; files of codecs that cannot be sent are skipped."""
        chain: list[Frame] = []
        started = False
        last_send = float("-inf")
        files = self._files_from(t)
        current = next(files, None)
        while current is not None and not stop():
            following = next(files, None)
            if following is not None:
                self._prefetch(following)
            if current.codec not in PLAYABLE_CODECS:
                current = following
                continue
            with self._open(current) as fileobj, open_container(fileobj) as container:
                for frame in demux_frames(container, current.origin, enter_at=None if started else t):
                    if stop():
                        return
                    if frame.send_at < last_send:
                        continue  # overlaps the previous segment
                    if keyframes_only and not frame.keyframe:
                        continue
                    if not started:
                        if frame.send_at <= t:
                            chain = [frame] if frame.keyframe else ([*chain, frame] if chain else [])
                            continue
                        started = True
                        yield from _catch_up(chain)
                        chain = []
                    last_send = frame.send_at
                    yield Delivery(frame)
            if not started and chain:
                last = chain[-1]
                if t < last.send_at + last.duration + SPAN_TOLERANCE_S:
                    started = True
                    last_send = last.send_at
                    yield from _catch_up(chain)
                chain = []
            current = following

    def close(self) -> None:
        for fileobj, future in self._prefetched.values():
            future.cancel()
            fileobj.close()
        self._prefetched.clear()

    # ---- files -----------------------------------------------------------------------------------------

    def _open(self, media: MediaFile) -> RangedObjectFile:
        found = self._prefetched.pop(media.key, None)
        if found is not None:
            return found[0]
        return RangedObjectFile(self.store, media.bucket, media.key, media.size, version_id=media.version_id)

    def _prefetch(self, media: MediaFile) -> None:
        if media.key in self._prefetched or media.codec not in PLAYABLE_CODECS:
            return
        for key in [k for k, (f, _) in self._prefetched.items() if f.closed]:
            del self._prefetched[key]
        fileobj = RangedObjectFile(
            self.store, media.bucket, media.key, media.size, version_id=media.version_id
        )
        length = None if media.size <= PREFETCH_WHOLE_BYTES else 8 * 1024 * 1024
        future = _prefetcher.submit(_quietly, fileobj, length)
        self._prefetched[media.key] = (fileobj, future)


def _catch_up(chain: list[Frame]) -> Iterator[Delivery]:
    for i, frame in enumerate(chain):
        last = i == len(chain) - 1
        yield Delivery(frame, catch_up=not last, anchor=last)


def _quietly(fileobj: RangedObjectFile, length: int | None) -> None:
    try:
        fileobj.prefetch(0, length)
    except (StorageError, ValueError, OSError) as exc:
        log.debug("prefetch of %s failed (it is read again when needed): %s", fileobj.key, exc)


def epoch(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


class CameraSource(LaneSource):
    """A camera's main-stream segments, asked from the index a few at a time."""

    def __init__(self, store: ObjectStore, db: Database, camera_id: int) -> None:
        super().__init__(store)
        self._db = db
        self.camera_id = camera_id

    def _files_from(self, t: float) -> Iterator[MediaFile]:
        after = from_epoch(t)
        seen_start: datetime | None = None
        while True:
            batch = self._segments_ending_after(after, seen_start)
            if not batch:
                self.spans.exhausted = True
                return
            for seg in batch:
                media = MediaFile(
                    seg.bucket,
                    seg.object_key,
                    seg.size_bytes,
                    epoch(seg.start_at),
                    epoch(seg.end_at),
                    seg.video_codec,
                )
                self._note(media)
                yield media
            seen_start = batch[-1].start_at
            after = max(after, batch[-1].end_at)

    def spans_around(self, t: float) -> None:
        """Learn the spans near ``t`` (for lane states before playback reaches them)."""
        for seg in self._segments_ending_after(from_epoch(t), None):
            self._note(
                MediaFile(
                    seg.bucket,
                    seg.object_key,
                    seg.size_bytes,
                    epoch(seg.start_at),
                    epoch(seg.end_at),
                    seg.video_codec,
                )
            )
        if not self.spans.next_after(t) and not self.spans.at(t):
            self.spans.exhausted = True

    def _note(self, media: MediaFile) -> None:
        self.spans.add(Span(media.origin, media.end, media.codec in PLAYABLE_CODECS, media.codec))
        self.spans.complete_until = max(self.spans.complete_until, media.end)

    def _segments_ending_after(self, after: datetime, started_after: datetime | None) -> list[Segment]:
        query = (
            select(Segment)
            .where(
                Segment.camera_id == self.camera_id,
                Segment.stream == StreamKind.MAIN,
                Segment.end_at > after,
            )
            .order_by(Segment.start_at, Segment.seq)
            .limit(PLAN_BATCH)
        )
        if started_after is not None:
            query = query.where(Segment.start_at > started_after)
        with self._db.sessions() as s:
            rows = list(s.scalars(query))
            for row in rows:
                s.expunge(row)
        return rows


class ItemSource(LaneSource):
    """One body-cam video, placed on the yard clock at its ``recorded_start``."""

    def __init__(self, store: ObjectStore, media: MediaFile) -> None:
        super().__init__(store)
        self.media = media
        self.spans.add(Span(media.origin, media.end, media.codec in PLAYABLE_CODECS, media.codec))
        self.spans.complete_until = float("inf")
        self.spans.exhausted = True

    def _files_from(self, t: float) -> Iterator[MediaFile]:
        if self.media.end > t:
            yield self.media


__all__ = ["CameraSource", "Delivery", "Frame", "ItemSource", "LaneSource", "MediaError", "MediaFile", "Span"]
