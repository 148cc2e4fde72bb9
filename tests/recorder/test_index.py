"""SegmentIndex on SQLite and PostgreSQL: range queries, coverage, gaps and the per-camera hash chain."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from recorder.index import NewSegment, SegmentIndex, TimeRange
from recorder.models import ClockSource, GapReason, Segment, StreamKind
from tests.recorder.conftest import add_camera
from vms.db import Database

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def new_segment(camera_id: int, n: int, seconds: float = 10, start: datetime | None = None) -> NewSegment:
    start = start or T0 + timedelta(seconds=n * seconds)
    return NewSegment(
        camera_id=camera_id,
        stream=StreamKind.MAIN,
        start_at=start,
        end_at=start + timedelta(seconds=seconds),
        clock_source=ClockSource.RTCP,
        bucket="rec",
        object_key=f"recordings/c/{n}.mp4",
        size_bytes=1000 + n,
        sha256=f"{n:064x}",
        video_codec="h264",
        width=320,
        height=240,
    )


def test_segments_chain_query_and_coverage(any_db: Database) -> None:
    index = SegmentIndex(any_db)
    cam, other = add_camera(any_db), add_camera(any_db)
    for n in [0, 1, 2, 4, 5]:  # a hole where segment 3 would be
        index.insert_segment(new_segment(cam.id, n))
    index.insert_segment(new_segment(other.id, 0))
    again = index.insert_segment(new_segment(cam.id, 5))  # a retried upload: no second row
    assert again.seq == 5
    assert index.segment_count(cam.id) == 5

    found = index.segments(cam.id, T0 + timedelta(seconds=15), T0 + timedelta(seconds=45))
    assert [s.start_at for s in found] == [T0 + timedelta(seconds=s) for s in (10, 20, 40)]
    assert [s.seq for s in found] == [2, 3, 4]
    assert index.coverage(cam.id, T0, T0 + timedelta(minutes=5)) == [
        TimeRange(T0, T0 + timedelta(seconds=30)),
        TimeRange(T0 + timedelta(seconds=40), T0 + timedelta(seconds=60)),
    ]
    assert index.verify_chain(cam.id).ok
    assert index.verify_chain(cam.id).checked == 5


def test_chain_verification_finds_the_altered_segment(any_db: Database) -> None:
    index = SegmentIndex(any_db)
    cam = add_camera(any_db)
    rows = [index.insert_segment(new_segment(cam.id, n)) for n in range(6)]
    with any_db.session() as s:
        s.execute(update(Segment).where(Segment.id == rows[3].id).values(end_at=T0 + timedelta(seconds=99)))
    result = index.verify_chain(cam.id)
    assert not result.ok
    assert result.first_broken_id == rows[3].id
    assert "altered" in result.problem

    # Re-hashing the altered row itself still breaks the link to the next one.
    with any_db.session() as s:
        row = s.get(Segment, rows[3].id)
        assert row is not None
        from recorder.index import chain_hash

        row.chain_hash = chain_hash(row.prev_chain_hash, row)
    result = index.verify_chain(cam.id)
    assert result.first_broken_id == rows[4].id


def test_concurrent_inserts_keep_one_chain(any_db: Database) -> None:
    cam = add_camera(any_db)
    indexes = [SegmentIndex(any_db), SegmentIndex(any_db)]  # like two processes: no shared lock

    def insert(i: int) -> None:
        for n in range(i, 40, 2):
            indexes[i].insert_segment(new_segment(cam.id, n))

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert indexes[0].segment_count(cam.id) == 40
    assert indexes[0].verify_chain(cam.id).ok


def test_gaps_open_close_and_query(any_db: Database) -> None:
    index = SegmentIndex(any_db)
    cam = add_camera(any_db)
    index.record_gap(cam.id, StreamKind.MAIN, T0, T0 + timedelta(seconds=5), GapReason.SPOOL_OVERFLOW)
    index.open_gap(cam.id, StreamKind.MAIN, T0 + timedelta(minutes=1), GapReason.CAMERA_OFFLINE, "lost")
    open_now = index.gaps(cam.id, T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert [(g.reason, g.end_at) for g in open_now] == [(GapReason.CAMERA_OFFLINE, None)]

    assert index.close_open_gaps(cam.id, StreamKind.MAIN, T0 + timedelta(minutes=3)) == 1
    gaps = index.gaps(cam.id, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert [(g.reason, g.start_at, g.end_at) for g in gaps] == [
        (GapReason.SPOOL_OVERFLOW, T0, T0 + timedelta(seconds=5)),
        (GapReason.CAMERA_OFFLINE, T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)),
    ]
    assert index.gaps(cam.id, T0 + timedelta(hours=1), T0 + timedelta(hours=2)) == []
