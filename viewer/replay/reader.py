"""A lane's reader thread: runs the lane's :class:`LaneSource` from the position it is told and hands the
deliveries to the event loop through a bounded queue (back-pressure: the thread reads at most
``queue_frames`` ahead of what was sent). Every item carries the clock generation it was read for; a seek
starts a new generation, and items of older ones are dropped by the consumer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from dataclasses import dataclass

from viewer.replay.source import Delivery, LaneSource, MediaError
from vms.storage import StorageError

log = logging.getLogger("viewer.replay")

DEFAULT_QUEUE_FRAMES = 90


@dataclass(frozen=True, slots=True)
class Ended:
    """No more footage from the requested position on."""


@dataclass(frozen=True, slots=True)
class Failed:
    message: str


ReaderItem = Delivery | Ended | Failed


@dataclass(frozen=True, slots=True)
class _Request:
    position: float
    generation: int
    keyframes_only: bool


class LaneReader:
    """Create and use it from the event loop; the thread is its own."""

    def __init__(self, source: LaneSource, name: str, queue_frames: int = DEFAULT_QUEUE_FRAMES) -> None:
        self.source = source
        self.name = name
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[int, ReaderItem]] = asyncio.Queue(maxsize=queue_frames)
        self._wake = threading.Condition()
        self._request: _Request | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"replay-{name}", daemon=True)
        self._thread.start()

    def start_at(self, position: float, generation: int, *, keyframes_only: bool) -> None:
        """Read from ``position`` on for ``generation`` (what was queued before is dropped)."""
        while not self._queue.empty():
            self._queue.get_nowait()
        with self._wake:
            self._request = _Request(position, generation, keyframes_only)
            self._wake.notify_all()

    async def get(self) -> tuple[int, ReaderItem]:
        return await self._queue.get()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        while not self._queue.empty():
            self._queue.get_nowait()  # unblocks a put waiting for room
        self.source.close()

    # ---- the thread ------------------------------------------------------------------------------------

    def _run(self) -> None:
        done: _Request | None = None
        while True:
            with self._wake:
                while not self._closed and (self._request is None or self._request is done):
                    self._wake.wait()
                if self._closed:
                    return
                request = self._request
            assert request is not None
            done = request
            self._read(request)

    def _stale(self, request: _Request) -> bool:
        return self._closed or self._request is not request

    def _read(self, request: _Request) -> None:
        try:
            for delivery in self.source.deliveries(
                request.position, keyframes_only=request.keyframes_only, stop=lambda: self._stale(request)
            ):
                if not self._put(request, delivery):
                    return
            self._put(request, Ended())
        except (MediaError, StorageError, OSError) as exc:
            log.warning("replay lane %s: footage cannot be read: %s", self.name, exc)
            self._put(request, Failed(f"the recording cannot be read: {exc}"))
        except Exception as exc:
            log.exception("replay lane %s: reader failed", self.name)
            self._put(request, Failed(f"the recording cannot be read: {type(exc).__name__}"))

    def _put(self, request: _Request, item: ReaderItem) -> bool:
        """Queue ``item`` (waiting for room); False once the request is stale."""
        while not self._stale(request):
            try:
                future = asyncio.run_coroutine_threadsafe(
                    self._put_soon(request.generation, item), self._loop
                )
                if future.result(timeout=1.0):
                    return True
            except concurrent.futures.TimeoutError:
                future.cancel()
            except (RuntimeError, concurrent.futures.CancelledError):  # the loop is closed or closing
                return False
        return False

    async def _put_soon(self, generation: int, item: ReaderItem) -> bool:
        try:
            await asyncio.wait_for(self._queue.put((generation, item)), timeout=0.4)
        except TimeoutError:
            return False
        return True
