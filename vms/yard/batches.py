"""Inspection batches: create, change, query, the feed's idempotent upsert by number, the disputed flag.

Inspectors see only the batches they are assigned to: pass their username as ``visible_to``; another
batch is reported as not found (404), so its existence is not revealed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from vms.db.models import BatchInspector, BatchStatus, Bay, InspectionBatch, Site
from vms.yard.batch_schema import (
    BatchCreate,
    BatchFields,
    BatchPage,
    BatchPatch,
    BatchQuery,
    BatchView,
    check_windows,
)
from vms.yard.changes import diff
from vms.yard.errors import Conflict, Invalid, NotFound
from vms.yard.hooks import BATCH_CHANGED, BATCH_DISPUTE, call_hooks
from vms.yard.service import YardService

_S = BatchStatus
ALLOWED_TRANSITIONS: dict[BatchStatus, frozenset[BatchStatus]] = {
    _S.PLANNED: frozenset({_S.IN_PROGRESS, _S.COMPLETED, _S.CANCELLED}),
    _S.IN_PROGRESS: frozenset({_S.COMPLETED, _S.CANCELLED}),
    _S.COMPLETED: frozenset({_S.IN_PROGRESS}),  # reopened to correct it
    _S.CANCELLED: frozenset({_S.PLANNED}),  # planned again
}
_SNAPSHOT_FIELDS = (
    "declaration_no",
    "containers",
    "goods",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "status",
    "retention_days",
    "notes",
)


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class BatchChange:
    """One batch written in a transaction; audited and announced once the transaction is committed."""

    batch_id: int
    number: str
    outcome: Outcome
    detail: dict[str, Any]


def batch_view(b: InspectionBatch) -> BatchView:
    return BatchView(
        **{key: getattr(b, key) for key in _SNAPSHOT_FIELDS},
        id=b.id,
        number=b.number,
        site=b.site.code if b.site else None,
        bay=b.bay.code if b.bay else None,
        disputed=b.disputed,
        inspectors=b.inspectors,
        created_at=b.created_at,
        updated_at=b.updated_at,
    )


def _snapshot(b: InspectionBatch) -> dict[str, Any]:
    out = {key: getattr(b, key) for key in _SNAPSHOT_FIELDS}
    out.update(site=b.site.code if b.site else None, bay=b.bay.code if b.bay else None)
    out["inspectors"] = b.inspectors
    return out


def _query() -> Select[InspectionBatch]:
    return select(InspectionBatch).options(
        selectinload(InspectionBatch.site),
        selectinload(InspectionBatch.bay),
        selectinload(InspectionBatch.inspector_rows),
    )


def _check_transition(number: str, old: BatchStatus, new: BatchStatus) -> None:
    if new != old and new not in ALLOWED_TRANSITIONS[old]:
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[old])) or "none"
        raise Conflict(f"batch {number} is {old.value}; it cannot become {new.value} (allowed: {allowed})")


def _resolve_place(s: Session, site_code: str | None, bay_code: str | None) -> tuple[Site | None, Bay | None]:
    if site_code is None:
        if bay_code is not None:
            raise Invalid("bay", "needs site: give the code of the site the bay belongs to")
        return None, None
    site = s.execute(select(Site).where(Site.code == site_code)).scalar_one_or_none()
    if site is None:
        raise Invalid("site", f"unknown site code {site_code!r}")
    if bay_code is None:
        return site, None
    bay = s.execute(select(Bay).where(Bay.site_id == site.id, Bay.code == bay_code)).scalar_one_or_none()
    if bay is None:
        raise Invalid("bay", f"site {site_code} has no bay {bay_code!r}")
    return site, bay


def _apply(s: Session, batch: InspectionBatch, target: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the fields of ``target`` that differ from the batch; return what changed."""
    changes = diff(_snapshot(batch), target)
    if not changes:
        return changes
    if "site" in changes or "bay" in changes:
        batch.site, batch.bay = _resolve_place(s, target["site"], target["bay"])
    if "inspectors" in changes:
        batch.inspector_rows = [BatchInspector(username=u) for u in target["inspectors"]]
    for key in _SNAPSHOT_FIELDS:
        if key in changes:
            setattr(batch, key, target[key])
    return changes


