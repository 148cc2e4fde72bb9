"""The API's HTTP protocol hands request bodies on without copying them, and loses or reorders nothing."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI, Request

from vms.api.http_protocol import RECV_BYTES, PassThroughBodyProtocol, tune_allocator, uvicorn_config


def _echo_app(slow: bool) -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, object]:
        digest, size, pieces, largest = hashlib.sha256(), 0, 0, 0
        async for piece in request.stream():
            digest.update(piece)
            size += len(piece)
            pieces += 1
            largest = max(largest, len(piece))
            if slow:
                await asyncio.sleep(0.001)  # several pieces arrive before the next read: they are joined
        return {"sha256": digest.hexdigest(), "size": size, "pieces": pieces, "largest": largest}

    return app


@pytest.fixture(params=[False, True], ids=["eager", "slow-reader"])
def server(request: pytest.FixtureRequest) -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn_config(_echo_app(slow=request.param), log_level="warning", lifespan="off")
    http = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(http.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not http.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert config.http_protocol_class is PassThroughBodyProtocol
    yield sock.getsockname()[1]
    http.should_exit = True
    thread.join(10)
    sock.close()


def _answer(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))[15:]
    )
    while len(body) < length:
        body += conn.recv(65536)
    assert head.startswith(b"HTTP/1.1 200"), head
    return body


def test_bodies_arrive_whole_in_order_over_one_connection(server: int) -> None:
    rng = random.Random(7)
    with socket.create_connection(("127.0.0.1", server)) as conn:
        for size in (12 * 1024 * 1024 + 17, 1, 300_000):  # two requests and more on one keep-alive
            body = os.urandom(size)
            conn.sendall(f"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\n\r\n".encode())
            at = 0
            while at < size:  # pieces of odd sizes, now and then a pause: many body events per read
                step = rng.choice((1, 1000, 65_536, 300_000, 1_048_576))
                conn.sendall(body[at : at + step])
                at += step
                if rng.random() < 0.05:
                    time.sleep(0.002)
            answer = _answer(conn)
            assert hashlib.sha256(body).hexdigest().encode() in answer
            assert f'"size":{size},'.encode() in answer


def test_a_chunked_body_arrives_whole(server: int) -> None:
    parts = [os.urandom(n) for n in (5, 70_000, 1_000_000, 3)]
    with socket.create_connection(("127.0.0.1", server)) as conn:
        conn.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        for part in parts:
            conn.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        conn.sendall(b"0\r\n\r\n")
        answer = _answer(conn)
    assert hashlib.sha256(b"".join(parts)).hexdigest().encode() in answer


def test_a_big_body_is_read_in_pieces_larger_than_asyncio_reads(server: int) -> None:
    """asyncio reads a socket 256 KiB at a time; the API reads up to RECV_BYTES (fewer event-loop rounds per
    byte). A body sent all at once piles up in the socket, so some reads take more than 256 KiB."""
    body = os.urandom(32 * 1024 * 1024)
    with socket.create_connection(("127.0.0.1", server)) as conn:
        conn.sendall(f"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        answer = json.loads(_answer(conn))
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()
    assert answer["largest"] > 256 * 1024
    assert answer["pieces"] >= len(body) // (RECV_BYTES * 4)  # joined only while the app was not reading


def test_the_allocator_is_tuned_on_glibc() -> None:
    """CI and the deployment run Debian (glibc): mallopt takes both thresholds."""
    assert tune_allocator()
