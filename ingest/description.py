"""What a camera stream carries: codec parameters that outlive the RTSP connection they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class VideoTrack:
    """Codec parameters of a camera's video stream.

    ``codec_template`` is an opaque snapshot of the full FFmpeg codec parameters (a tiny in-memory NUT
    file); ``ingest.output_streams.add_output_stream`` turns it into an output stream for remuxing, without
    the input container it came from. ``extradata`` holds SPS/PPS (H.264) or VPS/SPS/PPS (H.265) in Annex-B
    form when the camera announced them; it may be empty if the camera only sends them in band.
    """

    codec_name: str
    width: int
    height: int
    time_base: Fraction
    extradata: bytes
    codec_template: bytes = field(repr=False)
    profile: str | None = None
    frame_rate: Fraction | None = None


@dataclass(frozen=True, slots=True)
class AudioTrack:
    """Codec parameters of a camera's audio stream (AAC, G.711 A-law ``pcm_alaw`` or mu-law ``pcm_mulaw``)."""

    codec_name: str
    sample_rate: int
    channels: int
    time_base: Fraction
    extradata: bytes
    codec_template: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class StreamDescription:
    """The tracks of one camera stream during one connection ("epoch").

    The hub sends a new description, with a higher ``epoch``, after every (re)connect: codecs, resolution
    or extradata may have changed while the camera was away. ``audio`` is ``None`` when the camera sends no
    audio or an audio codec that is not passed on; ``notes`` then tells why, in words for a person.
    """

    epoch: int
    video: VideoTrack
    audio: AudioTrack | None = None
    notes: tuple[str, ...] = ()
