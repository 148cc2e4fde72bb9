"""Batch linking: footage follows batches as they are created, moved, and as bays change cameras."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from recorder.index import NewSegment, SegmentIndex
from recorder.linking import BatchLinker
from recorder.models import ClockSource, Segment, SegmentBatchLink, StreamKind
from vms.context import CoreServices
from vms.db import Database
from vms.db.models import Bay, Camera, InspectionBatch, Site

T0 = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
MARGIN = 300.0


def add_camera(db: Database, code: str | None = None, retention_days: int | None = None) -> int:
    with db.session() as s:
        camera = Camera(
            code=code or f"cam-{uuid.uuid4().hex[:6]}",
            main_url="rtsp://127.0.0.1:1/c",
            retention_days=retention_days,
        )
        s.add(camera)
        s.flush()
        return camera.id


def add_bay(db: Database, camera_ids: list[int]) -> int:
    with db.session() as s:
        site = Site(code=f"site-{uuid.uuid4().hex[:6]}")
        bay = Bay(code="B1", site=site)
        bay.cameras = [s.get_one(Camera, c) for c in camera_ids]
        s.add_all([site, bay])
        s.flush()
        return bay.id


def set_bay_cameras(db: Database, bay_id: int, camera_ids: list[int]) -> None:
    with db.session() as s:
        s.get_one(Bay, bay_id).cameras = [s.get_one(Camera, c) for c in camera_ids]


def add_batch(
    db: Database,
    bay_id: int,
    start: datetime,
    end: datetime,
    *,
    disputed: bool = False,
    retention_days: int | None = None,
) -> int:
    with db.session() as s:
        batch = InspectionBatch(
            number=f"B-{uuid.uuid4().hex[:8]}",
            bay_id=bay_id,
            planned_start=start,
            planned_end=end,
            disputed=disputed,
            retention_days=retention_days,
        )
        s.add(batch)
        s.flush()
        return batch.id


def record(
    db: Database,
    camera_id: int,
    start: datetime,
    count: int,
    seconds: float = 60.0,
    bucket: str = "rec",
    keys: list[str] | None = None,
    sizes: list[int] | None = None,
    hashes: list[str] | None = None,
) -> list[Segment]:
    """Index ``count`` back-to-back segments (objects need not exist unless the test reads them)."""
    index = SegmentIndex(db)
    out = []
    for n in range(count):
        seg_start = start + timedelta(seconds=n * seconds)
        out.append(
            index.insert_segment(
                NewSegment(
                    camera_id=camera_id,
                    stream=StreamKind.MAIN,
                    start_at=seg_start,
                    end_at=seg_start + timedelta(seconds=seconds),
                    clock_source=ClockSource.RTCP,
                    bucket=bucket,
                    object_key=keys[n] if keys else f"{camera_id}/{seg_start.isoformat()}.mp4",
                    size_bytes=sizes[n] if sizes else 1000,
                    sha256=hashes[n] if hashes else "0" * 64,
                    video_codec="h264",
                    width=320,
                    height=240,
                )
            )
        )
    return out


def linked_ids(db: Database, batch_id: int) -> set[int]:
    with db.sessions() as s:
        return set(
            s.scalars(select(SegmentBatchLink.segment_id).where(SegmentBatchLink.batch_id == batch_id))
        )


def ids(segments: list[Segment]) -> set[int]:
    return {s.id for s in segments}


def test_new_segments_link_to_batches_whose_widened_window_they_overlap(core: CoreServices) -> None:
    db = core.db
    cam, other_cam = add_camera(db), add_camera(db)
    bay = add_bay(db, [cam])
    batch = add_batch(db, bay, T0 + timedelta(minutes=20), T0 + timedelta(minutes=30))
    linker = BatchLinker(db, MARGIN)

    segments = record(db, cam, T0, 60)  # one-minute segments over an hour
    elsewhere = record(db, other_cam, T0, 60)
    for seg in segments + elsewhere:
        linker.link_segment(seg)

    # window 00:20-00:30 widened by 5 min: 00:15-00:35 -> minutes 15..34
    assert linked_ids(db, batch) == ids(segments[15:35])
    assert linker.is_linked(cam, T0 + timedelta(minutes=34), T0 + timedelta(minutes=35))
    assert not linker.is_linked(cam, T0 + timedelta(minutes=36), T0 + timedelta(minutes=37))
    assert not linker.is_linked(other_cam, T0 + timedelta(minutes=25), T0 + timedelta(minutes=26))


def test_batch_created_after_its_footage_and_then_moved(core: CoreServices) -> None:
    db = core.db
    cam = add_camera(db)
    bay = add_bay(db, [cam])
    segments = record(db, cam, T0, 60)
    linker = BatchLinker(db, 0)

    batch = add_batch(db, bay, T0 + timedelta(minutes=10), T0 + timedelta(minutes=12))
    change = linker.relink_batch(batch)
    assert set(change.added) == ids(segments[10:12]) and change.removed == []
    assert linked_ids(db, batch) == ids(segments[10:12])

    with db.session() as s:  # the inspection actually happened later
        row = s.get_one(InspectionBatch, batch)
        row.actual_start, row.actual_end = T0 + timedelta(minutes=40), T0 + timedelta(minutes=43)
    change = linker.relink_batch(batch)
    assert set(change.removed) == ids(segments[10:12])
    assert linked_ids(db, batch) == ids(segments[40:43])


def test_bay_coverage_change_moves_links(core: CoreServices) -> None:
    db = core.db
    cam_a, cam_b = add_camera(db), add_camera(db)
    bay = add_bay(db, [cam_a])
    seg_a, seg_b = record(db, cam_a, T0, 10), record(db, cam_b, T0, 10)
    batch = add_batch(db, bay, T0 + timedelta(minutes=2), T0 + timedelta(minutes=4))
    linker = BatchLinker(db, 0)
    linker.relink_batch(batch)
    assert linked_ids(db, batch) == ids(seg_a[2:4])

    set_bay_cameras(db, bay, [cam_b])
    linker.relink_bay(bay)
    assert linked_ids(db, batch) == ids(seg_b[2:4])
    assert linker.is_linked(cam_b, T0 + timedelta(minutes=3), T0 + timedelta(minutes=3, seconds=10))
    assert not linker.is_linked(cam_a, T0 + timedelta(minutes=3), T0 + timedelta(minutes=3, seconds=10))


def test_open_batch_links_new_footage_until_it_ends(core: CoreServices) -> None:
    db = core.db
    cam = add_camera(db)
    bay = add_bay(db, [cam])
    with db.session() as s:
        batch = InspectionBatch(number="OPEN-1", bay_id=bay, actual_start=T0 + timedelta(minutes=5))
        s.add(batch)
        s.flush()
        batch_id = batch.id
    linker = BatchLinker(db, 0)
    for seg in record(db, cam, T0, 10):
        linker.link_segment(seg)
    assert len(linked_ids(db, batch_id)) == 5
    assert linker.is_linked(cam, T0 + timedelta(days=1), T0 + timedelta(days=1, minutes=1))


def test_yard_hooks_relink_a_batch_after_it_changes(core: CoreServices) -> None:
    from recorder.holds import LegalHolds, install_hooks
    from vms.yard.hooks import BATCH_CHANGED, call_hooks

    cam = add_camera(core.db)
    bay = add_bay(core.db, [cam])
    segments = record(core.db, cam, T0, 10)
    install_hooks(core.providers, BatchLinker(core.db, 0), LegalHolds(core.db, None, core.audit))
    batch = add_batch(core.db, bay, T0 + timedelta(minutes=1), T0 + timedelta(minutes=3))

    call_hooks(core.providers, BATCH_CHANGED, batch)  # what the batch API does after its commit

    assert linked_ids(core.db, batch) == ids(segments[1:3])
