"""Which batch evidence belongs to, and whether a caller may use it (inspectors: only their own batches)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from evidence.errors import NotAllowed, NotFound
from vms.auth import Principal
from vms.config import Settings
from vms.db.models import InspectionBatch, Role


@dataclass(frozen=True)
class BatchRef:
    """The facts about a batch that evidence needs."""

    id: int
    number: str
    disputed: bool
    retention_days: int
    inspectors: tuple[str, ...]


def inspector_name(principal: Principal) -> str | None:
    """The username an inspector's access is narrowed to; None for every other role."""
    return principal.name if principal.role == Role.INSPECTOR else None


def batch_by_number(s: Session, settings: Settings, number: str) -> BatchRef:
    batch = s.execute(_query().where(InspectionBatch.number == number)).scalar_one_or_none()
    if batch is None:
        raise NotFound(f"batch '{number}' not found")
    return _ref(batch, settings)


def batch_by_id(s: Session, settings: Settings, batch_id: int) -> BatchRef:
    batch = s.execute(_query().where(InspectionBatch.id == batch_id)).scalar_one_or_none()
    if batch is None:
        raise NotFound(f"batch {batch_id} not found")
    return _ref(batch, settings)


def require_upload_access(batch: BatchRef, principal: Principal) -> None:
    """Inspectors may add evidence only to batches they are assigned to (403 otherwise)."""
    name = inspector_name(principal)
    if name is not None and name not in batch.inspectors:
        raise NotAllowed(f"you are not assigned to batch '{batch.number}': upload to one of your own batches")


def require_read_access(batch: BatchRef, principal: Principal, what: str) -> None:
    """Inspectors see only evidence of their own batches; anything else is 'not found' to them."""
    name = inspector_name(principal)
    if name is not None and name not in batch.inspectors:
        raise NotFound(f"{what} not found")


def _query() -> Select[InspectionBatch]:
    return select(InspectionBatch).options(selectinload(InspectionBatch.inspector_rows))


def _ref(batch: InspectionBatch, settings: Settings) -> BatchRef:
    return BatchRef(
        id=batch.id,
        number=batch.number,
        disputed=batch.disputed,
        retention_days=batch.retention_days or settings.evidence.retention_days,
        inspectors=tuple(batch.inspectors),
    )
