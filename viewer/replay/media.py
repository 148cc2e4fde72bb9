"""One stored media file (a recorded segment or a body-cam video) demuxed into H.264 access units with
wall-clock times, without decoding.

A file's first video presentation time stands for its ``origin`` (a segment's ``start_at``, a body-cam
item's ``recorded_start``): ``at = origin + pts_seconds - first_pts_seconds``. Packets come in decode order;
``send_at`` is the decode-order time shifted by the file's reordering delay, so it equals ``at`` for
streams without B-frames and never decreases. MP4 (AVCC) packets are converted to Annex-B (what aiortc
packetizes) and keyframes carry SPS/PPS.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import av.bitstream
import av.container
import av.error

from viewer.webrtc.h264 import ParameterSets, with_parameter_sets

DEFAULT_FRAME_S = 1 / 25
SEEK_INSIDE_FILE_AFTER_S = 12.0
"""Files longer than this are entered with a container seek instead of demuxing from their start."""
MEDIA_ERRORS = (av.error.FFmpegError, OSError, ValueError)


class MediaError(Exception):
    """A stored file cannot be read as video (corrupt, not video, missing)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One access unit: Annex-B bytes, its presentation wall time and when (in recording time) to send it."""

    data: bytes
    at: float
    """Presentation time, UTC epoch seconds on the yard clock."""
    send_at: float
    """Decode-order time (epoch seconds): equals ``at`` without B-frames; never decreases in a file."""
    duration: float
    keyframe: bool


@dataclass(frozen=True, slots=True)
class VideoInfo:
    codec: str
    """FFmpeg codec name: h264, hevc, ..."""
    profile: str | None
    parameter_sets: ParameterSets
    width: int
    height: int


def open_container(source: io.RawIOBase) -> av.container.InputContainer:
    try:
        return av.open(source, "r")
    except MEDIA_ERRORS as exc:
        raise MediaError(f"not a readable video file: {exc}") from None


def video_info(container: av.container.InputContainer) -> VideoInfo:
    if not container.streams.video:
        raise MediaError("the file holds no video stream")
    video = container.streams.video[0]
    ctx = video.codec_context
    extradata = bytes(ctx.extradata or b"")
    return VideoInfo(
        codec=ctx.name,
        profile=ctx.profile,
        parameter_sets=ParameterSets.from_extradata(extradata) if ctx.name == "h264" else ParameterSets(),
        width=ctx.width,
        height=ctx.height,
    )


def demux_frames(
    container: av.container.InputContainer, origin: float, *, enter_at: float | None = None
) -> Iterator[Frame]:
    """The file's H.264 video access units in decode order. ``enter_at`` (wall time): for long files, start
    at the keyframe at or before it (a container seek) instead of the file's start."""
    video = container.streams.video[0]
    tb = Fraction(video.time_base or Fraction(1, 90000))
    anchor = Fraction(video.start_time or 0) * tb
    rate = video.average_rate or video.guessed_rate
    default_duration = float(1 / rate) if rate else DEFAULT_FRAME_S
    info = video_info(container)
    parameter_sets = info.parameter_sets
    extradata = bytes(video.codec_context.extradata or b"")
    avcc = len(extradata) > 6 and extradata[0] == 1
    bsf = av.bitstream.BitStreamFilterContext("h264_mp4toannexb", video) if avcc else None
    if enter_at is not None and enter_at - origin > SEEK_INSIDE_FILE_AFTER_S:
        target = Fraction(enter_at - origin) + anchor
        try:
            container.seek(int(target / tb), stream=video, backward=True, any_frame=False)
        except MEDIA_ERRORS:
            container.seek(0, stream=video)
    delay: Fraction | None = None
    last_send = float("-inf")
    try:
        for packet in container.demux(video):
            if packet.dts is None or packet.size == 0:
                continue
            pts = packet.pts if packet.pts is not None else packet.dts
            if delay is None:
                delay = max(Fraction(0), (pts - packet.dts) * tb)
            at = origin + float(pts * tb - anchor)
            send_at = max(last_send, origin + float(packet.dts * tb - anchor + delay))
            last_send = send_at
            duration = float(packet.duration * tb) if packet.duration else default_duration
            keyframe = bool(packet.is_keyframe)
            for data in _annex_b(packet, bsf):
                parameter_sets = parameter_sets.updated_from(data)
                if keyframe:
                    data = with_parameter_sets(data, parameter_sets)
                yield Frame(data, at, send_at, duration, keyframe)
    except MEDIA_ERRORS as exc:
        raise MediaError(f"the file cannot be read past {last_send:.3f}: {exc}") from None


def _annex_b(packet: av.Packet[Any], bsf: av.bitstream.BitStreamFilterContext | None) -> list[bytes]:
    if bsf is None:
        return [bytes(packet)]
    return [bytes(out) for out in bsf.filter(packet) if out.size]
