"""Object storage down for 30 s while a live camera records: nothing is lost, the spool drains afterwards."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from ingest.hub import StreamHub
from ingest.source import CameraSource
from recorder.models import Segment
from recorder.service import Recorder, RecorderHooks
from tests.recorder.conftest import CameraRow
from tests.recorder.test_uploader import wait_for
from vms.config import RecordingConfig
from vms.db import Database
from vms.storage import EmbeddedSeaweed, ObjectStore, StorageUnavailable


@pytest.mark.slow
def test_thirty_seconds_without_storage_loses_no_segment(
    tmp_path: Path,
    sqlite_db: Database,
    camera: CameraRow,
    object_store: ObjectStore,
    bucket: str,
    seaweed_restartable: EmbeddedSeaweed,
    simulated_camera,
) -> None:
    uploaded: list[Segment] = []
    errors: list[Exception] = []
    recorder = Recorder(
        db=sqlite_db,
        store=object_store,
        bucket=bucket,
        spool_dir=tmp_path / "spool",
        config=RecordingConfig(segment_seconds=5),
        hooks=RecorderHooks(segment_uploaded=lambda s, _l: uploaded.append(s), storage_error=errors.append),
    )
    recorder.start()
    hub = StreamHub(camera.code)
    source = CameraSource(camera.code, simulated_camera.url(), hub)
    recorder.add_camera(camera.id, camera.code, hub)
    source.start()
    try:
        wait_for(lambda: len(uploaded) >= 1, timeout=60)
        seaweed_restartable.stop()
        time.sleep(30)
        waiting = len(recorder.spool.pending())
        assert waiting >= 5, "30 s of 5 s segments should be waiting in the spool"
        assert errors and all(isinstance(e, StorageUnavailable) for e in errors)
        seaweed_restartable.start()
        wait_for(lambda: not recorder.spool.pending() and len(uploaded) >= waiting + 2, timeout=90)
    finally:
        source.stop()
        recorder.stop(drain_timeout=30)

    first, last = uploaded[0].start_at, max(s.end_at for s in uploaded)
    assert (last - first).total_seconds() >= 35
    coverage = recorder.index.coverage(camera.id, first, last)
    assert [(r.start, r.end) for r in coverage] == [(first, last)], "a hole means footage was lost"
    segments = recorder.index.segments(camera.id, first - timedelta(seconds=1), last + timedelta(seconds=1))
    assert [s.seq for s in segments] == list(range(segments[0].seq, segments[0].seq + len(segments)))
    assert recorder.index.verify_chain(camera.id).ok
    for segment in segments:
        assert object_store.stat(bucket, segment.object_key).size == segment.size_bytes
