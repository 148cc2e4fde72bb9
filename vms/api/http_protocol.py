"""The HTTP protocol the API is served with: uvicorn's httptools protocol less two copies of each body byte.

uvicorn 0.54 appends each piece of a request body to a ``bytearray`` and copies that into ``bytes`` again
when the app asks for it: for a body the app streams (a 2 GB evidence upload), two copies of every byte
while the event loop holds the GIL. Here a piece the app has not asked for yet is kept as the ``bytes``
object the parser made, which uvicorn's ``receive()`` hands on as it is (``bytes(b)`` of a ``bytes`` is
``b``); only when a second piece arrives before the app reads are they joined, in a ``bytearray`` as
before. Flow control and everything else are uvicorn's. ``bench/http_body.py`` measures it: 0.59 to 0.76
server CPU-s for a 2 GiB body against 1.77 to 1.98 with the stock protocol.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class PassThroughBodyProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` whose request body pieces reach the app without being copied (uvicorn 0.54's
    ``on_body``, pinned in pyproject, with the first piece kept as it came)."""

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
    """uvicorn's configuration for serving the API (with ``PassThroughBodyProtocol``)."""
    return uvicorn.Config(app, http=PassThroughBodyProtocol, **options)
