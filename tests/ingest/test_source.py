import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ingest.backoff import BackoffPolicy
from ingest.hub import StreamHub
from ingest.packet import ClockSource, GapReason, MediaKind, MediaPacket, StreamGap
from ingest.source import CameraSource, SourceTimeouts
from ingest.status import SourceState, StatusReason
from ingest.subscription import DeliveryMode, HubItem
from tests.fixtures.cameras import CameraFactory
from tests.ingest.helpers import collect, ffprobe_streams, remux_to_mp4, wait_for_status

QUICK_RETRY = BackoffPolicy(initial_s=0.2, max_s=1.0)
SHORT_TIMEOUTS = SourceTimeouts(open_s=3, read_s=3)


@pytest.fixture
def hub() -> StreamHub:
    return StreamHub("test camera")


def make_source(url: str, hub: StreamHub, **kwargs: Any) -> CameraSource:
    kwargs.setdefault("backoff", QUICK_RETRY)
    kwargs.setdefault("timeouts", SHORT_TIMEOUTS)
    return CameraSource("test camera", url, hub, **kwargs)


@pytest.mark.parametrize(
    ("spec", "video_codec", "audio_codec"),
    [
        ({"profile": "baseline"}, "h264", None),
        ({"sps_pps_in_band": False}, "h264", None),
        ({"profile": "high", "b_frames": 2}, "h264", None),
        ({"codec": "h265"}, "hevc", None),
        ({"audio": "aac"}, "h264", "aac"),
        ({"audio": "pcma", "sps_pps_in_band": False}, "h264", "pcm_alaw"),
    ],
    ids=["h264-baseline", "h264-sps-in-sdp-only", "h264-high-bframes", "h265", "aac", "pcma"],
)
def test_hub_packets_remux_into_a_clean_mp4(
    camera_factory: CameraFactory,
    hub: StreamHub,
    tmp_path: Path,
    spec: dict[str, Any],
    video_codec: str,
    audio_codec: str | None,
) -> None:
    camera = camera_factory(**spec)
    recorder = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    source = make_source(camera.url(), hub)
    source.start()
    try:
        items = collect(recorder, seconds_of_video=2.5)
        status = wait_for_status(source, lambda s: s.state is SourceState.ONLINE)
    finally:
        source.stop()

    packets = [item for item in items if isinstance(item, MediaPacket)]
    assert packets[0].kind is MediaKind.VIDEO and packets[0].is_keyframe
    assert all(packet.wall_time == pytest.approx(time.time(), abs=30) for packet in packets)
    assert {packet.clock_source for packet in packets} <= {ClockSource.RTCP, ClockSource.ARRIVAL}
    assert status.video_codec == video_codec and status.audio_codec == audio_codec
    assert (status.width, status.height) == (320, 240)

    mp4 = tmp_path / "out.mp4"
    remux_to_mp4(items, mp4)
    streams, errors = ffprobe_streams(mp4)
    assert errors == ""
    codecs = [stream["codec_name"] for stream in streams]
    assert codecs == [video_codec] + ([audio_codec] if audio_codec else [])
    video = streams[0]
    assert (video["width"], video["height"]) == (320, 240)
    assert int(str(video["nb_read_frames"])) >= 50


def test_status_shows_rates_and_keyframes(camera_factory: CameraFactory, hub: StreamHub) -> None:
    camera = camera_factory(fps=25, bitrate_kbps=300)
    source = make_source(camera.url(), hub)
    source.start()
    try:
        status = wait_for_status(source, lambda s: s.state is SourceState.ONLINE)
        time.sleep(2)
        status = source.status()
    finally:
        source.stop()
    assert 15 < status.fps < 40
    assert status.bitrate_bps > 50_000
    assert status.last_keyframe_at is not None and status.last_keyframe_at == pytest.approx(
        time.time(), abs=5
    )
    assert status.clock_source in {"rtcp", "arrival"}
    assert source.status().state is SourceState.STOPPED


def test_camera_restart_goes_offline_then_online_by_itself(
    camera_factory: CameraFactory, hub: StreamHub
) -> None:
    camera = camera_factory()
    recorder = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    source = make_source(camera.url(), hub)
    source.start()
    try:
        wait_for_status(source, lambda s: s.state is SourceState.ONLINE)
        camera.stop()
        offline = wait_for_status(source, lambda s: s.state is SourceState.OFFLINE)
        assert offline.reason in {StatusReason.STREAM_ENDED, StatusReason.UNREACHABLE, StatusReason.TIMEOUT}
        assert offline.message
        camera.start()
        online = wait_for_status(source, lambda s: s.state is SourceState.ONLINE and s.reconnect_count >= 1)
        assert online.reason is None
    finally:
        source.stop()
    hub.close()
    items = list(recorder)
    gaps = [item for item in items if isinstance(item, StreamGap)]
    assert gaps and gaps[0].reason is GapReason.SOURCE_LOST
    epochs = {item.epoch for item in items if isinstance(item, MediaPacket)}
    assert len(epochs) >= 2


def test_wrong_password_is_unauthorized_without_a_retry_storm(
    camera_factory: CameraFactory, hub: StreamHub
) -> None:
    camera = camera_factory(username="op@yard", password="p@ss:w/rd", auth="digest")
    source = make_source(camera.url(), hub, username="op@yard", password="wrong")
    source.start()
    try:
        status = wait_for_status(source, lambda s: s.reason is StatusReason.UNAUTHORIZED)
        time.sleep(3)
        status = source.status()
    finally:
        source.stop()
    assert status.state is SourceState.ERROR
    assert "credentials" in status.message and "wrong" not in status.message
    assert status.connect_attempts == 1
    assert status.next_attempt_at is not None and status.next_attempt_at > time.time() + 30


