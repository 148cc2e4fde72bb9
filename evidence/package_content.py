"""What goes into a batch's evidence package, read from the database: batch data, the footage window and the
segments of each covering camera, the body-cam items, and the chain-of-custody events."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from evidence.models import CUSTODY_OBJECT_TYPE, EvidenceItem
from evidence.package_format import time_pair
from recorder.clip import MAX_CLIP_SECONDS, NoFootageError, plan_clip
from recorder.index import SegmentIndex
from recorder.models import Segment
from vms.context import CoreServices
from vms.db import utcnow
from vms.db.models import AuditEvent, Camera, InspectionBatch, bay_cameras


class PackageError(Exception):
    """The package cannot be built; ``status`` is the HTTP status that fits."""

    status = 500


class BatchNotFound(PackageError):
    status = 404


@dataclass(frozen=True, slots=True)
class Window:
    """The footage window: the batch's window widened by the linking margin, an open end cut at ``now``."""

    start: datetime
    end: datetime
    open_end: bool


@dataclass(slots=True)
class ClipPlan:
    """One clip to export: a camera's part of the window (at most MAX_CLIP_SECONDS) and its segments."""

    start: datetime
    end: datetime
    segments: list[Segment]


@dataclass(slots=True)
class CameraPlan:
    id: int
    code: str
    name: str
    clips: list[ClipPlan] = field(default_factory=list)

    @property
    def planned_bytes(self) -> int:
        return sum(seg.size_bytes for clip in self.clips for seg in clip.segments)


@dataclass(slots=True)
class PackagePlan:
    batch_id: int
    batch_number: str
    batch: dict[str, Any]
    window: Window | None
    cameras: list[CameraPlan]
    items: list[EvidenceItem]
    removed_items: list[EvidenceItem]
    custody: list[AuditEvent]

    @property
    def planned_bytes(self) -> int:
        return sum(c.planned_bytes for c in self.cameras) + sum(i.size_bytes for i in self.items)


def plan_package(core: CoreServices, batch_id: int) -> PackagePlan:
    """Read everything a package of the batch needs; BatchNotFound when there is no such batch."""
    zone = core.settings.zone
    with core.db.sessions() as s:
        batch = s.get(InspectionBatch, batch_id)
        if batch is None:
            raise BatchNotFound(f"batch {batch_id} not found")
        batch_data = _batch_data(batch, zone)
        number = batch.number
        window = _window(batch, core.settings.recording.batch_margin_seconds)
        cameras = _bay_cameras(s, batch.bay_id)
        items = list(
            s.scalars(
                select(EvidenceItem)
                .where(EvidenceItem.batch_id == batch_id)
                .order_by(EvidenceItem.recorded_start, EvidenceItem.id)
            )
        )
        custody = _custody_events(s, batch_id, [i.id for i in items])
    plans = [_camera_plan(SegmentIndex(core.db), c, window) for c in cameras] if window else []
    return PackagePlan(
        batch_id=batch_id,
        batch_number=number,
        batch=batch_data,
        window=window,
        cameras=plans,
        items=[i for i in items if i.deleted_at is None],
        removed_items=[i for i in items if i.deleted_at is not None],
        custody=custody,
    )


def _window(batch: InspectionBatch, margin_seconds: float) -> Window | None:
    start, end = batch.window
    if start is None:
        return None
    margin = timedelta(seconds=margin_seconds)
    now = utcnow()
    open_end = end is None or end + margin > now
    finish = min(now, (end or now) + margin)
    return Window(start - margin, max(finish, start - margin), open_end)


def _bay_cameras(s: Session, bay_id: int | None) -> list[Camera]:
    if bay_id is None:
        return []
    covered = select(bay_cameras.c.camera_id).where(bay_cameras.c.bay_id == bay_id)
    return list(s.scalars(select(Camera).where(Camera.id.in_(covered)).order_by(Camera.code)))


def _camera_plan(index: SegmentIndex, camera: Camera, window: Window) -> CameraPlan:
    plan = CameraPlan(camera.id, camera.code, camera.name)
    step = timedelta(seconds=MAX_CLIP_SECONDS)
    start = window.start
    while start < window.end:
        end = min(window.end, start + step)
        with contextlib.suppress(NoFootageError):
            plan.clips.append(ClipPlan(start, end, plan_clip(index, camera.id, start, end)))
        start = end
    return plan


def _custody_events(s: Session, batch_id: int, item_ids: list[int]) -> list[AuditEvent]:
    """Audit events about the batch or any of its body-cam items, in log order."""
    about_batch = and_(AuditEvent.object_type == "batch", AuditEvent.object_id == str(batch_id))
    conditions = [about_batch]
    for i in range(0, len(item_ids), 500):
        chunk = [str(x) for x in item_ids[i : i + 500]]
        conditions.append(
            and_(AuditEvent.object_type == CUSTODY_OBJECT_TYPE, AuditEvent.object_id.in_(chunk))
        )
    return list(s.scalars(select(AuditEvent).where(or_(*conditions)).order_by(AuditEvent.seq)))


def _batch_data(batch: InspectionBatch, zone: tzinfo) -> dict[str, Any]:
    return {
        "id": batch.id,
        "number": batch.number,
        "declaration_no": batch.declaration_no,
        "containers": list(batch.containers or []),
        "goods": batch.goods,
        "status": str(batch.status),
        "disputed": batch.disputed,
        "site": None if batch.site is None else {"code": batch.site.code, "name": batch.site.name},
        "bay": None if batch.bay is None else {"code": batch.bay.code, "name": batch.bay.name},
        "planned_start": time_pair(batch.planned_start, zone),
        "planned_end": time_pair(batch.planned_end, zone),
        "actual_start": time_pair(batch.actual_start, zone),
        "actual_end": time_pair(batch.actual_end, zone),
        "inspectors": batch.inspectors,
        "notes": batch.notes,
    }
