"""Codec parameters of a stream read by the lean RTSP client, as the StreamDescription tracks the hub needs.

PyAV's raw demuxers probe one access unit (an H.264/H.265 keyframe with its parameter sets, an AAC frame
in an ADTS wrapper, G.711 samples); the result is captured as a codec template, exactly as for a stream
demuxed by FFmpeg, with the extradata the camera announced in its SDP.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import av.container
import av.stream

from ingest.description import AudioTrack, VideoTrack

_RAW_FORMATS = {"h264": "h264", "hevc": "hevc", "pcm_alaw": "alaw", "pcm_mulaw": "mulaw", "aac": "aac"}
_AAC_SAMPLE_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)


class ProbeError(ValueError):
    """The first access unit did not tell the codec parameters."""


def probe_video_track(
    codec_name: str, keyframe: bytes, extradata: bytes, frame_rate: Fraction | None
) -> VideoTrack:
    """Describe a video stream from its first keyframe (Annex-B, parameter sets included)."""
    with _open_raw(codec_name, keyframe) as probe:
        stream = probe.streams.video[0]
        context = stream.codec_context
        width, height = int(context.width or 0), int(context.height or 0)
        if not width or not height:
            raise ProbeError(f"the camera's first {codec_name} keyframe does not tell the picture size")
        template = _template(stream, Fraction(1, 90000), extradata)
        return VideoTrack(
            codec_name=codec_name,
            width=width,
            height=height,
            time_base=Fraction(1, 90000),
            extradata=extradata,
            codec_template=template,
            profile=stream.profile,
            frame_rate=frame_rate,
        )


def probe_audio_track(
    codec_name: str, unit: bytes, sample_rate: int, channels: int, extradata: bytes
) -> AudioTrack:
    """Describe an audio stream from one access unit and the SDP's rate, channels and config."""
    if codec_name == "aac":
        data = _adts(unit, extradata, sample_rate, channels)
        options: dict[str, str] = {}
    else:
        data = unit
        options = {"sample_rate": str(sample_rate), "ch_layout": "stereo" if channels == 2 else "mono"}
    with _open_raw(codec_name, data, options) as probe:
        stream = probe.streams.audio[0]
        template = _template(stream, Fraction(1, sample_rate), extradata)
    return AudioTrack(
        codec_name=codec_name,
        sample_rate=sample_rate,
        channels=channels,
        time_base=Fraction(1, sample_rate),
        extradata=extradata,
        codec_template=template,
    )


def _open_raw(
    codec_name: str, data: bytes, options: dict[str, str] | None = None
) -> av.container.InputContainer:
    try:
        container = av.open(io.BytesIO(data), "r", format=_RAW_FORMATS[codec_name], options=options or {})
    except (av.error.FFmpegError, KeyError) as error:
        raise ProbeError(f"cannot read the camera's {codec_name} stream: {error}") from None
    if not container.streams:
        container.close()
        raise ProbeError(f"cannot read the camera's {codec_name} stream")
    return container


def _template(stream: av.stream.Stream, time_base: Fraction, extradata: bytes) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="nut") as carrier:
        carrier_stream = carrier.add_stream_from_template(stream)
        if extradata and carrier_stream.codec_context is not None:
            carrier_stream.codec_context.extradata = extradata
        placeholder = av.Packet(b"\x00")  # demuxers refuse a file without packets
        placeholder.pts = placeholder.dts = 0
        placeholder.time_base = time_base
        placeholder.stream = carrier_stream
        carrier.mux(placeholder)
    return buffer.getvalue()


def _adts(unit: bytes, config: bytes, sample_rate: int, channels: int) -> bytes:
    """Wrap one raw AAC frame in an ADTS header so the raw AAC demuxer can read it."""
    if len(config) >= 2:
        profile = (config[0] >> 3) - 1
        rate_index = ((config[0] & 0x07) << 1) | (config[1] >> 7)
        channel_config = (config[1] >> 3) & 0x0F
    else:
        profile = 1
        rate_index = _AAC_SAMPLE_RATES.index(sample_rate) if sample_rate in _AAC_SAMPLE_RATES else 4
        channel_config = channels
    profile = min(max(profile, 0), 3)
    size = len(unit) + 7
    header = bytes(
        [
            0xFF,
            0xF1,
            (profile << 6) | ((rate_index & 0x0F) << 2) | ((channel_config >> 2) & 1),
            ((channel_config & 3) << 6) | ((size >> 11) & 0x03),
            (size >> 3) & 0xFF,
            ((size & 7) << 5) | 0x1F,
            0xFC,
        ]
    )
    return header + unit
