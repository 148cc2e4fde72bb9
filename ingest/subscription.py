"""A subscriber's bounded queue on a StreamHub, readable from a thread or from asyncio."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

from ingest.description import StreamDescription
from ingest.packet import GapReason, MediaKind, MediaPacket, StreamGap

HubItem = MediaPacket | StreamDescription | StreamGap
"""What a subscription yields, in order (see ``ingest.packet`` for the sequence rules)."""


class DeliveryMode(enum.StrEnum):
    """How a subscription copes when its reader falls behind."""

    LOSSLESS = "lossless"
    """Never skips while the queue has room (recorder). On overflow the hub drops new packets, then sends
    a StreamGap(OVERFLOW) and resumes at the next keyframe once the reader has caught up."""
    LOSSY = "lossy"
    """Live viewing: on overflow the queued packets are thrown away and delivery resumes at the next
    keyframe, so a slow viewer lands back near live."""


class SubscriptionClosed(Exception):
    """The subscription or its hub was closed and everything queued has been read."""


@dataclass(frozen=True, slots=True)
class SubscriptionStats:
    """Counters of one subscription, for status pages."""

    name: str
    mode: DeliveryMode
    queued_packets: int
    queued_bytes: int
    delivered_packets: int
    dropped_packets: int
    gaps: int


class Subscription:
    """Items from one StreamHub for one consumer. Create with ``StreamHub.subscribe``.

    Read with ``get()`` (blocking, for threads), ``await get_async()`` (asyncio), or iterate
    (``for item in sub`` / ``async for item in sub``) until the subscription or hub closes.
    """

    def __init__(
        self,
        name: str,
        mode: DeliveryMode,
        max_bytes: int,
        max_packets: int | None,
        on_close: Callable[[Subscription], None],
    ) -> None:
        self.name = name
        self.mode = mode
        self.max_bytes = max_bytes
        self.max_packets = max_packets
        self._on_close = on_close
        self._lock = threading.Condition()
        self._queue: collections.deque[HubItem] = collections.deque()
        self._queued_bytes = 0
        self._queued_packets = 0
        self._closed = False
        self._skipping = False
        self._pending_gap_dropped = 0
        self._pending_gap_bytes = 0
        self._pending_gap_wall_time = 0.0
        self._delivered = 0
        self._dropped = 0
        self._gaps = 0
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    # ---- reading -------------------------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> HubItem:
        """Next item; blocks up to ``timeout`` seconds (forever if ``None``).

        Raises ``TimeoutError`` when nothing came in time and ``SubscriptionClosed`` once closed and drained.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                item = self._pop_locked()
                if item is not None:
                    return item
                if self._closed:
                    raise SubscriptionClosed(self.name)
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"no stream data for subscriber {self.name!r} within {timeout} s")
                self._lock.wait(remaining)

    def take_all(self) -> list[HubItem]:
        """Everything queued now, without waiting (may be empty).

        For consumers that poll in batches, so that a camera's packets do not wake them one by one.
        Raises ``SubscriptionClosed`` once closed and drained.
        """
        with self._lock:
            items: list[HubItem] = []
            while (item := self._pop_locked()) is not None:
                items.append(item)
            if not items and self._closed:
                raise SubscriptionClosed(self.name)
            return items

    async def get_async(self) -> HubItem:
        """Next item, awaiting without blocking the event loop. Raises ``SubscriptionClosed`` when done."""
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                item = self._pop_locked()
                if item is not None:
                    return item
                if self._closed:
                    raise SubscriptionClosed(self.name)
                waiter: asyncio.Future[None] = loop.create_future()
                self._async_waiters.append((loop, waiter))
            try:
                await waiter
            finally:
                with self._lock:
                    if (loop, waiter) in self._async_waiters:
                        self._async_waiters.remove((loop, waiter))

    def __iter__(self) -> Iterator[HubItem]:
        while True:
            try:
                yield self.get()
            except SubscriptionClosed:
                return

    async def __aiter__(self) -> AsyncIterator[HubItem]:
        while True:
            try:
                yield await self.get_async()
            except SubscriptionClosed:
                return

    def close(self) -> None:
        """Stop receiving; items already queued can still be read."""
        self._on_close(self)
        self._mark_closed()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def stats(self) -> SubscriptionStats:
        with self._lock:
            return SubscriptionStats(
                name=self.name,
                mode=self.mode,
                queued_packets=self._queued_packets,
                queued_bytes=self._queued_bytes,
                delivered_packets=self._delivered,
                dropped_packets=self._dropped,
                gaps=self._gaps,
            )

    # ---- called by the hub (from the source thread) --------------------------------------------------

    def _offer(self, item: HubItem) -> None:
        with self._lock:
            if self._closed:
                return
            if isinstance(item, MediaPacket):
                self._offer_packet_locked(item)
            else:
                if self._skipping:
                    # A new epoch or a lost source restarts delivery at a keyframe anyway.
                    self._emit_pending_gap_locked()
                self._push_locked(item)

    def _mark_closed(self) -> None:
        with self._lock:
            self._closed = True
            self._wake_locked()

    # ---- internals ------------------------------------------------------------------------------------

    def _offer_packet_locked(self, packet: MediaPacket) -> None:
        starts_gop = packet.kind is MediaKind.VIDEO and packet.is_keyframe
        if self._skipping:
            if starts_gop and self._has_room_locked(packet, resume=True):
                self._emit_pending_gap_locked()
                self._push_locked(packet)
            else:
                self._drop_locked(packet)
            return
        if self._has_room_locked(packet, resume=False):
            self._push_locked(packet)
            return
        # Overflow.
        self._skipping = True
        if self.mode is DeliveryMode.LOSSY:
            self._discard_queued_packets_locked()
            if starts_gop:
                self._emit_pending_gap_locked()
                self._push_locked(packet)
                return
        self._drop_locked(packet)

    def _has_room_locked(self, packet: MediaPacket, *, resume: bool) -> bool:
        # Resuming a lossless subscriber waits until it has drained half its queue, so it does not flap.
        limit_bytes = self.max_bytes // 2 if resume else self.max_bytes
        if self._queued_bytes + packet.size > limit_bytes:
            return False
        if self.max_packets is None:
            return True
        limit_packets = self.max_packets // 2 if resume else self.max_packets
        return self._queued_packets + 1 <= limit_packets

    def _discard_queued_packets_locked(self) -> None:
        kept: collections.deque[HubItem] = collections.deque()
        for queued in self._queue:
            if isinstance(queued, MediaPacket):
                self._drop_locked(queued)
            elif isinstance(queued, StreamGap) and queued.reason is GapReason.OVERFLOW:
                # Merge with the new gap, so the reader sees one hole, not two gaps in a row.
                if self._pending_gap_dropped == 0 or queued.wall_time < self._pending_gap_wall_time:
                    self._pending_gap_wall_time = queued.wall_time
                self._pending_gap_dropped += queued.dropped_packets
                self._pending_gap_bytes += queued.dropped_bytes
                self._gaps -= 1
            else:
                kept.append(queued)
        self._queue = kept
        self._queued_bytes = 0
        self._queued_packets = 0

    def _drop_locked(self, packet: MediaPacket) -> None:
        if self._pending_gap_dropped == 0 or packet.wall_time < self._pending_gap_wall_time:
            self._pending_gap_wall_time = packet.wall_time
        self._pending_gap_dropped += 1
        self._pending_gap_bytes += packet.size
        self._dropped += 1

    def _emit_pending_gap_locked(self) -> None:
        gap = StreamGap(
            reason=GapReason.OVERFLOW,
            wall_time=self._pending_gap_wall_time,
            dropped_packets=self._pending_gap_dropped,
            dropped_bytes=self._pending_gap_bytes,
            message=f"subscriber {self.name!r} fell behind; {self._pending_gap_dropped} packets skipped",
        )
        self._skipping = False
        self._pending_gap_dropped = 0
        self._pending_gap_bytes = 0
        self._gaps += 1
        self._push_locked(gap)

    def _push_locked(self, item: HubItem) -> None:
        self._queue.append(item)
        if isinstance(item, MediaPacket):
            self._queued_bytes += item.size
            self._queued_packets += 1
        self._wake_locked()

    def _pop_locked(self) -> HubItem | None:
        if not self._queue:
            return None
        item = self._queue.popleft()
        if isinstance(item, MediaPacket):
            self._queued_bytes -= item.size
            self._queued_packets -= 1
            self._delivered += 1
        return item

    def _wake_locked(self) -> None:
        self._lock.notify_all()
        for loop, waiter in self._async_waiters:
            with contextlib.suppress(RuntimeError):  # the reader's loop is closed
                loop.call_soon_threadsafe(_resolve, waiter)
        self._async_waiters.clear()


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
