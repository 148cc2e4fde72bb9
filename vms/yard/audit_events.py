"""Reading the audit log: filtered, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select

from vms.context import CoreServices
from vms.db.models import AuditEvent


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 100
    offset: int = 0


class AuditEventView(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    client: str
    detail: dict[str, Any]
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEventView]
    total: int
    limit: int
    offset: int


def _conditions(q: AuditQuery) -> list[ColumnElement[bool]]:
    e = AuditEvent
    out: list[ColumnElement[bool]] = []
    for column, value in (
        (e.actor, q.actor),
        (e.action, q.action),
        (e.object_type, q.object_type),
        (e.object_id, q.object_id),
    ):
        if value is not None:
            out.append(column == value)
    if q.start is not None:
        out.append(e.at >= q.start)
    if q.end is not None:
        out.append(e.at < q.end)
    return out


def search_audit(core: CoreServices, q: AuditQuery) -> AuditPage:
    conditions = _conditions(q)
    with core.db.sessions() as s:
        total = s.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
        rows = s.execute(
            select(AuditEvent)
            .where(*conditions)
            .order_by(AuditEvent.seq.desc())
            .limit(q.limit)
            .offset(q.offset)
        ).scalars()
        items = [AuditEventView.model_validate(r, from_attributes=True) for r in rows]
    return AuditPage(items=items, total=total, limit=q.limit, offset=q.offset)
