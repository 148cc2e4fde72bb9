"""Sliding-window rates (frames per second, bits per second) of a packet stream."""

from __future__ import annotations

import collections
import threading
import time


class RateMeter:
    """Counts events and their sizes over the last ``window_s`` seconds; thread-safe."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._events: collections.deque[tuple[float, int]] = collections.deque()
        self._bytes = 0
        self._lock = threading.Lock()

    def add(self, size: int, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        with self._lock:
            self._events.append((moment, size))
            self._bytes += size
            self._trim(moment)

    def reset(self) -> None:
        with self._lock:
            self._events.clear()
            self._bytes = 0

    def rates(self, now: float | None = None) -> tuple[float, float]:
        """(events per second, bits per second) over the window; (0, 0) with fewer than two events."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            self._trim(moment)
            if len(self._events) < 2:
                return 0.0, 0.0
            span = max(moment - self._events[0][0], 1e-3)
            return len(self._events) / span, self._bytes * 8 / span

    def _trim(self, now: float) -> None:
        while self._events and now - self._events[0][0] > self.window_s:
            self._bytes -= self._events.popleft()[1]
