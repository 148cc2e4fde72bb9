"""The playback clock of one replay session: every lane of the session is paced by it.

``position`` is a wall time of the recording (UTC epoch seconds, on the yard clock). While playing it
advances at ``rate`` recording seconds per real second; paused, it stands still (``step`` moves it by
hand). A seek bumps ``generation`` (lanes drop what they were about to send) and *holds* the clock at the
new position until every lane has delivered its picture for that position (:meth:`release`), so that all
lanes start together from the seek point whatever each took to fetch its footage.

Lives in the event loop's thread; not thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

MIN_RATE = 0.5
MAX_RATE = 16.0
MAX_EVERY_FRAME_RATE = 4.0
"""Up to this rate every frame is sent; faster, keyframes only."""


class PlaybackClock:
    def __init__(
        self,
        position: float,
        *,
        rate: float = 1.0,
        playing: bool = True,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._now = monotonic
        self._position = position
        self._since = monotonic()
        self._rate = rate
        self._playing = playing
        self._holding = False
        self.generation = 0
        self._changed = asyncio.Event()

    # ---- reading ---------------------------------------------------------------------------------------

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def playing(self) -> bool:
        """The user's choice (play or pause); see :attr:`running` for whether time moves now."""
        return self._playing

    @property
    def holding(self) -> bool:
        """Waiting, after a seek, for the lanes' first pictures."""
        return self._holding

    @property
    def running(self) -> bool:
        return self._playing and not self._holding

    @property
    def keyframes_only(self) -> bool:
        return self._rate > MAX_EVERY_FRAME_RATE

    def position(self, now: float | None = None) -> float:
        if not self.running:
            return self._position
        elapsed = (self._now() if now is None else now) - self._since
        return self._position + max(0.0, elapsed) * self._rate

    def monotonic_at(self, at: float) -> float:
        """When (monotonic) the clock is or was at ``at`` while running as now; ``now`` if stopped."""
        if not self.running:
            return self._now()
        return self._since + (at - self._position) / self._rate

    async def wait_reached(self, at: float, generation: int) -> bool:
        """Wait until the position reaches ``at``; False as soon as ``generation`` is not current."""
        while True:
            if generation != self.generation:
                return False
            now = self._now()
            position = self.position(now)
            if position >= at:
                return True
            changed = self._changed
            if not self.running:
                await changed.wait()
                continue
            delay = (at - position) / self._rate
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=delay)

    # ---- commands --------------------------------------------------------------------------------------

    def seek(self, position: float) -> int:
        """Jump to ``position`` and hold until :meth:`release`; returns the new generation."""
        self._position = position
        self._since = self._now()
        self._holding = True
        self.generation += 1
        self._signal()
        return self.generation

    def release(self, generation: int) -> None:
        """The lanes are ready for ``generation``'s seek: time may move again."""
        if generation == self.generation and self._holding:
            self._position = self.position()
            self._holding = False
            self._since = self._now()
            self._signal()

    def play(self) -> None:
        if not self._playing:
            self._position = self.position()
            self._since = self._now()
            self._playing = True
            self._signal()

    def pause(self) -> None:
        if self._playing:
            self._position = self.position()
            self._playing = False
            self._signal()

    def set_rate(self, rate: float) -> None:
        if not MIN_RATE <= rate <= MAX_RATE:
            raise ValueError(f"the rate must be between {MIN_RATE:g} and {MAX_RATE:g}")
        self._position = self.position()
        self._since = self._now()
        self._rate = rate
        self._signal()

    def step_to(self, position: float) -> None:
        """Paused: move the position forward by hand (the lanes send the frames it passes)."""
        if position > self._position and not self.running:
            self._position = position
            self._signal()

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
