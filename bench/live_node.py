"""A yard-vms live-view node for the live benchmarks (``bench.live_latency``, ``bench.live_capacity``).

The real path, outside pytest: one camera (a simulated RTSP camera looping a pre-encoded file) ->
``CameraSource`` -> ``StreamHub`` -> the WHEP router (``viewer.webrtc``) on a core with SQLite, served by
uvicorn on a free 127.0.0.1 port, and an operator's bearer token.

Run as a process of its own (so that its CPU is measured alone)::

    python -m bench.live_node RTSP_URL WORKDIR

It prints ``READY {"whep_url": ..., "token": ...}`` once the camera's picture is in the hub, then answers
``stats`` on stdin with ``STATS {...}`` (sessions, packets sent, packets the hub dropped for slow viewers)
and exits on ``quit`` or when stdin closes.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn

from ingest.hub import StreamHub
from ingest.packet import MediaPacket
from ingest.source import CameraSource
from viewer.webrtc.api import session_registry, webrtc_router
from viewer.webrtc.hubs import STREAM_HUBS_PROVIDER
from viewer.webrtc.session import SessionRegistry
from viewer.webrtc.settings import LiveSettings
from vms.api.app import build_api
from vms.auth.tokens import new_session_token, token_hash
from vms.config import load_settings
from vms.context import CoreServices
from vms.db import utcnow
from vms.db.models import AuthSession, Camera, Role, User
from vms.demo.simcam import CameraSpec, SimulatedCamera, sample_video

PASSWORD = "bench-horse-9-battery"
CAMERA_CODE = "bench-1"


def bench_settings(max_sessions: int = 1000) -> LiveSettings:
    """Loopback only (the browser and receivers run on this machine), no session limit in the way."""
    return LiveSettings(
        ice_host_addresses=("127.0.0.1",), ice_loopback=True, max_sessions=max_sessions, connect_timeout_s=30
    )


def start_camera(sample: Path | None = None) -> SimulatedCamera:
    """A camera looping ``sample`` (default: ``sample_video()``, 1080p25 H.264 Main 4 Mbit/s, GOP 2 s)."""
    spec = CameraSpec(mount="/bench", file=sample or sample_video(), width=1920, height=1080)
    return SimulatedCamera(spec).start()


@dataclass
class BenchNode:
    base_url: str
    camera_id: int
    token: str
    core: CoreServices
    hub: StreamHub
    source: CameraSource
    registry: SessionRegistry
    server: uvicorn.Server
    thread: threading.Thread

    def whep_url(self, stream: str = "main") -> str:
        return f"{self.base_url}/api/cameras/{self.camera_id}/whep?stream={stream}"

    def stats(self) -> dict[str, Any]:
        """Sessions and what they sent; packets the hub dropped for viewers that fell behind."""
        sessions = self.registry.sessions()
        subscriptions = self.hub.subscription_stats()
        return {
            "sessions": len(sessions),
            "connected": sum(1 for s in sessions if s.connected),
            "packets_sent": sum(s.track.stats.packets_sent for s in sessions),
            "bytes_sent": sum(s.track.stats.bytes_sent for s in sessions),
            "hub_dropped_packets": sum(s.dropped_packets for s in subscriptions),
            "hub_gaps": sum(s.gaps for s in subscriptions),
        }

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.source.stop()
        self.hub.close()
        self.core.db.dispose()


def start_node(rtsp_url: str, workdir: Path, settings: LiveSettings | None = None) -> BenchNode:
    """Start the node in this process (uvicorn in a thread) and wait for the camera's first keyframe."""
    workdir.mkdir(parents=True, exist_ok=True)
    core = CoreServices.create(load_settings(None, data_dir=str(workdir / "data")))
    router = webrtc_router(settings or bench_settings())
    with core.db.session() as s:
        camera = Camera(code=CAMERA_CODE, name=CAMERA_CODE, main_url=rtsp_url)
        s.add(camera)
        s.flush()
        camera_id = camera.id
    hub = StreamHub(f"{CAMERA_CODE}/main")
    source = CameraSource(f"{CAMERA_CODE}/main", rtsp_url, hub)
    source.start()
    core.providers[STREAM_HUBS_PROVIDER] = lambda cid, stream: (
        hub if (cid, stream) == (camera_id, "main") else None
    )
    server, thread, port = _serve(build_api(core, extra_routers=[router]))
    node = BenchNode(
        base_url=f"http://127.0.0.1:{port}",
        camera_id=camera_id,
        token=_operator_token(core),
        core=core,
        hub=hub,
        source=source,
        registry=session_registry(router),
        server=server,
        thread=thread,
    )
    try:
        wait_for_picture(hub)
    except BaseException:
        node.close()
        raise
    return node


def wait_for_picture(hub: StreamHub, timeout: float = 30.0) -> None:
    """Until the hub has a description and a keyframe (what a new viewer starts from)."""
    with hub.subscribe("bench-probe") as probe:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if isinstance(probe.get(timeout=max(deadline - time.monotonic(), 0.01)), MediaPacket):
                    return
            except TimeoutError:
                break
    raise RuntimeError(f"the camera sent no picture within {timeout} s")


def _operator_token(core: CoreServices) -> str:
    core.auth.create_user("bench-operator", PASSWORD, Role.OPERATOR)
    token = new_session_token()
    with core.db.session() as s:
        user = s.query(User).filter_by(username="bench-operator").one()
        now = utcnow()
        s.add(
            AuthSession(
                token_hash=token_hash(token),
                user_id=user.id,
                created_at=now,
                expires_at=now + timedelta(hours=12),
                client="bench",
            )
        )
    return token


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", backlog=1024))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="uvicorn")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the benchmark's HTTP server did not start")
        time.sleep(0.02)
    return server, thread, port


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("viewer.webrtc").setLevel(logging.INFO)
    node = start_node(argv[0], Path(argv[1]))
    try:
        print("READY " + json.dumps({"whep_url": node.whep_url(), "token": node.token}), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                print("STATS " + json.dumps(node.stats()), flush=True)
            elif command == "quit":
                break
    finally:
        node.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
