"""The items a StreamHub hands to its subscribers: media packets, stream descriptions and gap markers.

A subscriber reads a sequence like::

    StreamDescription(epoch=1)  MediaPacket(epoch=1, keyframe) MediaPacket ... StreamGap(SOURCE_LOST)
    StreamDescription(epoch=2)  MediaPacket(epoch=2, keyframe, discontinuity=True) ...

Every packet belongs to the epoch of the last description received; the first video packet after a
description (and after any gap) is a keyframe.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction


class MediaKind(enum.StrEnum):
    """Which elementary stream of a camera a packet belongs to."""

    VIDEO = "video"
    AUDIO = "audio"


class ClockSource(enum.StrEnum):
    """Where a packet's wall-clock time came from."""

    RTCP = "rtcp"
    """The camera's own clock, from RTCP sender reports (trust it for evidence if the camera runs NTP)."""
    ARRIVAL = "arrival"
    """This server's clock when the stream's first packet arrived, plus the stream's timestamp offsets."""


@dataclass(frozen=True, slots=True)
class MediaPacket:
    """One compressed, undecoded packet as read from the camera.

    ``pts``/``dts``/``duration`` are in ``time_base`` units (the camera stream's time base, e.g. 1/90000 for
    RTSP video). They increase within an epoch, but restart when the camera restarts; ``discontinuity`` is
    set on the first packet after such a jump or after a reconnect, so a recorder should close its current
    segment there and record a gap. ``dts`` may be ``None`` on the first packets of some streams: skip those
    when muxing.

    ``data`` is the raw packet payload exactly as the demuxer returned it (H.264/H.265: Annex-B byte
    stream with 00 00 01 start codes; AAC: raw access units without ADTS headers; G.711: raw samples).
    To mux it with PyAV::

        pkt = av.Packet(media_packet.data)
        pkt.pts, pkt.dts = media_packet.pts, media_packet.dts
        pkt.duration = media_packet.duration
        pkt.time_base = media_packet.time_base
        pkt.is_keyframe = media_packet.is_keyframe
        pkt.stream = output_stream  # from ingest.output_streams.add_output_stream(out, description.video)
        out.mux(pkt)

    ``wall_time`` is the wall-clock time (Unix seconds, UTC) at which the packet's ``pts`` was captured,
    and ``clock_source`` says which clock it came from.
    """

    kind: MediaKind
    data: bytes
    pts: int | None
    dts: int | None
    duration: int
    time_base: Fraction
    is_keyframe: bool
    wall_time: float
    clock_source: ClockSource
    epoch: int
    discontinuity: bool = False

    @property
    def size(self) -> int:
        """Payload size in bytes."""
        return len(self.data)

    @property
    def pts_seconds(self) -> float | None:
        """``pts`` in seconds of stream time, or ``None`` if the packet has no pts."""
        return None if self.pts is None else float(self.pts * self.time_base)


class GapReason(enum.StrEnum):
    """Why a subscriber missed media."""

    OVERFLOW = "overflow"
    """The subscriber fell behind and its queue was full: the hub dropped packets for it."""
    SOURCE_LOST = "source_lost"
    """The connection to the camera was lost; a new StreamDescription follows when it comes back."""


@dataclass(frozen=True, slots=True)
class StreamGap:
    """Marks a hole in what a subscriber received.

    After an OVERFLOW gap the next video packet is a keyframe of the same epoch; after SOURCE_LOST the next
    item is a new StreamDescription. ``wall_time`` is when the hole started: the wall time of the first
    packet missed (OVERFLOW), or the end of the last packet received before the loss (SOURCE_LOST).
    """

    reason: GapReason
    wall_time: float
    dropped_packets: int = 0
    dropped_bytes: int = 0
    message: str = ""
