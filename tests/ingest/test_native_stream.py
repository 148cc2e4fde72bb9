"""NativeRtspStream's time line: access units in, hub packets out (no camera: units are fed directly)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ingest.description import AudioTrack, VideoTrack
from ingest.hub import StreamHub
from ingest.native_stream import NativeDeclined, NativeRtspStream, _Track
from ingest.packet import MediaKind, MediaPacket
from ingest.rtsp.depacketize import AccessUnit, depacketizer_for
from ingest.rtsp.interleaved import TrackReception
from ingest.rtsp.reactor import RtspReactor
from ingest.rtsp.sdp import MediaDescription
from ingest.subscription import DeliveryMode
from tests.ingest.rtsp.test_depacketize import encoded

STEP = 3600  # 25 fps at 90 kHz


class Source:
    def __init__(self) -> None:
        self.described: list[VideoTrack] = []

    def describe(self, video: VideoTrack, audio: AudioTrack | None, notes: tuple[str, ...]) -> None:
        self.described.append(video)

    def observe(self, packet: MediaPacket) -> None:
        pass


def stream(hub: StreamHub) -> tuple[NativeRtspStream, Source]:
    source = Source()
    native = NativeRtspStream(source, "rtsp://127.0.0.1:1/x", None, None, hub, 1, 1, RtspReactor(), "x")
    media = MediaDescription("video", 96, "H264", 90000, 1, {"packetization-mode": "1"}, "rtsp://x/track1")
    depacketizer = depacketizer_for(media)
    assert depacketizer is not None
    track = _Track(MediaKind.VIDEO, media, depacketizer, TrackReception(depacketizer), Fraction(1, 90000), 0)
    track.offset = 0
    native._tracks.append(track)
    return native, source


def units(params: str = "", frames: int = 30) -> list[AccessUnit]:
    coded = encoded("libx264", params, frames=frames)
    return [
        AccessUnit(b"".join(b"\0\0\0\1" + nal for nal in f.nals), 1000 + f.pts * STEP, f.keyframe)
        for f in coded
    ]


def video_packets(hub_items: list[object]) -> list[MediaPacket]:
    return [i for i in hub_items if isinstance(i, MediaPacket) and i.kind is MediaKind.VIDEO]


def test_frames_become_packets_with_frame_durations_and_a_description() -> None:
    hub = StreamHub("cam")
    recorder = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    native, source = stream(hub)
    for unit in units():
        native._on_units(0, [unit], 1_800_000_000.0)
    packets = video_packets(recorder.take_all())
    assert len(packets) == 30 and packets[0].is_keyframe and packets[0].pts == 0
    assert [p.pts for p in packets] == [n * STEP for n in range(30)]
    assert {p.duration for p in packets} == {STEP} and all(p.dts == p.pts for p in packets)
    assert (source.described[0].width, source.described[0].height) == (320, 240)


def test_a_hole_does_not_stretch_frame_durations_and_a_reset_is_a_discontinuity() -> None:
    hub = StreamHub("cam")
    recorder = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    native, _ = stream(hub)
    frames = units(frames=60)
    for unit in frames[:20]:
        native._on_units(0, [unit], 1_800_000_000.0)
    for unit in frames[30:40]:  # ten frames never came
        native._on_units(0, [unit], 1_800_000_000.4)
    for unit in frames[50:60]:  # the camera restarted: its clock is 100 s back
        reset = AccessUnit(unit.data, (unit.timestamp - 100 * 90000) & 0xFFFF_FFFF, unit.keyframe)
        native._on_units(0, [reset], 1_800_000_001.0)
    packets = video_packets(recorder.take_all())
    assert len(packets) == 40 and {p.duration for p in packets} == {STEP}
    assert [p.discontinuity for p in packets].index(True) == 30  # the first packet after the reset


def test_a_new_frame_rate_is_taken_once_it_holds() -> None:
    hub = StreamHub("cam")
    recorder = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    native, _ = stream(hub)
    frames = units(frames=60)
    for unit in frames[:20]:
        native._on_units(0, [unit], 1_800_000_000.0)
    for unit in frames[20:60:5]:  # the camera drops to 5 fps
        native._on_units(0, [unit], 1_800_000_001.0)
    durations = [p.duration for p in video_packets(recorder.take_all())]
    # frame 25 comes 5 frames late: a hole or a new pace? Frame 30 at the same pace settles it.
    assert durations[:22] == [STEP] * 22 and durations[22:] == [5 * STEP] * 6


def test_b_frames_are_declined_before_anything_is_published() -> None:
    hub = StreamHub("cam")
    recorder = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    native, source = stream(hub)
    with pytest.raises(NativeDeclined, match="B-frames"):
        for unit in units("bframes=2:b-adapt=0"):
            native._on_units(0, [unit], 1_800_000_000.0)
    assert recorder.take_all() == [] and source.described == [] and hub.description is None
