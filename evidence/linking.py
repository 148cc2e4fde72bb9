"""Changing what an item belongs to and when it was recorded: relinking to another batch (reviewers, with a
reason) and body-cam clock offsets (yard time = device time + offset), both in the chain of custody."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from evidence.batch_access import batch_by_id, batch_by_number
from evidence.errors import Conflict, StorageDown
from evidence.holds import EvidenceHolds
from evidence.intake import RETENTION_MODE, existing_item
from evidence.items import item_in_session
from evidence.models import CUSTODY_OBJECT_TYPE, DeviceClockOffset, EvidenceItem, TimeSource
from evidence.views import ClockOffsetView
from vms.context import CoreServices
from vms.db import utcnow
from vms.storage import StorageError


@dataclass(frozen=True)
class Acting:
    """Who does it, from where."""

    actor: str
    client: str


def relink(core: CoreServices, who: Acting, item_id: int, batch_number: str, reason: str) -> None:
    """Link the item to another batch; its retention grows to the new batch's if longer, and its legal
    hold follows the new batch's dispute."""
    with core.db.sessions() as s:
        item = item_in_session(s, item_id)
        if item.deleted_at is not None:
            raise Conflict(f"evidence item {item_id} was deleted; it cannot be relinked")
        old = batch_by_id(s, core.settings, item.batch_id)
        new = batch_by_number(s, core.settings, batch_number)
        uploaded_at, until, held = item.uploaded_at, item.retention_until, item.legal_hold
        bucket, key, version, sha = item.bucket, item.object_key, item.version_id, item.sha256
    if new.id == old.id:
        raise Conflict(f"evidence item {item_id} is already linked to batch '{new.number}'")
    if (twin := existing_item(core, new.id, sha)) is not None:
        raise Conflict(f"batch '{new.number}' already has this file as evidence item {twin}")
    new_until = max(until, uploaded_at + timedelta(days=new.retention_days))
    if new_until > until:
        try:
            if core.store is None:
                raise StorageError("no object storage is configured")
            core.store.set_retention(bucket, key, RETENTION_MODE, new_until, version_id=version)
        except StorageError as exc:
            raise StorageDown(f"cannot extend the item's retention, nothing changed: {exc}") from None
    with core.db.session() as s:
        item = item_in_session(s, item_id)
        item.batch_id, item.retention_until = new.id, new_until
    core.audit.record(
        who.actor,
        "evidence.relink",
        object_type=CUSTODY_OBJECT_TYPE,
        object_id=item_id,
        client=who.client,
        detail={
            "from_batch": old.number,
            "to_batch": new.number,
            "reason": reason,
            "retention_until": new_until,
        },
    )
    holds = EvidenceHolds(core)
    if new.disputed and not held:
        holds.set_hold(item_id, True, who.actor, new.number, f"relinked to disputed batch: {reason}")
    elif held and not new.disputed:
        holds.set_hold(item_id, False, who.actor, new.number, f"relinked out of a disputed batch: {reason}")


def set_clock_offset(
    core: CoreServices, who: Acting, serial: str, offset_s: float, note: str
) -> ClockOffsetView:
    """Record a device's clock offset and re-time its items whose time came from the device."""
    now = utcnow()
    retimed: list[tuple[int, float, object]] = []
    with core.db.session() as s:
        row = s.get(DeviceClockOffset, serial)
        if row is None:
            row = DeviceClockOffset(device_serial=serial, offset_s=offset_s)
            s.add(row)
        row.offset_s, row.note, row.set_by, row.set_at = offset_s, note, who.actor, now
        items = s.scalars(
            select(EvidenceItem).where(
                EvidenceItem.device_serial == serial, EvidenceItem.time_source != TimeSource.UPLOAD
            )
        )
        for item in items:
            if item.recorded_start is None or item.clock_offset_s == offset_s:
                continue
            shift = timedelta(seconds=offset_s - item.clock_offset_s)
            retimed.append((item.id, item.clock_offset_s, item.recorded_start + shift))
            item.recorded_start = item.recorded_start + shift
            item.recorded_end = item.recorded_end + shift if item.recorded_end else None
            item.clock_offset_s = offset_s
        view = ClockOffsetView(
            device_serial=serial,
            offset_s=offset_s,
            note=note,
            set_by=who.actor,
            set_at=now,
            items_retimed=len(retimed),
        )
    core.audit.record(
        who.actor,
        "evidence.device_clock",
        object_type="evidence_device",
        object_id=serial,
        client=who.client,
        detail={"offset_s": offset_s, "note": note, "items": len(retimed)},
    )
    for item_id, old_offset, start in retimed:
        core.audit.record(
            who.actor,
            "evidence.retime",
            object_type=CUSTODY_OBJECT_TYPE,
            object_id=item_id,
            client=who.client,
            detail={
                "device_serial": serial,
                "old_offset_s": old_offset,
                "offset_s": offset_s,
                "recorded_start": start,
                "note": note,
            },
        )
    return view


def list_clock_offsets(core: CoreServices) -> list[ClockOffsetView]:
    with core.db.sessions() as s:
        rows = s.scalars(select(DeviceClockOffset).order_by(DeviceClockOffset.device_serial))
        return [
            ClockOffsetView(
                device_serial=r.device_serial,
                offset_s=r.offset_s,
                note=r.note,
                set_by=r.set_by,
                set_at=r.set_at,
            )
            for r in rows
        ]
