"""RtspReactor: one thread that reads the media of many RTSP/TCP connections in large chunks.

FFmpeg's RTSP demuxer reads each interleaved RTP packet with three small reads, each after a ``poll``
(2 500 system calls per second for one 4 Mbit/s camera), in a thread per camera. Here one thread waits
on all sockets, wakes at most every ``tick_s`` (40 ms) and takes whatever each socket has buffered in
one ``recv``: a call per camera per tick, and one wake-up per tick for all cameras.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from typing import Protocol

log = logging.getLogger(__name__)

RECV_BYTES = 256 * 1024
TICK_S = 0.04
"""How long data may gather between reads. Live view waits up to that (20 ms on average); FFmpeg's
demuxer, which holds every frame until the next one begins, added a whole frame (40 ms at 25 fps).
Ticks of 20 ms cost about 14 % more CPU in all (docs/benchmarks.md)."""
HOUSEKEEPING_S = 0.25


class ReactorConnection(Protocol):
    """What the reactor drives. Callbacks run in the reactor thread and must not block."""

    @property
    def sock(self) -> socket.socket: ...

    def data_received(self, chunk: bytes, arrival: float) -> None: ...

    def housekeeping(self, now: float) -> None:
        """Called a few times a second: send keep-alives, raise ``TimeoutError`` on a silent camera."""

    def connection_lost(self, error: BaseException | None) -> None:
        """The connection ended (``None``: the camera closed it); the reactor has let go of it."""


class RtspReactor:
    """Reads many connections in one daemon thread, started on the first ``add``."""

    def __init__(self, name: str = "rtsp-reactor", tick_s: float = TICK_S) -> None:
        self.name = name
        self.tick_s = tick_s
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._pending: list[tuple[ReactorConnection, bool]] = []
        self._connections: set[ReactorConnection] = set()
        self._removed = threading.Condition(self._lock)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread: threading.Thread | None = None

    def add(self, connection: ReactorConnection) -> None:
        with self._lock:
            self._pending.append((connection, True))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        self._wake()

    def remove(self, connection: ReactorConnection, timeout: float = 2.0) -> None:
        """Stop reading ``connection``; when this returns no callback of it runs any more (except when
        called from the reactor thread itself, where it takes effect before the next callback)."""
        with self._lock:
            self._pending.append((connection, False))
            if threading.current_thread() is self._thread:
                return
            self._wake()
            deadline = time.monotonic() + timeout
            while any(c is connection for c, _ in self._pending) or connection in self._connections:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None or not self._thread.is_alive():
                    break
                self._removed.wait(remaining)

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    # ---- the thread -----------------------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # full: it wakes up anyway
            self._wake_w.send(b"\0")

    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            for connection, adding in pending:
                if adding:
                    if connection not in self._connections:
                        self._connections.add(connection)
                        self._selector.register(connection.sock, selectors.EVENT_READ, connection)
                elif connection in self._connections:
                    self._connections.discard(connection)
                    self._unregister(connection)
            self._removed.notify_all()

    def _unregister(self, connection: ReactorConnection) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(connection.sock)

    def _drop(self, connection: ReactorConnection, error: BaseException | None) -> None:
        with self._lock:
            if connection not in self._connections:
                return
            self._connections.discard(connection)
            self._unregister(connection)
            self._removed.notify_all()
        try:
            connection.connection_lost(error)
        except Exception:
            log.exception("%s: connection_lost failed", self.name)

    def _run(self) -> None:
        next_housekeeping = time.monotonic() + HOUSEKEEPING_S
        while True:
            started = time.monotonic()
            self._apply_pending()
            events = self._selector.select(timeout=HOUSEKEEPING_S)
            arrival = time.time()
            for key, _ in events:
                connection: ReactorConnection | None = key.data
                if connection is None:
                    with contextlib.suppress(BlockingIOError):
                        self._wake_r.recv(4096)
                    continue
                self._read(connection, arrival)
            now = time.monotonic()
            if now >= next_housekeeping:
                next_housekeeping = now + HOUSEKEEPING_S
                for connection in list(self._connections):
                    try:
                        connection.housekeeping(now)
                    except Exception as error:  # a timeout or a failed keep-alive ends that camera only
                        self._drop(connection, error)
            rest = self.tick_s - (time.monotonic() - started)
            if rest > 0 and events:
                time.sleep(rest)

    def _read(self, connection: ReactorConnection, arrival: float) -> None:
        if connection not in self._connections:
            return
        try:
            chunk = connection.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self._drop(connection, error)
            return
        if not chunk:
            self._drop(connection, None)
            return
        try:
            connection.data_received(chunk, arrival)
        except Exception as error:  # the camera's data broke this connection, not the others
            self._drop(connection, error)


_shared: RtspReactor | None = None
_shared_lock = threading.Lock()


def shared_reactor() -> RtspReactor:
    """The process's reactor, shared by every camera source that does not bring its own."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = RtspReactor()
        return _shared
