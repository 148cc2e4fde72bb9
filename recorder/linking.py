"""Batch linking: which recorded segments belong to which inspection batch.

A segment belongs to every batch whose bay its camera covers and whose inspection window (actual times where
known, else planned; an open end counts as still running) widened by ``batch_margin_seconds`` on both sides
overlaps it. Cancelled batches that are not disputed link nothing. Links are made as segments are indexed
(:meth:`BatchLinker.link_segment`) and recomputed when a batch, or its bay's cameras, change
(:meth:`BatchLinker.relink_batch`, :meth:`BatchLinker.relink_bay`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from recorder.index import MAX_SEGMENT_SECONDS
from recorder.models import Segment, SegmentBatchLink
from vms.db import Database
from vms.db.models import BatchStatus, InspectionBatch, bay_cameras

log = logging.getLogger("recorder.linking")

OPEN_END = datetime(9999, 1, 1, tzinfo=UTC)
"""Stands for the end of a window that has not ended yet."""

LinksChanged = Callable[["LinkChange"], None]


@dataclass(frozen=True, slots=True)
class LinkWindow:
    """A batch's window widened by the margin; ``end`` is :data:`OPEN_END` while the batch is open."""

    start: datetime
    end: datetime


@dataclass(slots=True)
class LinkChange:
    """What one re-link did to a batch: segment ids added and removed."""

    batch_id: int
    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)


def _window_start() -> ColumnElement[datetime]:
    return func.coalesce(InspectionBatch.actual_start, InspectionBatch.planned_start)


def _window_end() -> ColumnElement[datetime]:
    return func.coalesce(InspectionBatch.actual_end, InspectionBatch.planned_end)


def _links_anything() -> ColumnElement[bool]:
    return or_(InspectionBatch.status != BatchStatus.CANCELLED, InspectionBatch.disputed.is_(True))


