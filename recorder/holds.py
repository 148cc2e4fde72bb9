"""Legal holds: footage of a disputed batch is held in object storage and flagged in the index.

A held segment is never deleted (object storage refuses, and retention skips ``legal_hold`` rows and rows
linked to a disputed batch). Ending a dispute releases the holds that no other disputed batch still needs.
The recordings bucket must have been created with object lock for the storage side of a hold to work.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import aliased

from recorder.linking import BatchLinker, LinkChange
from recorder.models import Segment, SegmentBatchLink
from vms.audit import AuditLog
from vms.db import Database
from vms.db.models import InspectionBatch
from vms.storage import ObjectStore, StorageError
from vms.yard.hooks import BATCH_CHANGED, BATCH_DISPUTE, CAMERA_CHANGED, hook_list

log = logging.getLogger("recorder.holds")

HOLDS_ACTOR = "system:holds"
BAY_CAMERAS_CHANGED = "bay_cameras_changed_hooks"
"""Hook name for ``callable(bay_id)`` after a bay's cameras change (the yard does not call it yet)."""


@dataclass(slots=True)
class HoldResult:
    """Segments a hold/release changed, and those the storage refused (left as they were)."""

    changed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


class LegalHolds:
    """Puts and lifts legal holds on the segments of disputed batches."""

    def __init__(self, db: Database, store: ObjectStore | None, audit: AuditLog) -> None:
        self._db = db
        self._store = store
        self._audit = audit

    def on_dispute(self, batch_id: int, disputed: bool) -> None:
        """Hook for ``batch_dispute_hooks``: hold on dispute, release when the dispute ends."""
        if disputed:
            self.hold_batch(batch_id)
        else:
            self.release_batch(batch_id)

    def on_links_changed(self, change: LinkChange) -> None:
        """Listener for :class:`~recorder.linking.BatchLinker`: holds follow a disputed batch's links."""
        with self._db.sessions() as s:
            disputed = bool(
                s.scalar(select(InspectionBatch.disputed).where(InspectionBatch.id == change.batch_id))
            )
        if disputed and change.added:
            self._apply(change.added, True, change.batch_id)
        if change.removed:
            self.release_unneeded(change.removed, change.batch_id)

    def hold_batch(self, batch_id: int) -> HoldResult:
        """Hold every segment linked to the batch that is not held yet."""
        with self._db.sessions() as s:
            ids = list(
                s.scalars(
                    select(Segment.id)
                    .join(SegmentBatchLink, SegmentBatchLink.segment_id == Segment.id)
                    .where(SegmentBatchLink.batch_id == batch_id, Segment.legal_hold.is_(False))
                    .order_by(Segment.id)
                )
            )
        return self._apply(ids, True, batch_id)

    def release_batch(self, batch_id: int) -> HoldResult:
        """Release the batch's held segments that no other disputed batch needs."""
        with self._db.sessions() as s:
            ids = list(
                s.scalars(select(SegmentBatchLink.segment_id).where(SegmentBatchLink.batch_id == batch_id))
            )
        return self.release_unneeded(ids, batch_id)

    def release_unneeded(self, segment_ids: Iterable[int], batch_id: int | None = None) -> HoldResult:
        """Release the held ones among ``segment_ids`` not linked to any disputed batch."""
        other_link = aliased(SegmentBatchLink)
        needed = exists(
            select(other_link.segment_id)
            .join(InspectionBatch, InspectionBatch.id == other_link.batch_id)
            .where(other_link.segment_id == Segment.id, InspectionBatch.disputed.is_(True))
        )
        ids = sorted(set(segment_ids))
        releasable: list[int] = []
        with self._db.sessions() as s:
            for i in range(0, len(ids), 500):
                releasable += s.scalars(
                    select(Segment.id).where(
                        Segment.id.in_(ids[i : i + 500]), Segment.legal_hold.is_(True), ~needed
                    )
                )
        return self._apply(sorted(releasable), False, batch_id)

    def _apply(self, segment_ids: list[int], on: bool, batch_id: int | None) -> HoldResult:
        result = HoldResult()
        if not segment_ids:
            return result
        with self._db.sessions() as s:
            rows = s.execute(
                select(Segment.id, Segment.bucket, Segment.object_key).where(Segment.id.in_(segment_ids))
            ).all()
        for seg_id, bucket, key in rows:
            try:
                if self._store is None:
                    raise StorageError("no object storage is configured")
                self._store.set_legal_hold(bucket, key, on)
            except StorageError as exc:
                # A failed release keeps the row held (safe); a segment whose hold failed is still kept by
                # retention because it is linked to a disputed batch, and the next hold_batch retries it.
                log.warning("legal hold %s failed for segment %s: %s", "on" if on else "off", seg_id, exc)
                result.failed.append(seg_id)
                continue
            result.changed.append(seg_id)
        if result.changed:
            with self._db.session() as s:
                for i in range(0, len(result.changed), 500):
                    s.execute(
                        update(Segment)
                        .where(Segment.id.in_(result.changed[i : i + 500]))
                        .values(legal_hold=on)
                        .execution_options(synchronize_session=False)
                    )
        self._audit.record(
            HOLDS_ACTOR,
            "legal_hold" if on else "legal_hold_release",
            object_type="batch" if batch_id is not None else "segments",
            object_id="" if batch_id is None else batch_id,
            detail={"segments": len(result.changed), "storage_failures": len(result.failed)},
        )
        return result


def install_hooks(providers: dict[str, Any], linker: BatchLinker, holds: LegalHolds) -> None:
    """Register linking and holds with the yard's hooks (``core.providers``) and with the linker."""
    linker.on_change.append(holds.on_links_changed)
    hook_list(providers, BATCH_CHANGED).append(lambda batch_id: _ignore(linker.relink_batch(batch_id)))
    hook_list(providers, BATCH_DISPUTE).append(holds.on_dispute)
    hook_list(providers, CAMERA_CHANGED).append(lambda camera_id: _ignore(linker.relink_camera(camera_id)))
    hook_list(providers, BAY_CAMERAS_CHANGED).append(lambda bay_id: _ignore(linker.relink_bay(bay_id)))


def _ignore(_: object) -> None:
    return None
