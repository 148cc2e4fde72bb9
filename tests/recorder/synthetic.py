"""A camera stream without a network: H.264 encoded once with PyAV, published into a StreamHub as MediaPackets
with wall-clock times, as fast as the test wants (no real-time waiting)."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from fractions import Fraction

import av

from bench.footage import footage_from_h264
from ingest.description import VideoTrack
from ingest.hub import StreamHub
from ingest.packet import ClockSource, MediaKind, MediaPacket

TIME_BASE = Fraction(1, 90000)


@dataclass(frozen=True)
class EncodedVideo:
    track: VideoTrack
    frames: list[tuple[bytes, bool]]
    fps: int


@functools.cache
def encoded_video(
    seconds: int = 30, fps: int = 25, gop: int = 25, width: int = 320, height: int = 240
) -> EncodedVideo:
    raw = io.BytesIO()
    with av.open(raw, "w", format="h264") as out:
        stream = out.add_stream(
            "libx264", rate=fps, options={"g": str(gop), "tune": "zerolatency", "preset": "ultrafast"}
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(seconds * fps):
            frame = av.VideoFrame(width, height, "yuv420p")
            for n, plane in enumerate(frame.planes):
                plane.update(bytes([(i * 7 + n * 50) % 255]) * plane.buffer_size)
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    raw.seek(0)
    footage = footage_from_h264(raw, width, height, fps)
    return EncodedVideo(footage.track, footage.frames, fps)


class SyntheticFeed:
    """Publishes an EncodedVideo (looped) into a hub, frame by frame, with chosen wall-clock times."""

    def __init__(self, hub: StreamHub, video: EncodedVideo, wall_start: float) -> None:
        self.hub = hub
        self.video = video
        self.wall = wall_start
        self.frame = 0
        self.pts = 0
        self.epoch = 0
        self.step = int(90000 / video.fps)

    def connect(self) -> None:
        self.epoch = self.hub.begin_epoch(self.video.track).epoch
        # a new connection starts at a keyframe
        while not self.video.frames[self.frame % len(self.video.frames)][1]:
            self.frame += 1

    def play(self, seconds: float, *, discontinuity_first: bool = False) -> None:
        for n in range(round(seconds * self.video.fps)):
            data, key = self.video.frames[self.frame % len(self.video.frames)]
            self.hub.publish(
                MediaPacket(
                    kind=MediaKind.VIDEO,
                    data=data,
                    pts=self.pts,
                    dts=self.pts,
                    duration=self.step,
                    time_base=TIME_BASE,
                    is_keyframe=key,
                    wall_time=self.wall,
                    clock_source=ClockSource.ARRIVAL,
                    epoch=self.epoch,
                    discontinuity=discontinuity_first and n == 0,
                )
            )
            self.frame += 1
            self.pts += self.step
            self.wall += 1 / self.video.fps

    def disconnect(self, offline_seconds: float) -> None:
        self.hub.end_epoch()
        self.wall += offline_seconds
