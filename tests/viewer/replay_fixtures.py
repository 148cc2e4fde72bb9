"""Recorded footage for replay tests, and a replay node serving it over real HTTP.

Footage: H.264 whose every frame shows its own frame number as a 12-bit pattern of black and white blocks
(frame ``n`` of a camera is recorded at ``T0 + n / 25`` s, so a decoded picture says exactly which moment
of the recording it is, without OCR). It is cut into fragmented-MP4 segments by the recorder's own
:class:`SegmentWriter` (fed through a real stream hub, faster than real time), uploaded to the real
SeaweedFS and indexed, like a camera's recording. Body-cam items are ordinary MP4 files made by ffmpeg
(H.264 High with B-frames, H.265), stored in the same object store and registered as evidence items.
"""

from __future__ import annotations

import functools
import hashlib
import io
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest
import uvicorn

from bench.footage import Footage, footage_from_h264, record_footage
from evidence.models import EvidenceItem, EvidenceKind, TimeSource
from recorder.index import NewSegment, SegmentIndex
from recorder.models import StreamKind
from recorder.segment_files import SpooledSegment
from tests.vms.api.api_helpers import PASSWORD, issue_token
from viewer.replay.api import replay_registry, replay_router
from viewer.replay.session import ReplayRegistry
from viewer.webrtc.settings import LiveSettings
from vms.api.app import build_api
from vms.config import Settings
from vms.context import CoreServices
from vms.db.models import Camera, InspectionBatch, Role
from vms.storage import ObjectStore

T0 = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
"""Frame 0 of every test camera (08:30 in the yard's time zone)."""
FPS = 25
FRAME_S = 1 / FPS
GOP = 25
WIDTH, HEIGHT = 320, 240
BITS = 12
_BLOCK, _PITCH, _MARGIN, _COLUMNS = 48, 56, 16, 4
SEGMENT_SECONDS = 10.0
LOOPBACK_ONLY = LiveSettings(ice_host_addresses=("127.0.0.1",), ice_loopback=True, connect_timeout_s=20)


# ---- footage --------------------------------------------------------------------------------------------


def block_origin(bit: int) -> tuple[int, int]:
    row, column = divmod(bit, _COLUMNS)
    return _MARGIN + column * _PITCH, _MARGIN + row * _PITCH


def draw_number(frame: av.VideoFrame, number: int, background: int) -> None:
    """Paint ``number`` as blocks (white = 1) on a flat ``background`` luma."""
    luma = bytearray([background]) * (frame.planes[0].line_size * HEIGHT)
    pitch = frame.planes[0].line_size
    for bit in range(BITS):
        value = 235 if number >> bit & 1 else 16
        x0, y0 = block_origin(bit)
        for y in range(y0, y0 + _BLOCK):
            luma[y * pitch + x0 : y * pitch + x0 + _BLOCK] = bytes([value]) * _BLOCK
    frame.planes[0].update(bytes(luma))
    for plane in frame.planes[1:]:
        plane.update(bytes([128]) * plane.buffer_size)


def read_number(frame: av.VideoFrame) -> int:
    """The number a decoded picture shows (see :func:`draw_number`)."""
    gray = frame if frame.format.name in ("yuv420p", "yuvj420p") else frame.reformat(format="yuv420p")
    plane = gray.planes[0]
    pitch = plane.line_size
    data = bytes(plane)
    scale_x, scale_y = gray.width / WIDTH, gray.height / HEIGHT
    number = 0
    for bit in range(BITS):
        x0, y0 = block_origin(bit)
        cx, cy = int((x0 + _BLOCK / 2) * scale_x), int((y0 + _BLOCK / 2) * scale_y)
        samples = [data[(cy + dy) * pitch + cx + dx] for dy in range(-4, 5, 2) for dx in range(-4, 5, 2)]
        if sum(samples) / len(samples) > 128:
            number |= 1 << bit
    return number


def frame_time(number: int) -> datetime:
    return T0 + timedelta(seconds=number * FRAME_S)


@functools.cache
def numbered_video(frames: int, background: int) -> Footage:
    """``frames`` frames of 320x240 25 fps H.264 (keyframe every second), frame n showing n."""
    raw = io.BytesIO()
    with av.open(raw, "w", format="h264") as out:
        stream = out.add_stream(
            "libx264", rate=FPS, options={"g": str(GOP), "tune": "zerolatency", "preset": "ultrafast"}
        )
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            draw_number(frame, i, background)
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    raw.seek(0)
    return footage_from_h264(raw, WIDTH, HEIGHT, FPS)


def record(
    spool_dir: Path, camera_id: int, code: str, blocks: list[tuple[int, int]], background: int
) -> list[SpooledSegment]:
    """Record frames ``[first, last)`` of each block with the recorder's SegmentWriter: one camera
    connection per block (the holes between blocks are recording gaps)."""
    video = numbered_video(max(last for _, last in blocks), background)
    return record_footage(
        video,
        spool_dir,
        camera_id,
        code,
        frame_time=frame_time,
        fps=FPS,
        segment_seconds=SEGMENT_SECONDS,
        blocks=blocks,
    )


def bodycam_file(path: Path, codec: str, seconds: int = 6) -> Path:
    """An ordinary (non-fragmented) MP4 as a body camera writes it: H.264 High with B-frames, or H.265."""
    encoder = ["-c:v", "libx264", "-profile:v", "high", "-bf", "2", "-g", "30"]
    if codec == "hevc":
        encoder = ["-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1"]
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size=320x240:rate=30:duration={seconds}",
            *encoder,
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
    )
    return path


