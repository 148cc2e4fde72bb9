"""RtspReactor: many connections in one thread; one connection's failure ends only that connection."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from ingest.rtsp.reactor import RtspReactor


class Connection:
    def __init__(self, sock: socket.socket, fail_housekeeping: bool = False) -> None:
        sock.setblocking(False)
        self._sock = sock
        self.received = bytearray()
        self.lost = threading.Event()
        self.error: BaseException | None = None
        self.threads: set[str] = set()
        self._fail = fail_housekeeping

    @property
    def sock(self) -> socket.socket:
        return self._sock

    def data_received(self, chunk: bytes, arrival: float) -> None:
        self.threads.add(threading.current_thread().name)
        if chunk.startswith(b"boom"):
            raise ValueError("bad data")
        self.received += chunk

    def housekeeping(self, now: float) -> None:
        if self._fail:
            raise TimeoutError("silent")

    def connection_lost(self, error: BaseException | None) -> None:
        self.error = error
        self.lost.set()


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    made: list[tuple[socket.socket, socket.socket]] = []
    yield made
    for a, b in made:
        a.close()
        b.close()


def pair(pairs: list[tuple[socket.socket, socket.socket]]) -> tuple[socket.socket, socket.socket]:
    made = socket.socketpair()
    pairs.append(made)
    return made


def wait(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_one_thread_reads_every_connection(pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    reactor = RtspReactor(name="reactor-under-test")
    ends = [pair(pairs) for _ in range(5)]
    connections = [Connection(ours) for ours, _ in ends]
    for connection in connections:
        reactor.add(connection)
    for n, (_, camera) in enumerate(ends):
        camera.sendall(b"x" * (1000 * (n + 1)))
    wait(lambda: all(len(c.received) == 1000 * (n + 1) for n, c in enumerate(connections)))
    assert {name for c in connections for name in c.threads} == {"reactor-under-test"}
    assert reactor.connection_count == 5
    reactor.remove(connections[0])
    ends[0][1].sendall(b"after removal")
    time.sleep(0.1)
    assert len(connections[0].received) == 1000 and reactor.connection_count == 4
    assert not connections[0].lost.is_set()  # removed by its owner: no connection_lost


def test_eof_bad_data_and_silence_end_only_that_connection(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    reactor = RtspReactor()
    closed, broken, silent, healthy = (pair(pairs) for _ in range(4))
    watched = {
        "closed": Connection(closed[0]),
        "broken": Connection(broken[0]),
        "silent": Connection(silent[0], fail_housekeeping=True),
        "healthy": Connection(healthy[0]),
    }
    for connection in watched.values():
        reactor.add(connection)
    closed[1].close()
    broken[1].sendall(b"boom")
    for name in ("closed", "broken", "silent"):
        assert watched[name].lost.wait(5), name
    assert watched["closed"].error is None
    assert isinstance(watched["broken"].error, ValueError)
    assert isinstance(watched["silent"].error, TimeoutError)
    healthy[1].sendall(b"still here")
    wait(lambda: bytes(watched["healthy"].received) == b"still here")
    assert reactor.connection_count == 1 and not watched["healthy"].lost.is_set()
