"""Create PyAV output streams from a StreamDescription's tracks, for remuxing hub packets without decoding.

PyAV's ``add_stream_from_template`` needs a live input stream, which dies with its input container when a
camera reconnects. So when a source connects, the codec parameters of each input stream are captured into a
tiny in-memory NUT file (``capture_codec_template``), and later re-opened as a template.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import av.container
import av.stream

from ingest.description import AudioTrack, VideoTrack


def capture_codec_template(stream: av.stream.Stream) -> bytes:
    """Snapshot the codec parameters of an input stream as a small self-contained NUT file."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="nut") as carrier:
        carrier_stream = carrier.add_stream_from_template(stream)
        # Demuxers refuse a file without packets: one dummy byte keeps the header readable.
        placeholder = av.Packet(b"\x00")
        placeholder.pts = placeholder.dts = 0
        placeholder.time_base = stream.time_base or Fraction(1, 90000)
        placeholder.stream = carrier_stream
        carrier.mux(placeholder)
    return buffer.getvalue()


def add_output_stream(
    output: av.container.OutputContainer, track: VideoTrack | AudioTrack
) -> av.stream.Stream:
    """Add a stream to ``output`` that accepts the track's packets as they are (stream copy)."""
    with av.open(io.BytesIO(track.codec_template), "r", format="nut") as carrier:
        stream = output.add_stream_from_template(carrier.streams[0])
    stream.time_base = track.time_base
    return stream