def _fields_target(fields: BatchFields, current: BatchStatus) -> dict[str, Any]:
    target = fields.model_dump()
    target["inspectors"] = sorted(set(target["inspectors"]))
    target["status"] = fields.status or current
    return target


def write_upsert(s: Session, number: str, fields: BatchFields) -> BatchChange:
    """Create or replace the batch ``number`` inside the session ``s`` (the caller commits)."""
    batch = s.execute(_query().where(InspectionBatch.number == number)).scalar_one_or_none()
    if batch is None:
        return _write_new(s, number, fields)
    target = _fields_target(fields, batch.status)
    _check_transition(number, batch.status, target["status"])
    changes = _apply(s, batch, target)
    s.flush()
    outcome = Outcome.UPDATED if changes else Outcome.UNCHANGED
    return BatchChange(batch.id, number, outcome, {"changes": changes, "via": "upsert"})


def _write_new(s: Session, number: str, fields: BatchFields) -> BatchChange:
    batch = InspectionBatch(number=number, status=BatchStatus.PLANNED, containers=[], goods="", notes="")
    target = _fields_target(fields, BatchStatus.PLANNED)
    _resolve_place(s, target["site"], target["bay"])  # refuse unknown codes before the insert
    s.add(batch)
    s.flush()
    _apply(s, batch, target)
    s.flush()
    created = {k: v for k, v in diff({}, target).items() if v[1] not in (None, "", [])}
    return BatchChange(batch.id, number, Outcome.CREATED, {"fields": {k: v[1] for k, v in created.items()}})


