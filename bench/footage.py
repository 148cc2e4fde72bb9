"""Synthetic camera footage for benchmarks and tests: an H.264 elementary stream turned into the hub's
terms (a VideoTrack and its frames), and recorded into segments by the recorder's own SegmentWriter, fed
through a real StreamHub faster than real time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import av

from ingest.description import VideoTrack
from ingest.hub import StreamHub
from ingest.output_streams import capture_codec_template
from ingest.packet import ClockSource, MediaKind, MediaPacket
from ingest.subscription import DeliveryMode, Subscription
from recorder.models import StreamKind
from recorder.segment_files import SpooledSegment
from recorder.segment_writer import SegmentWriter
from recorder.spool import Spool

TIME_BASE = Fraction(1, 90000)


@dataclass(frozen=True)
class Footage:
    """A camera stream's codec parameters and its frames (Annex-B data, keyframe?) in decoding order."""

    track: VideoTrack
    frames: list[tuple[bytes, bool]]


def footage_from_h264(source: str | Path | IO[bytes], width: int, height: int, fps: int) -> Footage:
    """Read a raw H.264 stream (a file or a binary file object) into Footage."""
    with av.open(str(source) if isinstance(source, (str, Path)) else source, "r", format="h264") as src:
        video = src.streams.video[0]
        template = capture_codec_template(video)
        frames = [(bytes(p), bool(p.is_keyframe)) for p in src.demux(video) if p.size]
    track = VideoTrack(
        codec_name="h264",
        width=width,
        height=height,
        time_base=TIME_BASE,
        extradata=b"",
        codec_template=template,
        frame_rate=Fraction(fps),
    )
    return Footage(track, frames)


class _Events:
    def __init__(self) -> None:
        self.segments: list[SpooledSegment] = []

    def segment_finished(self, segment: SpooledSegment) -> None:
        self.segments.append(segment)

    def recording_interrupted(self, at: datetime, reason: Any, detail: str) -> None:
        pass

    def recording_resumed(self, at: datetime) -> None:
        pass


def record_footage(
    footage: Footage,
    spool_dir: Path,
    camera_id: int,
    code: str,
    *,
    frame_time: Callable[[int], datetime],
    fps: int,
    segment_seconds: float,
    blocks: Sequence[tuple[int, int]] | None = None,
    spool_bytes: int = 1 << 30,
) -> list[SpooledSegment]:
    """Record frames ``[first, last)`` of each block (all frames by default), frame ``n`` at
    ``frame_time(n)``: one camera connection per block, so the holes between blocks are recording gaps."""
    hub = StreamHub(code)
    subscription = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    events = _Events()
    writer = SegmentWriter(
        camera_id=camera_id,
        camera_code=code,
        stream=StreamKind.MAIN,
        spool=Spool(spool_dir, spool_bytes),
        events=events,
        segment_seconds=segment_seconds,
    )
    step = 90000 // fps
    for first, last in blocks or [(0, len(footage.frames))]:
        epoch = hub.begin_epoch(footage.track).epoch
        for n in range(first, last):
            data, key = footage.frames[n]
            hub.publish(
                MediaPacket(
                    kind=MediaKind.VIDEO,
                    data=data,
                    pts=n * step,
                    dts=n * step,
                    duration=step,
                    time_base=TIME_BASE,
                    is_keyframe=key,
                    wall_time=frame_time(n).timestamp(),
                    clock_source=ClockSource.RTCP,
                    epoch=epoch,
                )
            )
            _pump(subscription, writer)
        hub.end_epoch()
        _pump(subscription, writer)
    writer.close()
    hub.close()
    return events.segments


def _pump(subscription: Subscription, writer: SegmentWriter) -> None:
    while True:
        try:
            writer.handle(subscription.get(timeout=0))
        except TimeoutError:
            return
