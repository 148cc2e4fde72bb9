"""Legal holds on evidence: a disputed batch's items are held in object storage and flagged.

Registered with ``core.providers["batch_dispute_hooks"]`` by :func:`register`. Ending a dispute (which the
batch API allows only to reviewers, with a reason) releases the holds. A held item is never deleted:
the API and the retention sweep refuse, and so does object storage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from evidence.models import CUSTODY_OBJECT_TYPE, EvidenceItem
from vms.context import CoreServices
from vms.db.models import AuditEvent, InspectionBatch
from vms.storage import StorageError
from vms.yard.hooks import BATCH_DISPUTE, hook_list

log = logging.getLogger("evidence.holds")

HOLDS_ACTOR = "system:holds"


@dataclass(slots=True)
class HoldResult:
    changed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


class EvidenceHolds:
    def __init__(self, core: CoreServices) -> None:
        self.core = core

    def on_dispute(self, batch_id: int, disputed: bool) -> None:
        """Hook for ``batch_dispute_hooks``."""
        self.apply_batch(batch_id, disputed)

    def apply_batch(self, batch_id: int, on: bool) -> HoldResult:
        """Hold (``on``) or release every live item of the batch whose flag differs."""
        with self.core.db.sessions() as s:
            number = s.scalar(select(InspectionBatch.number).where(InspectionBatch.id == batch_id)) or ""
            ids = list(
                s.scalars(
                    select(EvidenceItem.id).where(
                        EvidenceItem.batch_id == batch_id,
                        EvidenceItem.deleted_at.is_(None),
                        EvidenceItem.legal_hold.is_(not on),
                    )
                )
            )
        actor, reason = self._dispute_decision(number, on)
        result = HoldResult()
        for item_id in ids:
            done = self.set_hold(item_id, on, actor, number, reason)
            (result.changed if done else result.failed).append(item_id)
        return result

    def _dispute_decision(self, number: str, on: bool) -> tuple[str, str]:
        """Who disputed (or ended the dispute of) the batch and why, from the batch's audit event."""
        action = "batch.dispute" if on else "batch.undispute"
        with self.core.db.sessions() as s:
            event = s.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.action == action,
                    AuditEvent.object_type == "batch",
                    AuditEvent.object_id == number,
                )
                .order_by(AuditEvent.seq.desc())
                .limit(1)
            ).first()
        default = "batch disputed" if on else "batch dispute ended"
        if event is None:
            return HOLDS_ACTOR, default
        return event.actor, f"{default}: {event.detail.get('reason', '')}".rstrip(": ")

    def set_hold(self, item_id: int, on: bool, actor: str, batch_number: str, reason: str) -> bool:
        """Set the storage hold, then the flag, then audit; False (and logged) if the storage refused."""
        with self.core.db.sessions() as s:
            item = s.get(EvidenceItem, item_id)
            if item is None:
                return False
            bucket, key, version = item.bucket, item.object_key, item.version_id
        try:
            if self.core.store is None:
                raise StorageError("no object storage is configured")
            self.core.store.set_legal_hold(bucket, key, on, version_id=version)
        except StorageError as exc:
            # A failed hold leaves the flag off; retention still skips items of disputed batches.
            log.warning("legal hold %s failed for evidence %s: %s", "on" if on else "off", item_id, exc)
            return False
        with self.core.db.session() as s:
            stored = s.get(EvidenceItem, item_id)
            if stored is not None:
                stored.legal_hold = on
        self.core.audit.record(
            actor,
            "evidence.hold" if on else "evidence.release",
            object_type=CUSTODY_OBJECT_TYPE,
            object_id=item_id,
            detail={"batch": batch_number, "reason": reason, "version_id": version},
        )
        return True


def register(core: CoreServices) -> EvidenceHolds:
    """Register evidence holds with the yard's dispute hooks; the assembly calls this once at start."""
    holds = EvidenceHolds(core)
    hook_list(core.providers, BATCH_DISPUTE).append(holds.on_dispute)
    return holds
