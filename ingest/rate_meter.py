"""Sliding-window rates (frames per second, bits per second) of a packet stream."""

from __future__ import annotations

import collections
import time

SAMPLE_EVERY_S = 0.5


class RateMeter:
    """Counts events and their sizes; ``rates()`` covers about the last ``window_s`` seconds.

    ``add`` runs for every packet of every camera, so it only bumps two counters and, twice a second,
    remembers them; one thread adds, any thread may read.
    """

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._events = 0
        self._bytes = 0
        self._next_sample = 0.0
        self._samples: collections.deque[tuple[float, int, int]] = collections.deque(
            maxlen=int(window_s / SAMPLE_EVERY_S) + 2
        )

    def add(self, size: int, now: float | None = None) -> None:
        self._events += 1
        self._bytes += size
        moment = time.monotonic() if now is None else now
        if moment >= self._next_sample:
            self._next_sample = moment + SAMPLE_EVERY_S
            self._samples.append((moment, self._events, self._bytes))

    def reset(self) -> None:
        self._samples.clear()
        self._next_sample = 0.0

    def rates(self, now: float | None = None) -> tuple[float, float]:
        """(events per second, bits per second) over the window; (0, 0) until there is anything to measure."""
        moment = time.monotonic() if now is None else now
        recent = [sample for sample in list(self._samples) if moment - sample[0] <= self.window_s]
        if not recent:
            return 0.0, 0.0
        started, events, size = recent[0]
        span = moment - started
        if span < 1e-3 or self._events - events < 1:
            return 0.0, 0.0
        return (self._events - events) / span, (self._bytes - size) * 8 / span
