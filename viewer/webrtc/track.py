"""A WebRTC video track fed by a stream hub subscription: the camera's H.264 passed through as ``av.Packet``.

No decoding and no encoding: aiortc packetizes the Annex-B bytes as they came from the camera. Keyframes
get the stream's SPS/PPS in front when they lack them (cameras that announce them only in the SDP), and
timestamps go through a :class:`~viewer.webrtc.timeline.Timeline` (90 kHz, continuous across reconnects,
fast through the cached GOP).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ingest.description import StreamDescription
from ingest.packet import GapReason, MediaKind, MediaPacket, StreamGap
from ingest.subscription import HubItem, Subscription, SubscriptionClosed
from viewer.webrtc.h264 import ParameterSets, with_parameter_sets
from viewer.webrtc.timeline import RTP_CLOCK_RATE, Timeline

log = logging.getLogger("viewer.webrtc")

RTP_TIME_BASE = Fraction(1, RTP_CLOCK_RATE)


@dataclass(slots=True)
class TrackStats:
    packets_sent: int = 0
    keyframes_sent: int = 0
    bytes_sent: int = 0
    parameter_sets_added: int = 0
    gaps: int = 0
    epochs: int = 0


class HubVideoTrack(MediaStreamTrack):
    """Sends one subscription's video packets. Create it right after subscribing: the constructor takes in
    what the hub handed over at once (description and cached GOP), so the caller can see the codec and
    parameter sets before it negotiates."""

    kind = "video"

    def __init__(self, subscription: Subscription, timeline: Timeline | None = None) -> None:
        super().__init__()
        self._subscription = subscription
        self._timeline = timeline or Timeline()
        self._pending: list[HubItem] = []
        self._description: StreamDescription | None = None
        self._parameter_sets = ParameterSets()
        self.stats = TrackStats()
        self._take_backlog()

    # ---- what the viewer will get ----------------------------------------------------------------------

    @property
    def description(self) -> StreamDescription | None:
        """The stream's latest description (None until the camera has connected)."""
        return self._description

    @property
    def parameter_sets(self) -> ParameterSets:
        """The SPS/PPS known so far: from the description's extradata, updated from in-band ones."""
        return self._parameter_sets

    # ---- MediaStreamTrack ------------------------------------------------------------------------------

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        while True:
            item = await self._next_item()
            if isinstance(item, MediaPacket):
                packet = await self._to_av_packet(item)
                if packet is not None:
                    return packet
            elif isinstance(item, StreamDescription):
                self._use_description(item)
            else:
                self._on_gap(item)

    def stop(self) -> None:
        super().stop()
        self._subscription.close()

    # ---- internals -------------------------------------------------------------------------------------

    def _take_backlog(self) -> None:
        while True:
            try:
                item = self._subscription.get(timeout=0)
            except (TimeoutError, SubscriptionClosed):
                return
            if isinstance(item, StreamDescription):
                self._use_description(item)
            elif isinstance(item, MediaPacket) and item.kind is MediaKind.VIDEO:
                self._parameter_sets = self._parameter_sets.updated_from(item.data)
            self._pending.append(item)

    async def _next_item(self) -> HubItem:
        if self._pending:
            return self._pending.pop(0)
        try:
            return await self._subscription.get_async()
        except SubscriptionClosed:
            self.stop()
            raise MediaStreamError from None

    def _backlog_left(self) -> bool:
        return bool(self._pending) or self._subscription.stats().queued_packets > 0

    def _use_description(self, description: StreamDescription) -> None:
        previous = self._description
        self._description = description
        if previous is not None and previous.epoch == description.epoch:
            return
        self.stats.epochs += 1
        self._parameter_sets = ParameterSets.from_extradata(description.video.extradata)
        if previous is not None:
            self._timeline.restart()
            log.info("%s: camera reconnected (epoch %d)", self._subscription.name, description.epoch)
        if description.video.codec_name != "h264":
            log.warning(
                "%s: the camera now sends %s, which cannot be passed to the browser; ending the track",
                self._subscription.name,
                description.video.codec_name,
            )
            self.stop()

    def _on_gap(self, gap: StreamGap) -> None:
        self.stats.gaps += 1
        if gap.reason is GapReason.SOURCE_LOST:
            self._timeline.restart()

    async def _to_av_packet(self, item: MediaPacket) -> av.Packet[Any] | None:
        if item.kind is not MediaKind.VIDEO:
            return None
        timestamp = item.pts if item.pts is not None else item.dts
        if timestamp is None:
            return None
        if item.discontinuity:
            self._timeline.restart()
        data = item.data
        self._parameter_sets = self._parameter_sets.updated_from(data)
        if item.is_keyframe:
            repaired = with_parameter_sets(data, self._parameter_sets)
            if repaired is not data:
                self.stats.parameter_sets_added += 1
            data = repaired
        input_time = round(timestamp * item.time_base * RTP_CLOCK_RATE)
        placement = self._timeline.place(input_time, now=time.monotonic(), backlog_left=self._backlog_left())
        delay = placement.send_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        packet = av.Packet(data)
        packet.pts = placement.rtp_time
        packet.dts = placement.rtp_time
        packet.time_base = RTP_TIME_BASE
        packet.is_keyframe = item.is_keyframe
        self.stats.packets_sent += 1
        self.stats.keyframes_sent += int(item.is_keyframe)
        self.stats.bytes_sent += len(data)
        return packet
