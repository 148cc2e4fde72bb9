"""Retention: delete recorded footage that no rule keeps any more.

* Footage not linked to a batch is kept ``camera.retention_days`` (else ``unlinked_retention_days``) after
  it ends.
* Footage linked to batches is also kept for each batch's ``retention_days`` (else
  ``batch_retention_days``) after it ends: the longest rule wins.
* Footage under legal hold, or linked to a disputed batch, is never deleted.

Deletion runs in rounds of ``round_size`` segments: the object (every stored version) first, then the index
row. An object the storage refuses to delete (object lock) is skipped and its row kept. Each round that
deleted or skipped anything writes ONE audit event (actor ``system:retention``). Deleting rows leaves holes in
a camera's ``seq`` numbers; every remaining row still carries ``prev_chain_hash``, so
:meth:`recorder.index.SegmentIndex.verify_chain` checks the rest.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, false, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from recorder.models import Segment, SegmentBatchLink
from vms.audit import AuditLog
from vms.config import RecordingConfig
from vms.db import Database, utcnow
from vms.db.models import Camera, InspectionBatch
from vms.storage import ObjectNotFound, ObjectStore, StorageError, StorageUnavailable

log = logging.getLogger("recorder.retention")

RETENTION_ACTOR = "system:retention"
DEFAULT_ROUND_SIZE = 500


@dataclass(frozen=True, slots=True)
class _Candidate:
    id: int
    camera_id: int
    bucket: str
    key: str
    start_at: datetime
    end_at: datetime
    size_bytes: int


@dataclass(slots=True)
class RetentionReport:
    """What one sweep did."""

    rounds: int = 0
    deleted: int = 0
    deleted_bytes: int = 0
    skipped_locked: int = 0
    error: str | None = None
    cameras: set[int] = field(default_factory=set)


class RetentionSweeper:
    """Deletes expired footage, round by round; call :meth:`sweep` periodically (e.g. hourly)."""

    def __init__(
        self,
        db: Database,
        store: ObjectStore,
        audit: AuditLog,
        config: RecordingConfig,
        round_size: int = DEFAULT_ROUND_SIZE,
    ) -> None:
        self._db = db
        self._store = store
        self._audit = audit
        self._config = config
        self._round_size = round_size

    def sweep(self, now: datetime | None = None, max_rounds: int | None = None) -> RetentionReport:
        """Delete everything expired at ``now``; stops early when storage is unavailable."""
        now = now or utcnow()
        report = RetentionReport()
        cursors: dict[int, tuple[datetime, int]] = {}
        while max_rounds is None or report.rounds < max_rounds:
            candidates = self._next_round(now, cursors)
            if not candidates:
                break
            report.rounds += 1
            try:
                self._delete_round(candidates, report)
            except StorageUnavailable as exc:
                report.error = str(exc)
                log.warning("retention stopped: %s", exc)
                break
        return report

    # ---- choosing ------------------------------------------------------------------------------------

    def _next_round(self, now: datetime, cursors: dict[int, tuple[datetime, int]]) -> list[_Candidate]:
        """Up to ``round_size`` expired segments, oldest first per camera, after each camera's cursor."""
        out: list[_Candidate] = []
        with self._db.sessions() as s:
            cameras = s.execute(select(Camera.id, Camera.retention_days).order_by(Camera.id)).all()
            kept_by_batch = self._kept_by_batch(
                now, [d for (d,) in s.execute(select(InspectionBatch.retention_days).distinct()).all()]
            )
            for camera_id, camera_days in cameras:
                room = self._round_size - len(out)
                if room <= 0:
                    break
                cutoff = now - timedelta(days=camera_days or self._config.unlinked_retention_days)
                query = (
                    select(
                        Segment.id,
                        Segment.camera_id,
                        Segment.bucket,
                        Segment.object_key,
                        Segment.start_at,
                        Segment.end_at,
                        Segment.size_bytes,
                    )
                    .where(
                        Segment.camera_id == camera_id,
                        Segment.end_at < cutoff,
                        Segment.legal_hold.is_(False),
                        ~kept_by_batch,
                    )
                    .order_by(Segment.end_at, Segment.id)
                    .limit(room)
                )
                if camera_id in cursors:
                    after_end, after_id = cursors[camera_id]
                    query = query.where(
                        or_(
                            Segment.end_at > after_end,
                            and_(Segment.end_at == after_end, Segment.id > after_id),
                        )
                    )
                rows = [_Candidate(*row) for row in s.execute(query).all()]
                if rows:
                    cursors[camera_id] = (rows[-1].end_at, rows[-1].id)
                out += rows
        return out

    def _kept_by_batch(self, now: datetime, batch_days: list[int | None]) -> ColumnElement[bool]:
        """True for a segment a linked batch still keeps: disputed, or within that batch's retention."""
        days = func.coalesce(InspectionBatch.retention_days, self._config.batch_retention_days)
        still_kept: list[ColumnElement[bool]] = [InspectionBatch.disputed.is_(True)]
        for value in {d or self._config.batch_retention_days for d in batch_days}:
            still_kept.append(and_(days == value, Segment.end_at >= now - timedelta(days=value)))
        return exists(
            select(SegmentBatchLink.segment_id)
            .join(InspectionBatch, InspectionBatch.id == SegmentBatchLink.batch_id)
            .where(SegmentBatchLink.segment_id == Segment.id, or_(false(), *still_kept))
        )

    # ---- deleting ------------------------------------------------------------------------------------

    def _delete_round(self, candidates: list[_Candidate], report: RetentionReport) -> None:
        deleted: list[_Candidate] = []
        locked: list[_Candidate] = []
        by_bucket: dict[str, list[_Candidate]] = defaultdict(list)
        for c in candidates:
            by_bucket[c.bucket].append(c)
        for bucket, items in by_bucket.items():
            refused = self._delete_objects(bucket, items)
            for c in items:
                (locked if c.key in refused else deleted).append(c)
        if deleted:
            with self._db.session() as s:
                ids = [c.id for c in deleted]
                s.execute(delete(SegmentBatchLink).where(SegmentBatchLink.segment_id.in_(ids)))
                s.execute(delete(Segment).where(Segment.id.in_(ids)))
        for c in locked:
            log.warning("retention: storage refused to delete s3://%s/%s (locked); kept", c.bucket, c.key)
        report.deleted += len(deleted)
        report.deleted_bytes += sum(c.size_bytes for c in deleted)
        report.skipped_locked += len(locked)
        cameras = sorted({c.camera_id for c in candidates})
        report.cameras.update(cameras)
        self._audit.record(
            RETENTION_ACTOR,
            "retention_delete",
            object_type="segments",
            detail={
                "deleted": len(deleted),
                "deleted_bytes": sum(c.size_bytes for c in deleted),
                "skipped_locked": len(locked),
                "cameras": cameras,
                "from": min(c.start_at for c in candidates).isoformat(),
                "to": max(c.end_at for c in candidates).isoformat(),
            },
        )

    def _delete_objects(self, bucket: str, items: list[_Candidate]) -> set[str]:
        """Delete every version of each object; returns the keys the storage refused."""
        targets: list[tuple[str, str | None]] = []
        for c in items:
            try:
                listed = list(self._store.list(bucket, prefix=c.key, include_versions=True))
            except ObjectNotFound:  # the bucket is gone: nothing left to delete
                listed = []
            targets += [(info.key, info.version_id) for info in listed if info.key == c.key]
        refused: set[str] = set()
        for i in range(0, len(targets), 1000):
            try:
                failures = self._store.delete_many(bucket, targets[i : i + 1000])
            except StorageUnavailable:
                raise
            except StorageError as exc:
                log.warning("retention: bulk delete in %s failed: %s", bucket, exc)
                refused.update(key for key, _ in targets[i : i + 1000])
                continue
            refused.update(f.key for f in failures)
        return refused
