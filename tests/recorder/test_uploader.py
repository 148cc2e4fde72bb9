"""Recorder -> spool -> SeaweedFS -> index, with the synthetic camera; and a storage outage loses nothing."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from ingest.hub import StreamHub
from recorder.models import Segment
from recorder.service import Recorder, RecorderHooks
from tests.recorder.conftest import CameraRow
from tests.recorder.synthetic import SyntheticFeed, encoded_video
from tests.recorder.test_segment_writer import ffprobe, first_video_packet_flags
from vms.config import RecordingConfig
from vms.db import Database
from vms.storage import EmbeddedSeaweed, ObjectStore, StorageUnavailable

WALL_START = 1_780_000_000.0


def make_recorder(
    tmp_path: Path, db: Database, store: ObjectStore, bucket: str, hooks: RecorderHooks
) -> Recorder:
    recorder = Recorder(
        db=db,
        store=store,
        bucket=bucket,
        spool_dir=tmp_path / "spool",
        config=RecordingConfig(segment_seconds=5),
        hooks=hooks,
    )
    recorder.uploader._max_backoff = 1.0  # keep the test short after the outage
    return recorder


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_recorded_segments_land_in_storage_and_index(
    tmp_path: Path, sqlite_db: Database, camera: CameraRow, object_store: ObjectStore, bucket: str
) -> None:
    uploaded: list[tuple[Segment, float]] = []
    recorder = make_recorder(
        tmp_path,
        sqlite_db,
        object_store,
        bucket,
        RecorderHooks(segment_uploaded=lambda seg, latency: uploaded.append((seg, latency))),
    )
    recorder.start()
    hub = StreamHub(camera.code)
    recorder.add_camera(camera.id, camera.code, hub)
    feed = SyntheticFeed(hub, encoded_video(), WALL_START)
    feed.connect()
    feed.play(17)
    wait_for(lambda: len(uploaded) == 3)
    recorder.stop(drain_timeout=30)
    assert recorder.spool.pending() == []

    index = recorder.index
    start = uploaded[0][0].start_at
    segments = index.segments(camera.id, start - timedelta(hours=1), start + timedelta(hours=1))
    assert [round(s.duration_s, 2) for s in segments] == [5.0, 5.0, 5.0, 2.0]
    coverage = index.coverage(camera.id, start - timedelta(hours=1), start + timedelta(hours=1))
    assert len(coverage) == 1 and round(coverage[0].seconds, 3) == 17.0
    assert index.verify_chain(camera.id).ok
    first = segments[0]
    assert first.object_key.startswith(
        f"recordings/{camera.code}/main/2026/05/28/20/20260528T202640.000000Z_"
    )
    body = object_store.get_bytes(bucket, first.object_key)
    assert len(body) == first.size_bytes
    local = tmp_path / "downloaded.mp4"
    local.write_bytes(body)
    probe = ffprobe(local)
    assert first_video_packet_flags(probe).startswith("K")
    assert (first.video_codec, first.width, first.height) == ("h264", 320, 240)
    # A clean stop leaves a recorder_stopped gap open from the last segment's end.
    gaps = index.gaps(camera.id, segments[-1].end_at, segments[-1].end_at + timedelta(hours=1))
    assert [(g.reason.value, g.start_at, g.end_at) for g in gaps] == [
        ("recorder_stopped", segments[-1].end_at, None)
    ]


def test_storage_outage_keeps_segments_in_spool_until_storage_returns(
    tmp_path: Path,
    sqlite_db: Database,
    camera: CameraRow,
    object_store: ObjectStore,
    bucket: str,
    seaweed_restartable: EmbeddedSeaweed,
) -> None:
    errors: list[Exception] = []
    uploaded: list[Segment] = []
    recorder = make_recorder(
        tmp_path,
        sqlite_db,
        object_store,
        bucket,
        RecorderHooks(storage_error=errors.append, segment_uploaded=lambda s, _l: uploaded.append(s)),
    )
    recorder.start()
    hub = StreamHub(camera.code)
    recorder.add_camera(camera.id, camera.code, hub)
    feed = SyntheticFeed(hub, encoded_video(), WALL_START)
    feed.connect()

    seaweed_restartable.stop()
    feed.play(21)
    wait_for(lambda: len(recorder.spool.pending()) == 4)
    wait_for(lambda: len(errors) >= 2)
    assert all(isinstance(e, StorageUnavailable) for e in errors)
    assert recorder.index.segment_count(camera.id) == 0

    seaweed_restartable.start()
    wait_for(lambda: len(uploaded) == 4)
    recorder.stop(drain_timeout=30)
    segments = recorder.index.segments(
        camera.id, uploaded[0].start_at, uploaded[0].start_at + timedelta(hours=1)
    )
    assert len(segments) == 5  # the 4 from the outage and the one flushed at stop
    assert recorder.spool.pending() == []
    assert recorder.index.verify_chain(camera.id).ok
    assert len(recorder.index.coverage(camera.id, segments[0].start_at, segments[-1].end_at)) == 1
    for segment in segments:
        assert object_store.stat(bucket, segment.object_key).size == segment.size_bytes
