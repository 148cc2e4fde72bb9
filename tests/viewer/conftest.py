"""A live-view node for tests: real simulated RTSP cameras, their stream hubs, the WHEP router on a core
(SQLite) served by uvicorn on a free 127.0.0.1 port, and signed-in users of every role."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

from ingest.hub import StreamHub
from ingest.packet import MediaPacket
from ingest.source import CameraSource
from tests.vms.api.api_helpers import PASSWORD, issue_token
from viewer.webrtc.api import session_registry, webrtc_router
from viewer.webrtc.hubs import STREAM_HUBS_PROVIDER
from viewer.webrtc.session import SessionRegistry
from viewer.webrtc.settings import LiveSettings
from vms.api.app import build_api
from vms.api.http_protocol import uvicorn_config
from vms.config import Settings
from vms.context import CoreServices
from vms.db.models import Camera, Role

LOOPBACK_ONLY = LiveSettings(ice_host_addresses=("127.0.0.1",), ice_loopback=True, connect_timeout_s=20)


@dataclass
class LiveNode:
    base_url: str
    core: CoreServices
    registry: SessionRegistry
    camera_ids: dict[str, int] = field(default_factory=dict)
    hubs: dict[tuple[int, str], StreamHub] = field(default_factory=dict)
    sources: list[CameraSource] = field(default_factory=list)
    _tokens: dict[Role, str] = field(default_factory=dict)

    def headers(self, role: Role) -> dict[str, str]:
        """Bearer headers of a user of that role (created on first use)."""
        if role not in self._tokens:
            self.core.auth.create_user(role.value, PASSWORD, role)
            self._tokens[role] = issue_token(self.core, role.value)
        return {"Authorization": f"Bearer {self._tokens[role]}"}

    def whep_url(self, code: str, stream: str = "main") -> str:
        return f"{self.base_url}/api/cameras/{self.camera_ids[code]}/whep?stream={stream}"

    def hub(self, code: str, stream: str = "main") -> StreamHub:
        return self.hubs[(self.camera_ids[code], stream)]

    def wait_for_picture(self, code: str, stream: str = "main", timeout: float = 20.0) -> None:
        """Wait until the hub has a description and a cached keyframe (what a new viewer starts from)."""
        with self.hub(code, stream).subscribe("test-probe") as probe:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    if isinstance(probe.get(timeout=max(deadline - time.monotonic(), 0.01)), MediaPacket):
                        return
                except TimeoutError:
                    break
        raise AssertionError(f"camera {code}/{stream} sent no picture within {timeout} s")


LiveNodeFactory = Callable[..., LiveNode]


@pytest.fixture
def live_node_factory(settings_factory: Callable[..., Settings]) -> Iterator[LiveNodeFactory]:
    """``live_node_factory({"gate-1": (main_url, sub_url_or_None)}, settings=LOOPBACK_ONLY)``."""
    started: list[tuple[LiveNode, uvicorn.Server, threading.Thread]] = []

    def make(cameras: dict[str, tuple[str, str | None]], settings: LiveSettings = LOOPBACK_ONLY) -> LiveNode:
        core = CoreServices.create(settings_factory())
        router = webrtc_router(settings)
        node = LiveNode(base_url="", core=core, registry=session_registry(router))
        for code, (main_url, sub_url) in cameras.items():
            with core.db.session() as s:
                camera = Camera(code=code, name=code, main_url=main_url, sub_url=sub_url)
                s.add(camera)
                s.flush()
                node.camera_ids[code] = camera.id
            for stream, url in (("main", main_url), ("sub", sub_url)):
                if url is None:
                    continue
                hub = StreamHub(f"{code}/{stream}")
                source = CameraSource(f"{code}/{stream}", url, hub)
                source.start()
                node.hubs[(node.camera_ids[code], stream)] = hub
                node.sources.append(source)
        core.providers[STREAM_HUBS_PROVIDER] = lambda camera_id, stream: node.hubs.get((camera_id, stream))
        server, thread, port = _serve(build_api(core, extra_routers=[router]))
        node.base_url = f"http://127.0.0.1:{port}"
        started.append((node, server, thread))
        return node

    yield make
    for node, server, thread in started:
        server.should_exit = True
        thread.join(timeout=10)
        for source in node.sources:
            source.stop()
        for hub in node.hubs.values():
            hub.close()
        node.core.db.dispose()


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="uvicorn")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test HTTP server did not start")
        time.sleep(0.02)
    return server, thread, port
