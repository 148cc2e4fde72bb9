"""The WebRTC video track of one replay lane: recorded H.264 passed through as ``av.Packet`` (Annex-B),
paced by the session's :class:`PlaybackClock`.

After a seek the lane's catch-up frames (keyframe at or before the seek time up to the frame before it)
and the anchor (the frame shown at the seek time) go out at once. The catch-up frames get RTP timestamps
one tick (11 µs) apart and the anchor 5 ms after them (less than one display refresh): a player decodes
them all but shows none of the catch-up frames for any visible time, so the first picture on screen is
the frame recorded at the seek time. (Chromium kept showing the keyframe of a two-frame burst stamped one
tick apart, hence the 5 ms.) Later frames are sent when the clock reaches their time; their RTP
timestamps follow real (playback) time, whatever the rate, so the receiver's jitter buffer sees an
ordinary live stream. During a gap in the recording nothing is sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from viewer.replay.clock import PlaybackClock
from viewer.replay.reader import Ended, Failed, LaneReader
from viewer.replay.source import Delivery, Frame
from viewer.webrtc.timeline import RTP_CLOCK_RATE

log = logging.getLogger("viewer.replay")

RTP_TIME_BASE = Fraction(1, RTP_CLOCK_RATE)
ANCHOR_GAP_TICKS = RTP_CLOCK_RATE * 5 // 1000


@dataclass(slots=True)
class LaneProgress:
    """What a lane has done for the current generation (read by the session's state messages)."""

    generation: int = -1
    ready: bool = False
    """The seek point's picture was sent (or there is none to send)."""
    shown_at: float | None = None
    """Presentation time of the last frame sent."""
    shown_duration: float = 0.0
    ended: bool = False
    error: str | None = None
    pending_send_at: float | None = None
    """The next frame's time while it waits for the clock."""
    frames_sent: int = 0
    keyframes_sent: int = 0
    bytes_sent: int = 0


class ReplayTrack(MediaStreamTrack):
    kind = "video"

    def __init__(
        self,
        reader: LaneReader,
        clock: PlaybackClock,
        on_ready: Callable[[], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._reader = reader
        self._clock = clock
        self._on_ready = on_ready
        self._now = monotonic
        self._epoch = monotonic()
        self._last_rtp = -1
        self._in_burst = False
        self._anchor: tuple[int, float] | None = None
        """(RTP time, clock position) of the last anchor, until the next frame is placed after it."""
        self._shift = 0
        self.progress = LaneProgress()

    def restart(self, position: float, generation: int) -> None:
        """A seek: forget the old generation and read from ``position``."""
        self.progress = LaneProgress(generation=generation)
        self._in_burst = False
        self._anchor = None
        self._shift = 0
        self._reader.start_at(position, generation, keyframes_only=self._clock.keyframes_only)

    async def recv(self) -> av.Packet[Any]:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            generation, item = await self._reader.get()
            progress = self.progress
            if generation != self._clock.generation or generation != progress.generation:
                continue
            if isinstance(item, Ended):
                progress.ended = True
                self._mark_ready(progress)
                continue
            if isinstance(item, Failed):
                progress.error = item.message
                self._mark_ready(progress)
                continue
            packet = await self._place(item, generation, progress)
            if packet is not None:
                return packet

    def stop(self) -> None:
        super().stop()
        self._reader.close()

    # ---- internals -------------------------------------------------------------------------------------

    async def _place(
        self, delivery: Delivery, generation: int, progress: LaneProgress
    ) -> av.Packet[Any] | None:
        frame = delivery.frame
        if delivery.catch_up or delivery.anchor:
            # Catch-up frames are stamped one tick apart, the anchor a few milliseconds after the last of
            # them (below one display refresh, yet enough for a browser's renderer to keep the anchor).
            if delivery.anchor and self._in_burst:
                rtp = self._last_rtp + ANCHOR_GAP_TICKS
            elif self._in_burst:
                rtp = self._last_rtp + 1
            else:
                rtp = max(self._ticks(self._now()), self._last_rtp + 1)
            if delivery.anchor:
                self._anchor = (rtp, self._clock.position())
            self._in_burst = delivery.catch_up
            packet = self._packet(frame, rtp, progress)
            if delivery.anchor:
                self._mark_ready(progress)
            return packet
        self._mark_ready(progress)  # the seek point is in a gap: nothing to show until this frame
        progress.pending_send_at = frame.send_at
        reached = await self._clock.wait_reached(frame.send_at, generation)
        if progress is not self.progress:
            return None
        progress.pending_send_at = None
        if not reached:
            return None
        rtp = self._ticks(self._clock.monotonic_at(frame.at))
        if self._anchor is not None:
            # The anchor went out stamped ahead of the clock: keep the following frames after it.
            anchor_rtp, anchor_position = self._anchor
            self._anchor = None
            self._shift = max(0, anchor_rtp + 1 - self._ticks(self._clock.monotonic_at(anchor_position)))
        rtp += self._shift
        if frame.at == frame.send_at:
            rtp = max(rtp, self._last_rtp + 1)
        return self._packet(frame, rtp, progress)

    def _mark_ready(self, progress: LaneProgress) -> None:
        if not progress.ready:
            progress.ready = True
            self._on_ready()

    def _ticks(self, monotonic: float) -> int:
        return round((monotonic - self._epoch) * RTP_CLOCK_RATE)

    def _packet(self, frame: Frame, rtp: int, progress: LaneProgress) -> av.Packet[Any]:
        self._last_rtp = max(self._last_rtp, rtp)
        packet = av.Packet(frame.data)
        packet.pts = rtp
        packet.dts = rtp
        packet.time_base = RTP_TIME_BASE
        packet.is_keyframe = frame.keyframe
        progress.shown_at = frame.at
        progress.shown_duration = frame.duration
        progress.frames_sent += 1
        progress.keyframes_sent += int(frame.keyframe)
        progress.bytes_sent += len(frame.data)
        return packet
