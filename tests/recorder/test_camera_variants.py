"""What real cameras send differently is still recorded playably: SPS/PPS only in the SDP, High profile with
B-frames, H.265. And a camera recorded for a minute is covered by consecutive segments with no hole."""

from __future__ import annotations

import itertools
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from ingest.hub import StreamHub
from ingest.source import CameraSource
from recorder.models import Segment
from recorder.service import Recorder, RecorderHooks
from tests.recorder.conftest import CameraRow
from tests.recorder.test_rtsp_recording import record_segments
from tests.recorder.test_segment_writer import ffprobe, first_video_packet_flags
from tests.recorder.test_uploader import wait_for
from vms.config import RecordingConfig
from vms.db import Database
from vms.demo.simcam import CameraSpec
from vms.storage import ObjectStore

VARIANTS = {
    "sps-pps-only-in-sdp": (CameraSpec(sps_pps_in_band=False), "h264"),
    "high-profile-b-frames": (CameraSpec(profile="high", b_frames=2), "h264"),
    "h265": (CameraSpec(codec="h265"), "hevc"),
}


def decodes_cleanly(path: Path) -> str:
    """What ffmpeg complains about when it decodes the whole file (empty: it plays)."""
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stderr.strip() if result.returncode == 0 else f"exit {result.returncode}: {result.stderr}"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_camera_variant_is_recorded_playably(tmp_path: Path, camera_factory, variant: str) -> None:
    spec, codec = VARIANTS[variant]
    cam = camera_factory(spec)
    events = record_segments(cam.url(), variant, tmp_path / "spool")
    for segment in events.segments:
        probe = ffprobe(segment.media_path)
        video = [s for s in probe["streams"] if s["codec_type"] == "video"]
        assert [s["codec_name"] for s in video] == [codec]
        assert first_video_packet_flags(probe).startswith("K")
        assert decodes_cleanly(segment.media_path) == ""
        if variant == "high-profile-b-frames":
            assert video[0]["profile"] == "High" and int(video[0]["has_b_frames"]) > 0


@pytest.mark.slow
def test_a_minute_of_recording_has_no_hole_and_a_verified_chain(
    tmp_path: Path,
    sqlite_db: Database,
    camera: CameraRow,
    object_store: ObjectStore,
    bucket: str,
    camera_factory,
) -> None:
    cam = camera_factory(CameraSpec(keyframe_interval=25))
    uploaded: list[Segment] = []
    recorder = Recorder(
        db=sqlite_db,
        store=object_store,
        bucket=bucket,
        spool_dir=tmp_path / "spool",
        config=RecordingConfig(segment_seconds=10),
        hooks=RecorderHooks(segment_uploaded=lambda s, _l: uploaded.append(s)),
    )
    recorder.start()
    hub = StreamHub(camera.code)
    source = CameraSource(camera.code, cam.url(), hub)
    recorder.add_camera(camera.id, camera.code, hub)
    source.start()
    try:
        wait_for(
            lambda: (
                bool(uploaded)
                and (max(s.end_at for s in uploaded) - uploaded[0].start_at).total_seconds() >= 60
            ),
            timeout=120,
        )
    finally:
        source.stop()
        recorder.stop(drain_timeout=30)

    first, last = uploaded[0].start_at, max(s.end_at for s in uploaded)
    assert (last - first).total_seconds() >= 60
    coverage = recorder.index.coverage(camera.id, first, last)
    assert len(coverage) == 1 and coverage[0].start == first and coverage[0].end == last
    segments = recorder.index.segments(camera.id, first - timedelta(seconds=1), last + timedelta(seconds=1))
    for before, after in itertools.pairwise(segments):
        assert after.seq == before.seq + 1
        assert after.start_at <= before.end_at, f"hole between segment {before.seq} and {after.seq}"
    assert recorder.index.verify_chain(camera.id).ok
    for segment in segments:
        local = tmp_path / f"{segment.seq}.mp4"
        local.write_bytes(object_store.get_bytes(bucket, segment.object_key))
        assert first_video_packet_flags(ffprobe(local)).startswith("K")
        assert decodes_cleanly(local) == ""
