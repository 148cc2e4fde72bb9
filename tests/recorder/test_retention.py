"""Retention on real SeaweedFS with object lock: old unlinked footage goes, linked and held footage stays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from recorder.holds import LegalHolds
from recorder.index import SegmentIndex
from recorder.linking import BatchLinker
from recorder.models import Segment
from recorder.retention import RetentionSweeper
from tests.recorder.test_linking import T0, add_batch, add_bay, add_camera, ids, record
from vms.context import CoreServices
from vms.db import Database
from vms.db.models import AuditEvent, InspectionBatch
from vms.storage import ObjectLocked, ObjectStore

NOW = T0 + timedelta(days=60)


@pytest.fixture
def lock_bucket(object_store: ObjectStore, new_bucket_name: Callable[..., str]) -> str:
    name = new_bucket_name("rec")
    object_store.ensure_bucket(name, object_lock=True)
    return name


def record_stored(
    db: Database, store: ObjectStore, bucket: str, camera_id: int, start_days_ago: float, count: int
) -> list[Segment]:
    start = NOW - timedelta(days=start_days_ago)
    keys = [f"{camera_id}/{start_days_ago}-{n}.mp4" for n in range(count)]
    for key in keys:
        store.put_bytes(bucket, key, b"\x00" * 100)
    return record(db, camera_id, start, count, bucket=bucket, keys=keys, sizes=[100] * count)


def remaining(db: Database) -> set[int]:
    with db.sessions() as s:
        return set(s.scalars(select(Segment.id)))


def retention_events(db: Database) -> list[AuditEvent]:
    with db.sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "retention_delete")))


def test_sweep_deletes_old_unlinked_keeps_linked_and_held(
    core: CoreServices, object_store: ObjectStore, lock_bucket: str
) -> None:
    db, store = core.db, object_store
    cam = add_camera(db)
    bay = add_bay(db, [cam])
    old_unlinked = record_stored(db, store, lock_bucket, cam, 40, 5)
    old_linked = record_stored(db, store, lock_bucket, cam, 45, 3)
    old_disputed = record_stored(db, store, lock_bucket, cam, 50, 2)
    recent = record_stored(db, store, lock_bucket, cam, 10, 2)
    linker = BatchLinker(db, 0)
    holds = LegalHolds(db, store, core.audit)
    linker.on_change.append(holds.on_links_changed)
    linked_batch = add_batch(db, bay, old_linked[0].start_at, old_linked[-1].end_at)
    disputed_batch = add_batch(
        db, bay, old_disputed[0].start_at, old_disputed[-1].end_at, disputed=True, retention_days=1
    )
    linker.relink_batch(linked_batch)
    linker.relink_batch(disputed_batch)  # links of a disputed batch are held as they appear
    assert all(store.legal_hold_is_on(lock_bucket, s.object_key) for s in old_disputed)

    sweeper = RetentionSweeper(db, store, core.audit, core.settings.recording, round_size=2)
    report = sweeper.sweep(NOW)

    assert report.deleted == 5 and report.skipped_locked == 0
    assert remaining(db) == ids(old_linked + old_disputed + recent)
    assert not any(store.exists(lock_bucket, s.object_key) for s in old_unlinked)
    assert all(store.exists(lock_bucket, s.object_key) for s in old_linked + old_disputed + recent)
    events = retention_events(db)
    assert len(events) == report.rounds == 3  # 2 + 2 + 1
    assert sum(e.detail["deleted"] for e in events) == 5
    assert {e.actor for e in events} == {"system:retention"}
    assert events[0].detail["cameras"] == [cam] and events[0].detail["from"] < events[0].detail["to"]
    verification = SegmentIndex(db).verify_chain(cam)
    assert verification.ok and verification.checked == 7

    # A held object cannot be deleted even by hand.
    with pytest.raises(ObjectLocked):
        version = next(store.list(lock_bucket, prefix=old_disputed[0].object_key, include_versions=True))
        store.delete(lock_bucket, old_disputed[0].object_key, version.version_id)

    # The dispute ends: holds are released, and the batch's 1-day retention lets the footage go.
    with db.session() as s:
        s.get_one(InspectionBatch, disputed_batch).disputed = False
    holds.on_dispute(disputed_batch, False)
    assert not any(store.legal_hold_is_on(lock_bucket, s.object_key) for s in old_disputed)
    sweeper.sweep(NOW)
    assert remaining(db) == ids(old_linked + recent)
    assert SegmentIndex(db).verify_chain(cam).ok


def test_hold_kept_while_another_disputed_batch_needs_it(
    core: CoreServices, object_store: ObjectStore, lock_bucket: str
) -> None:
    db, store = core.db, object_store
    cam = add_camera(db)
    bay = add_bay(db, [cam])
    segments = record_stored(db, store, lock_bucket, cam, 40, 4)
    linker, holds = BatchLinker(db, 0), LegalHolds(db, store, core.audit)
    first = add_batch(db, bay, segments[0].start_at, segments[2].end_at, disputed=True)
    second = add_batch(db, bay, segments[2].start_at, segments[3].end_at, disputed=True)
    for batch in (first, second):
        linker.relink_batch(batch)
        holds.on_dispute(batch, True)
    with db.session() as s:
        s.get_one(InspectionBatch, first).disputed = False
    holds.on_dispute(first, False)
    held = {s.id: store.legal_hold_is_on(lock_bucket, s.object_key) for s in segments}
    assert held == {segments[0].id: False, segments[1].id: False, segments[2].id: True, segments[3].id: True}
    with db.sessions() as s:
        flags = dict(s.execute(select(Segment.id, Segment.legal_hold)).tuples().all())
    assert flags == held


def test_locked_object_is_skipped_and_its_row_kept(
    core: CoreServices, object_store: ObjectStore, lock_bucket: str
) -> None:
    db, store = core.db, object_store
    cam = add_camera(db, retention_days=7)
    segments = record_stored(db, store, lock_bucket, cam, 20, 3)
    store.set_legal_hold(lock_bucket, segments[1].object_key, True)  # held outside the VMS

    report = RetentionSweeper(db, store, core.audit, core.settings.recording).sweep(NOW)

    assert report.deleted == 2 and report.skipped_locked == 1
    assert remaining(db) == {segments[1].id}
    (event,) = retention_events(db)
    assert event.detail["deleted"] == 2 and event.detail["skipped_locked"] == 1
    assert RetentionSweeper(db, store, core.audit, core.settings.recording).sweep(NOW).deleted == 0
