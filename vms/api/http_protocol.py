"""The HTTP protocol the API is served with: uvicorn's httptools protocol less two copies of each body byte.

uvicorn 0.54 appends each piece of a request body to a ``bytearray`` and copies that into ``bytes`` again
when the app asks for it: for a body the app streams (a 2 GB evidence upload), two copies of every byte
while the event loop holds the GIL. Here a piece the app has not asked for yet is kept as the ``bytes``
object the parser made, which uvicorn's ``receive()`` hands on as it is (``bytes(b)`` of a ``bytes`` is
``b``); only when a second piece arrives before the app reads are they joined, in a ``bytearray`` as
before. Flow control and everything else are uvicorn's. ``bench/http_body.py`` measures it: 0.59 to 0.76
server CPU-s for a 2 GiB body against 1.77 to 1.98 with the stock protocol; with the two changes below,
0.36 to 0.45.

Two more things keep a streamed body cheap:

* the socket is read in pieces of up to RECV_BYTES instead of asyncio's 256 KiB, so the event loop runs
  the parser, flow control and the app's ``receive()`` a quarter as often per byte;
* glibc's allocator is told (``mallopt``) to take blocks up to MMAP_THRESHOLD from its heap and to keep up
  to TRIM_THRESHOLD of freed heap mapped. By default it adapts both to the blocks freed, and body pieces
  freed in bursts made it give the heap back and fault it in again: a page fault per 4 KiB of body,
  23 % of the event loop's CPU in ``perf`` during a 2 GB evidence upload.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

RECV_BYTES = 1024 * 1024
"""Largest piece read from a connection's socket at once."""
MMAP_THRESHOLD = 2 * 1024 * 1024
"""Blocks up to this size come from the heap (body pieces are at most RECV_BYTES)."""
TRIM_THRESHOLD = 8 * 1024 * 1024
"""Freed heap memory kept mapped for reuse (per glibc arena) before it is given back."""
_M_TRIM_THRESHOLD = -1  # <malloc.h>
_M_MMAP_THRESHOLD = -3


class PassThroughBodyProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` whose request body pieces reach the app without being copied (uvicorn 0.54's
    ``on_body``, pinned in pyproject, with the first piece kept as it came)."""

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if hasattr(transport, "max_size"):  # asyncio's socket transport reads at most this much per recv
            transport.max_size = RECV_BYTES

    def on_body(self, body: bytes) -> None:
        if (self.parser.should_upgrade() and self._should_upgrade()) or self.cycle.response_complete:
            return
        pending = self.cycle.body
        if not pending:
            self.cycle.body = body  # type: ignore[assignment]  # receive() turns it into bytes: a no-op
        elif isinstance(pending, bytearray):
            pending += body
        else:  # a second piece before the app read the first: append from now on, as uvicorn does
            self.cycle.body = bytearray(pending)
            self.cycle.body += body
        if len(self.cycle.body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        self.cycle.message_event.set()


def uvicorn_config(app: FastAPI, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for serving the API (with ``PassThroughBodyProtocol``); also tunes this
    process's allocator for request bodies (``tune_allocator``)."""
    tune_allocator()
    return uvicorn.Config(app, http=PassThroughBodyProtocol, **options)


def tune_allocator() -> bool:
    """Set glibc's mmap and trim thresholds for streamed request bodies (see the module's docstring).
    False where the C library is not glibc (nothing is changed then) or refuses a threshold."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
