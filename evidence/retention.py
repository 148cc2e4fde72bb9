"""Retention of evidence: an item is deleted only once its retention has run out and no hold applies.

Retention is the batch's ``retention_days`` (else ``evidence.retention_days``) from the upload, locked in
object storage (COMPLIANCE) at upload. A batch whose retention grows later extends its items' locks at the
next sweep. Deleting removes the object version, poster and preview; the item row stays, with
``deleted_at``, and the deletion is in its chain of custody.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from evidence.batch_access import BatchRef, batch_by_id
from evidence.errors import Conflict, StorageDown
from evidence.intake import RETENTION_MODE
from evidence.items import item_in_session
from evidence.linking import Acting
from evidence.models import CUSTODY_OBJECT_TYPE, EvidenceItem
from vms.context import CoreServices
from vms.db import utcnow
from vms.storage import ObjectLocked, ObjectStore, StorageError

log = logging.getLogger("evidence.retention")

RETENTION_ACTOR = Acting("system:retention", "")


def delete_item(
    core: CoreServices, who: Acting, item_id: int, reason: str, now: datetime | None = None
) -> None:
    """Delete an expired, unheld item's stored bytes; Conflict while it is held or retained."""
    now = now or utcnow()
    with core.db.sessions() as s:
        item = item_in_session(s, item_id)
        batch = batch_by_id(s, core.settings, item.batch_id)
        s.expunge(item)
    if item.deleted_at is not None:
        raise Conflict(f"evidence item {item_id} was already deleted")
    if item.legal_hold or batch.disputed:
        raise Conflict(
            f"evidence item {item_id} is under legal hold (batch '{batch.number}' is or was "
            "disputed); it cannot be deleted until the hold is released"
        )
    until = _effective_until(item, batch)
    if now < until:
        zone = core.settings.zone
        raise Conflict(
            f"evidence item {item_id} is retained until {until.astimezone(zone):%Y-%m-%d %H:%M %Z}; "
            "it cannot be deleted before then"
        )
    store = core.store
    if store is None:
        raise StorageDown("object storage is not configured on this node")
    try:
        store.delete(item.bucket, item.object_key, version_id=item.version_id)
    except ObjectLocked:
        raise Conflict(f"object storage still locks evidence item {item_id}; it was not deleted") from None
    except StorageError as exc:
        raise StorageDown(f"evidence item {item_id} was not deleted: {exc}") from None
    for key in (item.poster_key, item.preview_key):
        if key:
            _delete_all_versions(store, item.bucket, key)
    with core.db.session() as s:
        item_in_session(s, item_id).deleted_at = now
    core.audit.record(
        who.actor,
        "evidence.delete",
        object_type=CUSTODY_OBJECT_TYPE,
        object_id=item_id,
        client=who.client,
        detail={
            "reason": reason,
            "sha256": item.sha256,
            "batch": batch.number,
            "object_key": item.object_key,
            "version_id": item.version_id,
            "retention_until": until,
        },
    )


def sweep(core: CoreServices, now: datetime | None = None) -> int:
    """Delete every expired, unheld item; the assembly runs this periodically. Returns how many."""
    now = now or utcnow()
    with core.db.sessions() as s:
        due = list(
            s.execute(
                select(EvidenceItem.id, EvidenceItem.batch_id).where(
                    EvidenceItem.deleted_at.is_(None),
                    EvidenceItem.legal_hold.is_(False),
                    EvidenceItem.retention_until <= now,
                )
            ).all()
        )
    deleted = 0
    for item_id, batch_id in due:
        if _extend_if_batch_keeps_longer(core, item_id, batch_id, now):
            continue
        try:
            delete_item(core, RETENTION_ACTOR, item_id, "retention expired", now)
        except (Conflict, StorageDown) as exc:
            log.info("retention kept evidence item %s: %s", item_id, exc)
            continue
        deleted += 1
    if deleted:
        log.info("retention deleted %d evidence items", deleted)
    return deleted


def _effective_until(item: EvidenceItem, batch: BatchRef) -> datetime:
    return max(item.retention_until, item.uploaded_at + timedelta(days=batch.retention_days))


def _extend_if_batch_keeps_longer(core: CoreServices, item_id: int, batch_id: int, now: datetime) -> bool:
    with core.db.sessions() as s:
        item = item_in_session(s, item_id)
        batch = batch_by_id(s, core.settings, batch_id)
        until = _effective_until(item, batch)
        bucket, key, version = item.bucket, item.object_key, item.version_id
    if until <= now:
        return False
    try:
        if core.store is not None:
            core.store.set_retention(bucket, key, RETENTION_MODE, until, version_id=version)
    except StorageError as exc:
        log.warning("cannot extend retention of evidence item %s: %s", item_id, exc)
    with core.db.session() as s:
        item_in_session(s, item_id).retention_until = until
    core.audit.record(
        RETENTION_ACTOR.actor,
        "evidence.retention_extend",
        object_type=CUSTODY_OBJECT_TYPE,
        object_id=item_id,
        detail={"retention_until": until, "batch": batch.number},
    )
    return True


def _delete_all_versions(store: ObjectStore, bucket: str, key: str) -> None:
    try:
        versions = [
            (o.key, o.version_id) for o in store.list(bucket, key, include_versions=True) if o.key == key
        ]
        for failure in store.delete_many(bucket, versions):
            log.warning("could not delete %s (%s): %s", failure.key, failure.version_id, failure.message)
    except StorageError as exc:
        log.warning("could not delete s3://%s/%s: %s", bucket, key, exc)
