"""A full spool evicts the oldest footage not linked to a batch first, and reports each eviction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from recorder.models import ClockSource, StreamKind
from recorder.segment_files import SegmentHeader, SpooledSegment
from recorder.spool import Spool

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def spooled(spool: Spool, n: int, camera_id: int = 1, size: int = 1000) -> SpooledSegment:
    header = SegmentHeader(
        uid=f"{camera_id}-{n:04d}",
        camera_id=camera_id,
        camera_code=f"cam{camera_id}",
        stream=StreamKind.MAIN,
        start_at=T0 + timedelta(seconds=10 * n),
        clock_source=ClockSource.ARRIVAL,
        container="mp4",
        video_codec="h264",
        width=320,
        height=240,
        audio_codec=None,
    )
    media = spool.begin(header)
    media.write_bytes(b"x" * size)
    segment = SpooledSegment(header, header.start_at + timedelta(seconds=10), size, "0" * 64, False, media)
    spool.commit(segment)
    return segment


def test_full_spool_evicts_oldest_unlinked_first(tmp_path: Path) -> None:
    linked_window = (T0, T0 + timedelta(seconds=30))  # segments 0-2 belong to a batch
    evicted: list[SpooledSegment] = []
    spool = Spool(
        tmp_path,
        max_bytes=5000,
        is_linked=lambda cam, start, end: start < linked_window[1] and end > linked_window[0],
        on_evict=evicted.append,
    )
    segments = [spooled(spool, n) for n in range(5)]
    assert evicted == []
    spooled(spool, 5)
    spooled(spool, 6)
    assert [s.uid for s in evicted] == [segments[3].uid, segments[4].uid]
    assert not segments[3].media_path.exists() and not segments[3].sidecar_path.exists()
    assert spool.used_bytes == 5000
    spooled(spool, 7)
    assert [s.uid for s in evicted[2:]] == ["1-0005"]
    # When unlinked footage is not enough, the oldest linked footage goes too.
    spool.max_bytes = 2000
    spooled(spool, 8)
    assert [s.uid for s in evicted[3:]] == ["1-0006", "1-0007", "1-0008", segments[0].uid]
    assert {s.uid for s in spool.pending()} == {segments[1].uid, segments[2].uid}


def test_claims_keep_each_cameras_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 30)
    a0, b0, a1 = (
        spooled(spool, 0, camera_id=1),
        spooled(spool, 1, camera_id=2),
        spooled(spool, 2, camera_id=1),
    )
    first = spool.claim_next()
    second = spool.claim_next()
    assert (first, second) == (a0, b0)
    assert spool.claim_next() is None  # a1 waits for a0
    spool.release(a0)
    assert spool.claim_next() == a0
    spool.remove(a0)
    assert spool.claim_next() == a1
    scan = Spool(tmp_path, max_bytes=1 << 30).scan()
    assert [s.uid for s in scan.finished] == [b0.uid, a1.uid]