class BatchService(YardService):
    def get(self, batch_id: int, visible_to: str | None = None) -> BatchView:
        with self.core.db.sessions() as s:
            return batch_view(self._batch(s, batch_id, visible_to))

    def get_by_number(self, number: str, visible_to: str | None = None) -> BatchView:
        with self.core.db.sessions() as s:
            q = _query().where(InspectionBatch.number == number)
            if visible_to is not None:
                q = q.where(_assigned_to(visible_to))
            batch = s.execute(q).scalar_one_or_none()
            if batch is None:
                raise NotFound(f"batch {number}")
            return batch_view(batch)

    def search(self, query: BatchQuery, visible_to: str | None = None) -> BatchPage:
        conditions = _conditions(query)
        if visible_to is not None:
            conditions.append(_assigned_to(visible_to))
        with self.core.db.sessions() as s:
            total = s.scalar(select(func.count()).select_from(InspectionBatch).where(*conditions)) or 0
            rows = (
                s.execute(
                    _query()
                    .where(*conditions)
                    .order_by(InspectionBatch.id.desc())
                    .limit(query.limit)
                    .offset(query.offset)
                )
                .scalars()
                .all()
            )
            items = [batch_view(b) for b in rows]
        return BatchPage(items=items, total=total, limit=query.limit, offset=query.offset)

    def create(self, fields: BatchCreate) -> BatchView:
        try:
            with self.core.db.session() as s:
                exists = select(InspectionBatch.id).where(InspectionBatch.number == fields.number)
                if s.execute(exists).first():
                    raise Conflict(f"batch {fields.number} already exists; change it with PATCH or PUT")
                change = _write_new(s, fields.number, BatchFields(**fields.model_dump(exclude={"number"})))
        except IntegrityError:
            raise Conflict(f"batch {fields.number} already exists") from None
        self.announce([change])
        return self.get(change.batch_id)

    def update(self, batch_id: int, patch: BatchPatch) -> BatchView:
        with self.core.db.session() as s:
            batch = self._batch(s, batch_id)
            target = _snapshot(batch)
            target.update(patch.model_dump(exclude_unset=True))
            target["containers"] = list(dict.fromkeys(target["containers"] or []))
            target["inspectors"] = sorted(set(target["inspectors"] or []))
            for key in ("goods", "notes"):
                target[key] = target[key] or ""
            target["status"] = target["status"] or batch.status
            try:
                check_windows(target)
            except ValueError as exc:
                raise Invalid(str(exc).split(" ", 1)[0], str(exc)) from None
            _check_transition(batch.number, batch.status, target["status"])
            changes = _apply(s, batch, target)
            s.flush()
            change = BatchChange(
                batch.id,
                batch.number,
                Outcome.UPDATED if changes else Outcome.UNCHANGED,
                {"changes": changes},
            )
        self.announce([change])
        return self.get(batch_id)

    def upsert(self, number: str, fields: BatchFields) -> tuple[BatchView, Outcome]:
        """Create the batch ``number`` or bring it to ``fields``; the same call twice changes nothing."""
        for attempt in range(2):
            try:
                with self.core.db.session() as s:
                    change = write_upsert(s, number, fields)
                break
            except IntegrityError:  # created at the same moment by another request: update it instead
                if attempt:
                    raise
        self.announce([change])
        return self.get(change.batch_id), change.outcome

    def set_disputed(self, batch_id: int, disputed: bool, reason: str) -> BatchView:
        with self.core.db.session() as s:
            batch = self._batch(s, batch_id)
            changed = batch.disputed != disputed
            batch.disputed = disputed
            number = batch.number
        if changed:
            action = "batch.dispute" if disputed else "batch.undispute"
            self.audit(action, "batch", number, {"reason": reason})
            call_hooks(self.core.providers, BATCH_DISPUTE, batch_id, disputed)
        return self.get(batch_id)

    def announce(self, changes: list[BatchChange]) -> None:
        """Audit the committed changes and call the ``batch_changed_hooks``; unchanged batches stay quiet."""
        for change in changes:
            if change.outcome is Outcome.UNCHANGED:
                continue
            action = "batch.create" if change.outcome is Outcome.CREATED else "batch.update"
            self.audit(action, "batch", change.number, change.detail)
            call_hooks(self.core.providers, BATCH_CHANGED, change.batch_id)

    @staticmethod
    def _batch(s: Session, batch_id: int, visible_to: str | None = None) -> InspectionBatch:
        q = _query().where(InspectionBatch.id == batch_id)
        if visible_to is not None:
            q = q.where(_assigned_to(visible_to))
        batch = s.execute(q).scalar_one_or_none()
        if batch is None:
            raise NotFound(f"batch {batch_id}")
        return batch


def _assigned_to(username: str) -> ColumnElement[bool]:
    return InspectionBatch.inspector_rows.any(BatchInspector.username == username)


def _conditions(q: BatchQuery) -> list[ColumnElement[bool]]:
    b = InspectionBatch
    out: list[ColumnElement[bool]] = []
    if q.number is not None:
        out.append(b.number == q.number)
    if q.number_contains:
        out.append(b.number.contains(q.number_contains, autoescape=True))
    if q.declaration is not None:
        out.append(b.declaration_no == q.declaration)
    if q.container:
        out.append(cast(b.containers, String).contains(f'"{q.container.strip().upper()}"', autoescape=True))
    if q.site is not None:
        out.append(b.site.has(Site.code == q.site))
    if q.bay is not None:
        out.append(b.bay.has(Bay.code == q.bay))
    start = func.coalesce(b.actual_start, b.planned_start)
    end = func.coalesce(b.actual_end, b.planned_end)
    if q.start is not None:
        out.append(or_(end >= q.start, (end.is_(None)) & start.is_not(None)))
    if q.end is not None:
        out.append(start <= q.end)
    if q.inspector is not None:
        out.append(_assigned_to(q.inspector))
    if q.statuses:
        out.append(b.status.in_(q.statuses))
    if q.disputed is not None:
        out.append(b.disputed == q.disputed)
    return out
