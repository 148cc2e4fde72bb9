"""End to end with a real (simulated) RTSP camera, the real ingest source and the real SeaweedFS."""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from ingest.backoff import BackoffPolicy
from ingest.hub import StreamHub
from ingest.source import CameraSource, SourceTimeouts
from ingest.subscription import DeliveryMode
from recorder.models import GapReason, Segment, StreamKind
from recorder.segment_writer import SegmentWriter
from recorder.service import Recorder, RecorderHooks
from recorder.spool import Spool
from tests.recorder.conftest import CameraRow
from tests.recorder.test_segment_writer import EventLog, ffprobe, first_video_packet_flags
from tests.recorder.test_uploader import wait_for
from vms.config import RecordingConfig
from vms.db import Database
from vms.demo.simcam import CameraSpec
from vms.storage import ObjectStore


@pytest.mark.slow
def test_camera_recorded_through_an_outage(
    tmp_path: Path,
    sqlite_db: Database,
    camera: CameraRow,
    object_store: ObjectStore,
    bucket: str,
    camera_factory,
) -> None:
    cam = camera_factory(CameraSpec(width=320, height=240, fps=25, keyframe_interval=25, audio="aac"))
    uploaded: list[Segment] = []
    recorder = Recorder(
        db=sqlite_db,
        store=object_store,
        bucket=bucket,
        spool_dir=tmp_path / "spool",
        config=RecordingConfig(segment_seconds=5),
        hooks=RecorderHooks(segment_uploaded=lambda s, _l: uploaded.append(s)),
    )
    recorder.start()
    hub = StreamHub(camera.code)
    source = CameraSource(
        camera.code,
        cam.url(),
        hub,
        timeouts=SourceTimeouts(open_s=3, read_s=3),
        backoff=BackoffPolicy(initial_s=0.5, max_s=2.0),
    )
    recorder.add_camera(camera.id, camera.code, hub)
    source.start()
    try:
        wait_for(lambda: len(uploaded) >= 4, timeout=90)
        cam.stop()
        time.sleep(20)
        cam.start()
        before = len(uploaded)
        wait_for(lambda: len(uploaded) >= before + 3, timeout=90)
    finally:
        source.stop()
        recorder.stop(drain_timeout=30)

    index = recorder.index
    first, last = uploaded[0].start_at, max(s.end_at for s in uploaded)
    segments = index.segments(camera.id, first - timedelta(minutes=5), last + timedelta(minutes=5))
    assert len(segments) >= 7
    assert index.verify_chain(camera.id).ok

    for segment in segments:
        local = tmp_path / "probe.mp4"
        local.write_bytes(object_store.get_bytes(bucket, segment.object_key))
        probe = ffprobe(local)
        codecs = sorted(s["codec_name"] for s in probe["streams"])
        assert codecs == ["aac", "h264"]
        assert first_video_packet_flags(probe).startswith("K")
        assert segment.starts_with_keyframe and segment.audio_codec == "aac"
        assert segment.duration_s > 0

    offline = [g for g in index.gaps(camera.id, first, last) if g.reason is GapReason.CAMERA_OFFLINE]
    assert len(offline) == 1
    gap = offline[0]
    assert gap.end_at is not None and (gap.end_at - gap.start_at).total_seconds() >= 15
    coverage = index.coverage(camera.id, first, last)
    assert len(coverage) == 2, coverage
    assert coverage[0].end == gap.start_at
    assert coverage[1].start == gap.end_at

    with sqlite_db.session() as s:
        s.execute(
            update(Segment).where(Segment.id == segments[2].id).values(size_bytes=segments[2].size_bytes + 1)
        )
    broken = index.verify_chain(camera.id)
    assert broken.first_broken_id == segments[2].id


def test_g711_audio_is_kept_in_quicktime_segments(tmp_path: Path, camera_factory) -> None:
    cam = camera_factory(CameraSpec(audio="pcma"))
    events = record_segments(cam.url(), "g711", tmp_path / "spool")
    for segment in events.segments:
        assert segment.media_path.suffix == ".mov"
        probe = ffprobe(segment.media_path)
        assert sorted(s["codec_name"] for s in probe["streams"]) == ["h264", "pcm_alaw"]
        assert first_video_packet_flags(probe).startswith("K")


def record_segments(
    camera_url: str, name: str, spool_dir: Path, count: int = 2, timeout: float = 40
) -> EventLog:
    """Record a real camera with a SegmentWriter (2 s segments) until ``count`` segments are finished."""
    hub = StreamHub(name)
    subscription = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    source = CameraSource(name, camera_url, hub)
    events = EventLog()
    writer = SegmentWriter(
        camera_id=1,
        camera_code=name,
        stream=StreamKind.MAIN,
        spool=Spool(spool_dir, 1 << 30),
        events=events,
        segment_seconds=2,
    )
    source.start()
    try:
        deadline = time.monotonic() + timeout
        while len(events.segments) < count and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                writer.handle(subscription.get(timeout=0.5))
    finally:
        source.stop()
    writer.close()
    assert len(events.segments) >= count, source.status()
    return events
