"""App assembly entry points: the API routers of every part, ``serve`` and ``run_demo``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn
from fastapi import APIRouter, FastAPI

from vms.config import Settings

if TYPE_CHECKING:
    from recorder.metrics import RecorderMetrics
    from vms.context import CoreServices

log = logging.getLogger("vms")


def part_routers(metrics: RecorderMetrics | None = None) -> list[APIRouter]:
    """The API routers contributed by the parts built on the core."""
    from evidence.api import evidence_routers
    from evidence.package_api import evidence_package_router
    from recorder.api import recording_router
    from recorder.metrics import RecorderMetrics, metrics_router
    from viewer.replay.api import replay_router
    from viewer.routes import viewer_routers
    from viewer.webrtc.api import webrtc_router

    return [
        # First: its fixed /api/evidence/public-key paths must not be taken for an evidence item id.
        evidence_package_router(),
        *evidence_routers(),
        recording_router(),
        metrics_router(metrics or RecorderMetrics()),
        webrtc_router(),
        replay_router(),
        *viewer_routers(),
    ]


def create_app(core: CoreServices, metrics: RecorderMetrics | None = None) -> FastAPI:
    from vms.api.app import build_api

    return build_api(core, extra_routers=part_routers(metrics))


def serve(settings: Settings) -> None:
    """Run a node in the foreground until interrupted (Ctrl-C or SIGTERM)."""
    from vms.assembly.node import YardNode

    node = YardNode(settings)
    try:
        core = node.start()
        app = create_app(core, node.metrics)
        log.info("yard-vms listening on http://%s:%s", settings.http.host, settings.http.port)
        run_http(app, settings.http.host, settings.http.port, log_level="info")
    finally:
        node.stop()


def run_http(app: FastAPI, host: str, port: int, log_level: str) -> None:
    """Serve until SIGINT/SIGTERM, then return (uvicorn alone would re-raise the signal and kill the process
    before the node has flushed its recordings and stopped its children)."""
    from vms.api.http_protocol import uvicorn_config

    _NodeServer(uvicorn_config(app, host=host, port=port, log_level=log_level)).run()


class _NodeServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals.clear()


def run_demo(settings: Settings, cameras: int = 4) -> None:
    from vms.assembly.demo import run_demo as _run

    _run(settings, cameras)