# ---- the node -------------------------------------------------------------------------------------------


@dataclass
class ReplayNode:
    base_url: str
    core: CoreServices
    registry: ReplayRegistry
    bucket: str
    camera_ids: dict[str, int] = field(default_factory=dict)
    item_ids: dict[str, int] = field(default_factory=dict)
    _tokens: dict[Role, str] = field(default_factory=dict)

    def headers(self, role: Role) -> dict[str, str]:
        if role not in self._tokens:
            self.core.auth.create_user(role.value, PASSWORD, role)
            self._tokens[role] = issue_token(self.core, role.value)
        return {"Authorization": f"Bearer {self._tokens[role]}"}

    def add_camera(self, code: str, segments: list[SpooledSegment]) -> int:
        assert self.core.store is not None
        with self.core.db.session() as s:
            camera = Camera(code=code, name=f"{code} 摄像机", main_url=f"rtsp://127.0.0.1/{code}")
            s.add(camera)
            s.flush()
            camera_id = camera.id
        index = SegmentIndex(self.core.db)
        for seg in segments:
            key = f"{camera_id}/{seg.header.uid}.mp4"
            self.core.store.put_file(self.bucket, key, seg.media_path, content_type="video/mp4")
            index.insert_segment(
                NewSegment(
                    camera_id=camera_id,
                    stream=StreamKind.MAIN,
                    start_at=seg.start_at,
                    end_at=seg.end_at,
                    clock_source=seg.header.clock_source,
                    bucket=self.bucket,
                    object_key=key,
                    size_bytes=seg.size_bytes,
                    sha256=seg.sha256,
                    video_codec=seg.header.video_codec,
                    width=seg.header.width,
                    height=seg.header.height,
                )
            )
        self.camera_ids[code] = camera_id
        return camera_id

    def add_item(
        self, name: str, path: Path, recorded_start: datetime, kind: EvidenceKind = EvidenceKind.VIDEO
    ) -> int:
        """Store a body-cam file and register it as an evidence item of batch ``B-REPLAY``."""
        assert self.core.store is not None
        key = f"evidence/{name}"
        self.core.store.put_file(self.bucket, key, path, content_type="video/mp4")
        with av.open(str(path)) as probe:
            video = probe.streams.video[0]
            duration = float(probe.duration or 0) / 1_000_000
            codec = video.codec_context.name
        data = path.read_bytes()
        with self.core.db.session() as s:
            batch = s.query(InspectionBatch).filter_by(number="B-REPLAY").one_or_none()
            if batch is None:
                batch = InspectionBatch(number="B-REPLAY")
                s.add(batch)
                s.flush()
            item = EvidenceItem(
                batch_id=batch.id,
                kind=kind,
                original_filename=name,
                content_type="video/mp4",
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                bucket=self.bucket,
                object_key=key,
                uploaded_by="inspector",
                recorded_start=recorded_start,
                recorded_end=recorded_start + timedelta(seconds=duration),
                time_source=TimeSource.CONTAINER,
                media={
                    "container": "mp4",
                    "duration_s": duration,
                    "video_codec": codec,
                    "width": 320,
                    "height": 240,
                },
                retention_until=recorded_start + timedelta(days=365),
            )
            s.add(item)
            s.flush()
            item_id = item.id
        self.item_ids[name] = item_id
        return item_id


ReplayNodeFactory = Callable[[], ReplayNode]


@pytest.fixture
def replay_node_factory(
    settings_factory: Callable[..., Settings], tmp_path: Path, object_store: ObjectStore, bucket: str
) -> Iterator[ReplayNodeFactory]:
    """``replay_node_factory()``: core on SQLite with the real object store, the replay router served by
    uvicorn on a free 127.0.0.1 port. Add footage with ``add_camera``/``add_item``."""
    started: list[tuple[ReplayNode, uvicorn.Server, threading.Thread]] = []

    def make() -> ReplayNode:
        settings = settings_factory(database={"url": f"sqlite:///{tmp_path / 'replay.sqlite3'}"})
        core = CoreServices.create(settings, store=object_store)
        router = replay_router(LOOPBACK_ONLY)
        node = ReplayNode(base_url="", core=core, registry=replay_registry(router), bucket=bucket)
        server, thread, port = serve(build_api(core, extra_routers=[router]))
        node.base_url = f"http://127.0.0.1:{port}"
        started.append((node, server, thread))
        return node

    yield make
    for node, server, thread in started:
        server.should_exit = True
        thread.join(timeout=10)
        node.core.db.dispose()


@pytest.fixture(scope="session")
def recorded_cameras(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[SpooledSegment]]:
    """Segments of two cameras, recorded once per session: ``yard-a`` from T0 to T0+40 s and again from
    T0+50 s to T0+70 s (a 10 s gap), ``yard-b`` from T0 to T0+40 s (another picture background)."""
    root = tmp_path_factory.mktemp("replay-spool")
    return {
        "yard-a": record(root / "a", 1, "yard-a", [(0, 40 * FPS), (50 * FPS, 70 * FPS)], background=90),
        "yard-b": record(root / "b", 2, "yard-b", [(0, 40 * FPS)], background=170),
    }


def serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="uvicorn")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test HTTP server did not start")
        time.sleep(0.02)
    return server, thread, port
