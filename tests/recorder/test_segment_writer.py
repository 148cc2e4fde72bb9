"""The writer cuts a camera stream into keyframe-aligned, cleanly readable segments with contiguous times."""

from __future__ import annotations

import itertools
import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from ingest.hub import StreamHub
from ingest.subscription import DeliveryMode, Subscription
from recorder.models import GapReason, StreamKind
from recorder.segment_files import SpooledSegment, sha256_of
from recorder.segment_writer import SegmentWriter
from recorder.spool import Spool
from tests.recorder.synthetic import SyntheticFeed, encoded_video

WALL_START = 1_780_000_000.0


class EventLog:
    def __init__(self) -> None:
        self.segments: list[SpooledSegment] = []
        self.interruptions: list[tuple[datetime, GapReason]] = []
        self.resumptions: list[datetime] = []

    def segment_finished(self, segment: SpooledSegment) -> None:
        self.segments.append(segment)

    def recording_interrupted(self, at: datetime, reason: GapReason, detail: str) -> None:
        self.interruptions.append((at, reason))

    def recording_resumed(self, at: datetime) -> None:
        self.resumptions.append(at)


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_format",
            "-show_streams",
            "-show_entries",
            "packet=stream_index,pts_time,flags",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stderr == "", out.stderr
    return json.loads(out.stdout)


def first_video_packet_flags(probe: dict) -> str:
    video = next(s["index"] for s in probe["streams"] if s["codec_type"] == "video")
    return next(p["flags"] for p in probe["packets"] if p["stream_index"] == video)


@pytest.fixture
def rig(tmp_path: Path) -> tuple[StreamHub, Subscription, SegmentWriter, EventLog, Spool]:
    hub = StreamHub("cam")
    sub = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    spool = Spool(tmp_path / "spool", 1 << 30)
    events = EventLog()
    writer = SegmentWriter(
        camera_id=1, camera_code="cam1", stream=StreamKind.MAIN, spool=spool, events=events, segment_seconds=5
    )
    return hub, sub, writer, events, spool


def pump(sub: Subscription, writer: SegmentWriter) -> None:
    while True:
        try:
            writer.handle(sub.get(timeout=0))
        except TimeoutError:
            return


def test_segments_are_keyframe_aligned_readable_and_contiguous(rig) -> None:
    hub, sub, writer, events, spool = rig
    feed = SyntheticFeed(hub, encoded_video(), WALL_START)
    feed.connect()
    feed.play(23)
    pump(sub, writer)
    writer.close()

    segments = events.segments
    assert [round(s.duration_s, 2) for s in segments] == [5.0, 5.0, 5.0, 5.0, 3.0]
    assert segments[0].start_at.timestamp() == pytest.approx(WALL_START)
    for previous, following in itertools.pairwise(segments):
        assert following.start_at == previous.end_at
    for segment in segments:
        probe = ffprobe(segment.media_path)
        assert probe["streams"][0]["codec_name"] == "h264"
        assert (probe["streams"][0]["width"], probe["streams"][0]["height"]) == (320, 240)
        assert float(probe["format"]["start_time"]) == pytest.approx(0, abs=0.05)
        assert float(probe["format"]["duration"]) == pytest.approx(segment.duration_s, abs=0.05)
        assert first_video_packet_flags(probe).startswith("K")
        assert segment.sha256 == sha256_of(segment.media_path)
        assert segment.sidecar_path.exists()
    assert [s.uid for s in spool.pending()] == [s.uid for s in segments]
    assert events.resumptions == [segments[0].start_at]
    assert events.interruptions == [(segments[-1].end_at, GapReason.RECORDER_STOPPED)]


def test_camera_loss_and_timestamp_jump_cut_segments_and_report_gaps(rig) -> None:
    hub, sub, writer, events, _ = rig
    feed = SyntheticFeed(hub, encoded_video(), WALL_START)
    feed.connect()
    feed.play(7)
    feed.disconnect(offline_seconds=20)
    feed.connect()
    feed.play(6)
    feed.wall += 30  # the camera's clock and timestamps jump in the same connection
    feed.pts += 30 * 90000
    feed.play(4, discontinuity_first=True)
    pump(sub, writer)
    writer.close()

    reasons = [reason for _, reason in events.interruptions]
    assert reasons == [GapReason.CAMERA_OFFLINE, GapReason.TIMESTAMP_JUMP, GapReason.RECORDER_STOPPED]
    offline_at = events.interruptions[0][0]
    assert offline_at.timestamp() == pytest.approx(WALL_START + 7, abs=0.05)
    # resumed after 20 s offline, then after the jump
    assert [r.timestamp() - WALL_START for r in events.resumptions] == pytest.approx([0, 27, 63], abs=0.05)
    for segment in events.segments:
        assert first_video_packet_flags(ffprobe(segment.media_path)).startswith("K")