def test_credentials_with_special_characters_work(camera_factory: CameraFactory, hub: StreamHub) -> None:
    camera = camera_factory(username="op@yard", password="p@ss:w/rd", auth="basic")
    source = make_source(camera.url(), hub, username="op@yard", password="p@ss:w/rd")
    source.start()
    try:
        status = wait_for_status(source, lambda s: s.state is SourceState.ONLINE)
    finally:
        source.stop()
    assert "p@ss" not in status.url and "***" in status.url


def test_unreachable_camera_is_reported_and_stop_is_prompt(hub: StreamHub) -> None:
    source = make_source("rtsp://127.0.0.1:1/nothing", hub)
    source.start()
    status = wait_for_status(source, lambda s: s.state is SourceState.OFFLINE)
    started = time.monotonic()
    source.stop()
    assert time.monotonic() - started < 2
    assert status.reason is StatusReason.UNREACHABLE and "127.0.0.1:1" in status.message


def test_invalid_url_is_an_error_not_a_crash(hub: StreamHub) -> None:
    source = make_source("http://camera/stream", hub)
    source.start()
    status = wait_for_status(source, lambda s: s.state is SourceState.ERROR)
    source.stop()
    assert status.reason is StatusReason.INVALID_URL and "rtsp://" in status.message


def test_unsupported_video_codec_is_refused(camera_factory: CameraFactory, hub: StreamHub) -> None:
    camera = camera_factory(codec="mjpeg")
    source = make_source(camera.url(), hub)
    source.start()
    try:
        status = wait_for_status(source, lambda s: s.state is SourceState.ERROR)
    finally:
        source.stop()
    assert status.reason is StatusReason.UNSUPPORTED_CODEC and "mjpeg" in status.message
    assert hub.description is None


def test_unknown_audio_is_ignored_with_a_note(camera_factory: CameraFactory, hub: StreamHub) -> None:
    camera = camera_factory(audio="opus")
    source = make_source(camera.url(), hub)
    source.start()
    try:
        status = wait_for_status(source, lambda s: s.state is SourceState.ONLINE)
    finally:
        source.stop()
    assert status.audio_codec is None
    assert any("opus" in note for note in status.notes)
    assert hub.description is not None and hub.description.audio is None


def test_late_subscriber_starts_at_a_keyframe_at_once(camera_factory: CameraFactory, hub: StreamHub) -> None:
    camera = camera_factory(keyframe_interval=50)
    source = make_source(camera.url(), hub)
    source.start()
    try:
        wait_for_status(source, lambda s: s.state is SourceState.ONLINE)
        time.sleep(1.3)  # somewhere inside a 2 s GOP
        viewer = hub.subscribe("late viewer")
        first_items = [viewer.get(timeout=0.5) for _ in range(3)]
    finally:
        source.stop()
    assert first_items[0] == hub.description
    first_packet = first_items[1]
    assert isinstance(first_packet, MediaPacket) and first_packet.is_keyframe
    assert isinstance(first_items[2], MediaPacket)


def test_slow_lossy_viewer_skips_while_recorder_gets_everything(
    camera_factory: CameraFactory, hub: StreamHub
) -> None:
    camera = camera_factory(keyframe_interval=10)
    recorder = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    viewer = hub.subscribe("slow viewer", DeliveryMode.LOSSY, max_packets=12)
    viewed: list[HubItem] = []

    def watch_slowly() -> None:  # 10 items a second from a 25 fps camera
        for item in viewer:
            viewed.append(item)
            time.sleep(0.1)

    watcher = threading.Thread(target=watch_slowly)
    watcher.start()
    source = make_source(camera.url(), hub)
    source.start()
    try:
        wait_for_status(source, lambda s: s.state is SourceState.ONLINE)
        time.sleep(4)
    finally:
        source.stop()
    hub.close()
    watcher.join()
    recorded = [item for item in recorder if isinstance(item, MediaPacket)]
    dts = [packet.dts for packet in recorded if packet.dts is not None]
    assert dts == sorted(dts) and len(recorded) >= 80
    overflow_gaps = [
        position
        for position, item in enumerate(viewed[:-1])
        if isinstance(item, StreamGap) and item.reason is GapReason.OVERFLOW
    ]
    resumed = [viewed[position + 1] for position in overflow_gaps]
    resumed_packets = [item for item in resumed if isinstance(item, MediaPacket)]
    assert resumed_packets and all(packet.is_keyframe for packet in resumed_packets)
    assert len([item for item in viewed if isinstance(item, MediaPacket)]) < len(recorded)


def test_the_connections_opening_keyframe_is_kept(camera_factory: CameraFactory, hub: StreamHub) -> None:
    """FFmpeg gives the first keyframe of an RTSP session no timestamps; dropping it would lose a whole GOP
    (2 s here) at every connect. It is passed on, one frame before the packet that follows it."""
    camera = camera_factory(keyframe_interval=50)
    subscription = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    source = make_source(camera.url(), hub)
    source.start()
    try:
        items = collect(subscription, seconds_of_video=0.5)
    finally:
        source.stop()
    video = [i for i in items if isinstance(i, MediaPacket) and i.kind is MediaKind.VIDEO]
    first, second = video[0], video[1]
    assert first.is_keyframe and first.pts is not None and second.pts is not None
    assert second.pts - first.pts == first.duration
    assert first.pts * first.time_base < 0.5  # the stream's start, not the keyframe 2 s later
