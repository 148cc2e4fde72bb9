"""The RTP clock one viewer is sent: continuous across camera reconnects, fast through the cached GOP.

Input timestamps are the camera's, converted to 90 kHz; they restart when the camera reconnects (a new hub
epoch) or jumps. The output clock never goes back: after such a jump it resumes where it stopped, plus the
wall-clock time the hole lasted, so the browser's jitter buffer keeps going.

A new viewer first gets the hub's cached GOP (up to a few seconds old) and whatever arrived while the
connection was set up. Sending that at real-time speed would leave the viewer that far behind live for
good, so the backlog is played at ``catch_up_speed`` (timestamps and sending pace both compressed) until
the viewer's queue runs dry; from then on packets go out as they arrive, on the camera's own clock.
"""

from __future__ import annotations

from dataclasses import dataclass

RTP_CLOCK_RATE = 90000
DEFAULT_FRAME_TICKS = RTP_CLOCK_RATE // 25
DEFAULT_CATCH_UP_SPEED = 8.0


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a packet goes on the output clock, and the monotonic time not to send it before."""

    rtp_time: int
    send_at: float


class Timeline:
    def __init__(self, catch_up_speed: float = DEFAULT_CATCH_UP_SPEED) -> None:
        self._speed = catch_up_speed
        self._catching_up = True
        self._offset: int | None = None  # output = input + offset, once live
        self._catch_up_origin: tuple[int, int, float] | None = None  # (input, output, monotonic) at start
        self._last_input: int | None = None
        self._last_output = 0
        self._last_sent: float | None = None
        self._frame_ticks = DEFAULT_FRAME_TICKS

    @property
    def catching_up(self) -> bool:
        return self._catching_up

    def restart(self) -> None:
        """The next packet's timestamp is unrelated to the last one (new epoch or camera clock jump)."""
        self._offset = None
        self._catch_up_origin = None
        self._last_input = None

    def place(self, input_time: int, *, now: float, backlog_left: bool) -> Placement:
        """Place one packet (decode order). ``backlog_left``: more packets are queued behind this one."""
        if self._last_input is not None and input_time > self._last_input:
            self._frame_ticks = min(input_time - self._last_input, RTP_CLOCK_RATE)
        if self._catching_up:
            placement = self._place_catching_up(input_time, now)
            if not backlog_left:
                self._catching_up = False
                self._offset = placement.rtp_time - input_time
        else:
            if self._offset is None:
                self._offset = self._resume_offset(input_time, now)
            placement = Placement(max(input_time + self._offset, 0), now)
        self._last_input = input_time
        self._last_output = max(self._last_output, placement.rtp_time)
        self._last_sent = max(now, placement.send_at)
        return placement

    def _place_catching_up(self, input_time: int, now: float) -> Placement:
        if self._catch_up_origin is None:
            start_output = self._resume_offset(input_time, now) + input_time
            self._catch_up_origin = (input_time, start_output, now)
        origin_input, origin_output, origin_time = self._catch_up_origin
        elapsed = max(input_time - origin_input, 0) / self._speed
        return Placement(
            rtp_time=origin_output + round(elapsed),
            send_at=origin_time + elapsed / RTP_CLOCK_RATE,
        )

    def _resume_offset(self, input_time: int, now: float) -> int:
        """Offset that puts ``input_time`` right after the last output, plus the time since it was sent."""
        if self._last_sent is None:
            return -input_time
        hole = max(round((now - self._last_sent) * RTP_CLOCK_RATE), self._frame_ticks)
        return self._last_output + hole - input_time
