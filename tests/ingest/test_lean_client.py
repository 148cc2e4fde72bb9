"""The lean RTSP client (ingest.rtsp) as cameras meet it: one reader thread, FFmpeg for what it declines."""

import os
import signal
import threading
from pathlib import Path

from ingest.hub import StreamHub
from ingest.packet import MediaKind, MediaPacket
from ingest.rtsp.reactor import RtspReactor
from ingest.status import SourceState, StatusReason
from ingest.subscription import DeliveryMode
from tests.fixtures.cameras import CameraFactory
from tests.ingest.helpers import collect, ffprobe_streams, remux_to_mp4, wait_for_status
from tests.ingest.test_source import make_source


def test_cameras_share_one_reader_thread(camera_factory: CameraFactory) -> None:
    reactor = RtspReactor(name="test-reader")
    cameras = [camera_factory() for _ in range(3)]
    hubs = [StreamHub(f"cam{n}") for n in range(3)]
    sources = [make_source(c.url(), h, reactor=reactor) for c, h in zip(cameras, hubs, strict=True)]
    for source in sources:
        source.start()
    try:
        statuses = [
            wait_for_status(s, lambda st: st.state is SourceState.ONLINE and st.fps > 20) for s in sources
        ]
        readers = [t for t in threading.enumerate() if t.name == "test-reader"]
        assert len(readers) == 1 and reactor.connection_count == 3
        assert all(status.reader == "lean" for status in statuses)
    finally:
        for source in sources:
            source.stop()
    assert reactor.connection_count == 0


def test_b_frames_go_to_ffmpeg_before_anything_is_published(
    camera_factory: CameraFactory, tmp_path: Path
) -> None:
    camera = camera_factory(profile="high", b_frames=2)
    hub = StreamHub("bframes")
    recorder = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    source = make_source(camera.url(), hub)
    source.start()
    try:
        items = collect(recorder, seconds_of_video=2.0)
        status = wait_for_status(source, lambda s: s.state is SourceState.ONLINE)
    finally:
        source.stop()
    assert status.reader == "ffmpeg"
    packets = [i for i in items if isinstance(i, MediaPacket) and i.kind is MediaKind.VIDEO]
    assert {p.epoch for p in packets} == {1}  # the lean client published nothing of its own
    assert any(p.pts != p.dts for p in packets)  # real B-frames, reordered by FFmpeg
    mp4 = tmp_path / "bframes.mp4"
    remux_to_mp4(items, mp4)
    streams, errors = ffprobe_streams(mp4)
    assert errors == "" and streams[0]["codec_name"] == "h264"


def test_ffmpeg_client_when_configured(camera_factory: CameraFactory, tmp_path: Path) -> None:
    camera = camera_factory(audio="aac")
    hub = StreamHub("ffmpeg")
    recorder = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    source = make_source(camera.url(), hub, use_lean_client=False)
    source.start()
    try:
        items = collect(recorder, seconds_of_video=1.5)
        status = wait_for_status(source, lambda s: s.state is SourceState.ONLINE)
    finally:
        source.stop()
    assert status.reader == "ffmpeg" and status.audio_codec == "aac"
    mp4 = tmp_path / "ffmpeg.mp4"
    remux_to_mp4(items, mp4)
    streams, errors = ffprobe_streams(mp4)
    assert errors == "" and [s["codec_name"] for s in streams] == ["h264", "aac"]


def test_digest_credentials_with_the_lean_client(camera_factory: CameraFactory) -> None:
    camera = camera_factory(username="op@yard", password="p@ss:w/rd", auth="digest")
    hub = StreamHub("digest")
    source = make_source(camera.url(), hub, username="op@yard", password="p@ss:w/rd")
    source.start()
    try:
        status = wait_for_status(source, lambda s: s.state is SourceState.ONLINE)
    finally:
        source.stop()
    assert status.reader == "lean" and "p@ss" not in status.url


def test_a_silent_camera_times_out_and_comes_back(camera_factory: CameraFactory) -> None:
    camera = camera_factory()
    hub = StreamHub("silent")
    source = make_source(camera.url(), hub)
    source.start()
    try:
        wait_for_status(source, lambda s: s.state is SourceState.ONLINE)
        assert camera.pid is not None
        os.kill(camera.pid, signal.SIGSTOP)  # connected, but nothing comes: a hung camera
        status = wait_for_status(source, lambda s: s.state is not SourceState.ONLINE, timeout=15)
        assert status.reason in {StatusReason.TIMEOUT, StatusReason.STREAM_ENDED}
        os.kill(camera.pid, signal.SIGCONT)
        online = wait_for_status(source, lambda s: s.state is SourceState.ONLINE, timeout=30)
        assert online.reconnect_count >= 1
    finally:
        if camera.pid is not None:
            os.kill(camera.pid, signal.SIGCONT)
        source.stop()


def test_a_wrong_path_is_not_found(camera_factory: CameraFactory) -> None:
    camera = camera_factory()
    hub = StreamHub("missing")
    source = make_source(camera.url().rsplit("/", 1)[0] + "/no-such-stream", hub)
    source.start()
    try:
        status = wait_for_status(source, lambda s: s.reason is StatusReason.NOT_FOUND)
    finally:
        source.stop()
    assert status.state is SourceState.ERROR and status.reader == "lean"
    assert "no-such-stream" in status.message and "path" in status.message
