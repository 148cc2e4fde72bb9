"""The audit log: filtered events and a check of the hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from vms.api.deps import Core, require
from vms.api.routers.common import aware_query_time
from vms.auth import Permission, Principal
from vms.yard.audit_events import AuditPage, AuditQuery, search_audit

router = APIRouter(prefix="/api/audit", tags=["audit"])


class VerifyReport(BaseModel):
    ok: bool
    events: int
    broken_at: int | None
    reason: str | None


@router.get("/events", response_model=AuditPage)
def list_events(
    core: Core,
    principal: Principal = require(Permission.AUDIT_READ),
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    start: Annotated[datetime | None, Query(alias="from", description="at or after this time")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="before this time")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    """Events matching every filter given, newest first."""
    query = AuditQuery(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        start=aware_query_time(start, "from"),
        end=aware_query_time(end, "to"),
        limit=limit,
        offset=offset,
    )
    return search_audit(core, query)


@router.get("/verify", response_model=VerifyReport)
def verify(core: Core, principal: Principal = require(Permission.AUDIT_READ)) -> VerifyReport:
    """Recompute the hash chain; ``broken_at`` names the first event that breaks it (null: the head)."""
    result = core.audit.verify()
    brk = result.first_break
    return VerifyReport(
        ok=result.ok,
        events=result.events,
        broken_at=brk.seq if brk else None,
        reason=str(brk) if brk else None,
    )
