"""Wall-clock times for packets of one connection, and detection of timestamp jumps (camera restarts)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ingest.packet import ClockSource, MediaKind

JUMP_BACKWARD_S = 1.0
JUMP_FORWARD_SLACK_S = 5.0
MAX_RTCP_SKEW_S = 300.0


@dataclass(slots=True)
class _TrackClock:
    last_dts_s: float | None = None
    last_arrival: float = 0.0
    arrival_anchor: float | None = None
    rtcp_valid: bool = True


@dataclass(frozen=True, slots=True)
class Stamp:
    wall_time: float
    clock_source: ClockSource
    discontinuity: bool


class PacketClock:
    """Stamps packets of one connection with wall-clock times.

    Uses the camera's RTCP sender reports when FFmpeg has seen one (``start_time_realtime``), unless
    that clock is off from ours by more than ``max_rtcp_skew_s``; otherwise the arrival time of the
    first packet plus timestamp offsets. A dts that goes back more than a second, or forward much
    further than real time passed, is a discontinuity: the track re-anchors on arrival time.
    """

    def __init__(self, max_rtcp_skew_s: float = MAX_RTCP_SKEW_S) -> None:
        self.max_rtcp_skew_s = max_rtcp_skew_s
        self._tracks: dict[MediaKind, _TrackClock] = {}
        self.rtcp_rejected = False

    def stamp(
        self,
        kind: MediaKind,
        pts: int | None,
        dts: int | None,
        time_base: Fraction,
        arrival: float,
        rtcp_start_us: int | None,
    ) -> Stamp:
        track = self._tracks.setdefault(kind, _TrackClock())
        timestamp = pts if pts is not None else dts
        if timestamp is None:
            return Stamp(arrival, ClockSource.ARRIVAL, False)
        # Plain float arithmetic: this runs for every packet of every camera, and Fraction is slow.
        numerator, denominator = time_base.numerator, time_base.denominator
        seconds = timestamp * numerator / denominator
        order_s = dts * numerator / denominator if dts is not None else seconds
        discontinuity = self._jumped(track, order_s, arrival)
        if discontinuity:
            track.rtcp_valid = False
            track.arrival_anchor = arrival - seconds
        track.last_dts_s = order_s
        track.last_arrival = arrival

        if rtcp_start_us is not None and track.rtcp_valid and not self.rtcp_rejected:
            wall = rtcp_start_us / 1e6 + seconds
            if abs(wall - arrival) <= self.max_rtcp_skew_s:
                return Stamp(wall, ClockSource.RTCP, discontinuity)
            self.rtcp_rejected = True
        if track.arrival_anchor is None:
            track.arrival_anchor = arrival - seconds
        return Stamp(track.arrival_anchor + seconds, ClockSource.ARRIVAL, discontinuity)

    @staticmethod
    def _jumped(track: _TrackClock, order_s: float, arrival: float) -> bool:
        if track.last_dts_s is None:
            return False
        delta = order_s - track.last_dts_s
        return delta < -JUMP_BACKWARD_S or delta > (arrival - track.last_arrival) + JUMP_FORWARD_SLACK_S