class BatchLinker:
    """Keeps ``segment_batch_links`` in step with batches, bays and newly indexed segments."""

    def __init__(self, db: Database, margin_seconds: float) -> None:
        self._db = db
        self._margin = timedelta(seconds=margin_seconds)
        self.on_change: list[LinksChanged] = []
        """Called after links of a batch changed (legal holds follow disputed batches through this)."""

    # ---- windows -------------------------------------------------------------------------------------

    def window_of(self, batch: InspectionBatch) -> LinkWindow | None:
        """The batch's linking window, or None when it links nothing (no start, or cancelled)."""
        start, end = batch.window
        if start is None or (batch.status == BatchStatus.CANCELLED and not batch.disputed):
            return None
        widened_end = OPEN_END if end is None else max(end, start) + self._margin
        return LinkWindow(start - self._margin, widened_end)

    def _overlapping_batches(self, camera_id: int, start: datetime, end: datetime) -> ColumnElement[bool]:
        """Batches on a bay covering the camera whose widened window overlaps ``[start, end)``."""
        covered = select(bay_cameras.c.bay_id).where(bay_cameras.c.camera_id == camera_id)
        return and_(
            InspectionBatch.bay_id.in_(covered),
            _links_anything(),
            _window_start().is_not(None),
            _window_start() < end + self._margin,
            or_(_window_end().is_(None), _window_end() > start - self._margin),
        )

    # ---- queries -------------------------------------------------------------------------------------

    def is_linked(self, camera_id: int, start: datetime, end: datetime) -> bool:
        """Whether the camera's footage over ``[start, end)`` falls in a batch's window (uploaded or not)."""
        with self._db.sessions() as s:
            found = s.scalar(
                select(InspectionBatch.id).where(self._overlapping_batches(camera_id, start, end)).limit(1)
            )
        return found is not None

    def batches_for(self, camera_id: int, start: datetime, end: datetime) -> list[int]:
        """Ids of the batches footage of the camera over ``[start, end)`` belongs to."""
        with self._db.sessions() as s:
            return list(
                s.scalars(
                    select(InspectionBatch.id)
                    .where(self._overlapping_batches(camera_id, start, end))
                    .order_by(InspectionBatch.id)
                )
            )

    # ---- linking -------------------------------------------------------------------------------------

    def link_segment(self, segment: Segment) -> list[int]:
        """Link a newly indexed segment to its batches; returns their ids."""
        batch_ids = self.batches_for(segment.camera_id, segment.start_at, segment.end_at)
        if not batch_ids:
            return []
        with self._db.session() as s:
            existing = set(
                s.scalars(select(SegmentBatchLink.batch_id).where(SegmentBatchLink.segment_id == segment.id))
            )
            new = [b for b in batch_ids if b not in existing]
            s.add_all(SegmentBatchLink(segment_id=segment.id, batch_id=b) for b in new)
        for batch_id in new:
            self._notify(LinkChange(batch_id, added=[segment.id]))
        return batch_ids

    def relink_batch(self, batch_id: int) -> LinkChange:
        """Recompute a batch's links: add footage now in its window, drop footage no longer in it."""
        with self._db.session() as s:
            batch = s.get(InspectionBatch, batch_id)
            wanted = set() if batch is None else self._wanted_segments(s, batch)
            linked = set(
                s.scalars(select(SegmentBatchLink.segment_id).where(SegmentBatchLink.batch_id == batch_id))
            )
            change = LinkChange(batch_id, added=sorted(wanted - linked), removed=sorted(linked - wanted))
            if change.removed:
                for chunk in _chunks(change.removed, 500):
                    s.execute(
                        delete(SegmentBatchLink).where(
                            SegmentBatchLink.batch_id == batch_id, SegmentBatchLink.segment_id.in_(chunk)
                        )
                    )
            s.add_all(SegmentBatchLink(segment_id=seg_id, batch_id=batch_id) for seg_id in change.added)
        if change.added or change.removed:
            log.info(
                "batch %s: linked %d segments, unlinked %d", batch_id, len(change.added), len(change.removed)
            )
            self._notify(change)
        return change

    def relink_bay(self, bay_id: int) -> list[LinkChange]:
        """Recompute the links of every batch on the bay (its cameras changed)."""
        with self._db.sessions() as s:
            batch_ids = list(s.scalars(select(InspectionBatch.id).where(InspectionBatch.bay_id == bay_id)))
        return [self.relink_batch(b) for b in batch_ids]

    def relink_camera(self, camera_id: int) -> list[LinkChange]:
        """Recompute the links of every batch that has, or could have, footage of the camera."""
        with self._db.sessions() as s:
            bays = select(bay_cameras.c.bay_id).where(bay_cameras.c.camera_id == camera_id)
            linked = (
                select(SegmentBatchLink.batch_id)
                .join(Segment, Segment.id == SegmentBatchLink.segment_id)
                .where(Segment.camera_id == camera_id)
                .distinct()
            )
            batch_ids = set(s.scalars(select(InspectionBatch.id).where(InspectionBatch.bay_id.in_(bays))))
            batch_ids |= set(s.scalars(linked))
        return [self.relink_batch(b) for b in sorted(batch_ids)]

    def _wanted_segments(self, s: Session, batch: InspectionBatch) -> set[int]:
        window = self.window_of(batch)
        if window is None or batch.bay_id is None:
            return set()
        camera_ids = list(
            s.scalars(select(bay_cameras.c.camera_id).where(bay_cameras.c.bay_id == batch.bay_id))
        )
        wanted: set[int] = set()
        for camera_id in camera_ids:
            wanted.update(
                s.scalars(
                    select(Segment.id).where(
                        Segment.camera_id == camera_id,
                        Segment.start_at >= window.start - timedelta(seconds=MAX_SEGMENT_SECONDS),
                        Segment.start_at < window.end,
                        Segment.end_at > window.start,
                    )
                )
            )
        return wanted

    def _notify(self, change: LinkChange) -> None:
        for listener in list(self.on_change):
            try:
                listener(change)
            except Exception:
                log.exception("link listener %r failed for batch %s", listener, change.batch_id)


def _chunks(values: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]
