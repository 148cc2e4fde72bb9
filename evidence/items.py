"""Reading evidence items: lists, single items with access checks, and audited reads of their bytes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from evidence.batch_access import batch_by_id, batch_by_number, inspector_name, require_read_access
from evidence.errors import NotFound
from evidence.models import CUSTODY_OBJECT_TYPE, EvidenceItem
from evidence.views import EvidenceItemView, EvidencePage
from vms.auth import Principal
from vms.context import CoreServices
from vms.db.models import BatchInspector, InspectionBatch


@dataclass(frozen=True)
class ItemRecord:
    """An item and its batch number, detached from the session."""

    item: EvidenceItem
    batch_number: str

    @property
    def view(self) -> EvidenceItemView:
        return EvidenceItemView.of(self.item, self.batch_number)


def get_item(core: CoreServices, principal: Principal, item_id: int) -> ItemRecord:
    """The item if the caller may see it (inspectors: items of their batches), else NotFound."""
    with core.db.sessions() as s:
        item = s.get(EvidenceItem, item_id)
        if item is None:
            raise NotFound(f"evidence item {item_id} not found")
        batch = batch_by_id(s, core.settings, item.batch_id)
        s.expunge(item)
    require_read_access(batch, principal, f"evidence item {item_id}")
    return ItemRecord(item, batch.number)


def list_items(
    core: CoreServices,
    principal: Principal,
    *,
    batch_number: str | None,
    include_deleted: bool,
    limit: int,
    offset: int,
) -> EvidencePage:
    """Items newest first, of one batch or of every batch the caller may see."""
    with core.db.sessions() as s:
        q = select(EvidenceItem, InspectionBatch.number).join(
            InspectionBatch, InspectionBatch.id == EvidenceItem.batch_id
        )
        if batch_number is not None:
            batch = batch_by_number(s, core.settings, batch_number)
            require_read_access(batch, principal, f"batch '{batch_number}'")
            q = q.where(EvidenceItem.batch_id == batch.id)
        name = inspector_name(principal)
        if name is not None:
            q = q.where(InspectionBatch.inspector_rows.any(BatchInspector.username == name))
        if not include_deleted:
            q = q.where(EvidenceItem.deleted_at.is_(None))
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.execute(
            q.order_by(EvidenceItem.uploaded_at.desc(), EvidenceItem.id.desc()).limit(limit).offset(offset)
        ).all()
        items = [EvidenceItemView.of(item, number) for item, number in rows]
    return EvidencePage(items=items, total=total, limit=limit, offset=offset)


def audit_access(
    core: CoreServices, actor: str, client: str, item_id: int, action: str, **detail: object
) -> None:
    """Record a read of the item (view, download, preview) in its chain of custody."""
    core.audit.record(
        actor, action, object_type=CUSTODY_OBJECT_TYPE, object_id=item_id, client=client, detail=dict(detail)
    )


def item_in_session(s: Session, item_id: int) -> EvidenceItem:
    item = s.get(EvidenceItem, item_id)
    if item is None:
        raise NotFound(f"evidence item {item_id} not found")
    return item
