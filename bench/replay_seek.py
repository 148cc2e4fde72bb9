"""Replay over WebRTC: seek to the first decoded frame, and the start of a 4-lane replay.

    .venv/bin/python -m bench.replay_seek [--seconds 180] [--cameras 4] [--seeks 30] [--starts 10]
                                          [--seek-lanes 1,4] [--variants 1080p,360p] [--json out.json]

Footage: the simulated camera's pre-encoded sample (``vms.demo.simcam.sample_video()``, 1080p25 H.264
~4 Mbit/s) re-encoded once with every frame's number painted on it as blocks (the layout
``tests/viewer/replay_fixtures.read_number`` reads, so a decoded picture says which recorded moment it
is), keyframe every 2 s, SPS/PPS in band, no B-frames; cut into 10 s fragmented-MP4 segments by the
recorder's own ``SegmentWriter`` (fed through a ``StreamHub`` faster than real time), uploaded to an
``EmbeddedSeaweed`` under the uploader's key layout and indexed in SQLite, for N cameras.

The replay node (the core API plus the replay router, uvicorn on 127.0.0.1) runs in a child process, as
a server would; the client is the tests' aiortc client (``tests/viewer/replay_client.py``) in this
process: real HTTP, WHEP, ICE/DTLS on loopback, and **software H.264 decoding of every frame in Python
(PyAV)** -- decoding is part of every figure, as it is in a browser (which usually decodes in hardware).

Measured:

* **seek**: in a playing replay of 1 camera, and of all cameras (``--seek-lanes``), ``{"cmd": "seek"}``
  to a random frame-aligned time T: time until the server's ``seeked`` message arrives, and until the
  frame recorded at T is decoded on the first lane and on every lane. aiortc's jitter buffer hands a
  frame to the decoder only when the first packet of the next frame arrives, so these include up to one
  frame period (40 ms) a browser does not wait. A seek whose frame T is not decoded (right) within
  ``--sample-timeout`` counts as failed; datagrams the kernel dropped on the client's UDP sockets (full
  receive buffer: aioice's 256 KiB) are counted.
* **start**: ``POST /api/replay`` with all cameras -> WHEP -> connected -> the frame recorded at ``start``
  decoded on every lane.
* **reference**: what a user without the VMS would do for one picture at T: ``ffmpeg -ss OFFSET -i
  <presigned URL of the segment> -frames:v 1`` (segment known), and the same after listing the camera's
  hour prefix in object storage to find the segment.

A second, smaller variant (640x360, 1 Mbit/s) separates decoding time from the server's time.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av

from bench.footage import Footage, footage_from_h264, record_footage
from bench.procstat import load_average, machine_description, process_sample
from recorder.index import NewSegment, SegmentIndex
from recorder.models import StreamKind
from recorder.segment_files import SpooledSegment
from recorder.uploader import object_key
from vms.demo.simcam import sample_video
from vms.storage import EmbeddedSeaweed, ObjectStore

REPO_ROOT = Path(__file__).resolve().parent.parent
FPS = 25
GOP = 2 * FPS
T0 = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
"""Frame 0 of every camera."""
SEGMENT_SECONDS = 10.0
SEAWEED_KEYS = ("bench", "bench-secret-key")
BUCKET = "replay-bench"
ROLE = "manager"
PASSWORD = "correct-horse-9"

# The block layout of tests/viewer/replay_fixtures.draw_number (a 320x240 grid, scaled to the frame):
# 12 bits, white (235) = 1, black (16) = 0, so replay_fixtures.read_number reads our pictures too.
GRID_W, GRID_H, BITS, BLOCK, PITCH, MARGIN, COLUMNS = 320, 240, 12, 48, 56, 16, 4
NUMBERS = 1 << BITS


@dataclass(frozen=True)
class Variant:
    name: str
    width: int
    height: int
    bitrate_kbps: int


VARIANTS = {
    "1080p": Variant("1080p", 1920, 1080, 4000),
    "360p": Variant("360p", 640, 360, 1000),
    "240p": Variant("240p", 320, 240, 300),
}


@dataclass
class BenchConfig:
    seconds: int = 180
    cameras: int = 4
    seeks: int = 30
    starts: int = 10
    variants: Sequence[str] = ("1080p", "360p")
    references: int = 30
    """ffmpeg extractions (reference point), 0 = none."""
    preset: str = "superfast"
    client_rcvbuf: int = 0
    """The client's UDP receive buffer (SO_RCVBUF, capped by net.core.rmem_max); 0: aioice's 256 KiB."""
    seek_lanes: Sequence[int] = (1, 4)
    """Seek runs: one replay session of this many cameras each (capped at ``cameras``)."""
    sample_timeout_s: float = 8.0
    """A seek or start whose frame is not decoded right by then counts as failed."""
    workdir: Path | None = None
    cache_dir: Path | None = None
    seed: int = 6


# ---- footage ------------------------------------------------------------------------------------------


def _blocks(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """(x0, x1, y0, y1) of each bit's block in a ``width`` x ``height`` picture."""
    sx, sy = width / GRID_W, height / GRID_H
    out = []
    for bit in range(BITS):
        row, column = divmod(bit, COLUMNS)
        x0, y0 = MARGIN + column * PITCH, MARGIN + row * PITCH
        out.append((int(x0 * sx), int((x0 + BLOCK) * sx), int(y0 * sy), int((y0 + BLOCK) * sy)))
    return out


def paint_number(luma: bytearray, pitch: int, width: int, height: int, number: int) -> None:
    """Paint ``number % 4096`` as blocks into a luma plane (in place)."""
    for bit, (x0, x1, y0, y1) in enumerate(_blocks(width, height)):
        row = bytes([235 if number >> bit & 1 else 16]) * (x1 - x0)
        for y in range(y0, y1):
            luma[y * pitch + x0 : y * pitch + x1] = row


def number_in_luma(luma: bytes, pitch: int, width: int, height: int) -> int:
    """The number a picture's luma plane shows (see :func:`paint_number`)."""
    number = 0
    for bit, (x0, x1, y0, y1) in enumerate(_blocks(width, height)):
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        samples = [luma[(cy + dy) * pitch + cx + dx] for dy in range(-4, 5, 2) for dx in range(-4, 5, 2)]
        if sum(samples) / len(samples) > 128:
            number |= 1 << bit
    return number


def numbered_footage(variant: Variant, seconds: int, preset: str, cache_dir: Path) -> Path:
    """Annex-B H.264 of ``seconds`` s: the simcam sample (looped) with frame n showing ``n % 4096``.
    Made once (about 1 min for 3 min of 1080p), then cached."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = (
        cache_dir
        / f"numbered-{variant.width}x{variant.height}-{variant.bitrate_kbps}k-{seconds}s-{preset}.h264"
    )
    if path.exists():
        return path
    background = sample_video(width=variant.width, height=variant.height, bitrate_kbps=variant.bitrate_kbps)
    partial = path.with_suffix(".partial")
    kbps = variant.bitrate_kbps
    options = {
        "preset": preset,
        "bf": "0",
        "g": str(GOP),
        "keyint_min": str(GOP),
        "sc_threshold": "0",
        "b": f"{kbps}k",
        "maxrate": f"{kbps}k",
        "bufsize": f"{kbps * 2}k",
        "x264-params": "repeat-headers=1",
    }
    total = seconds * FPS
    with av.open(str(partial), "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=FPS, options=options)
        stream.width, stream.height, stream.pix_fmt = variant.width, variant.height, "yuv420p"
        n = 0
        while n < total:
            with av.open(str(background), format="h264") as src:
                for decoded in src.decode(video=0):
                    if n >= total:
                        break
                    frame = av.VideoFrame(variant.width, variant.height, "yuv420p")
                    for i, (target, plane) in enumerate(zip(frame.planes, decoded.planes, strict=True)):
                        data = bytearray(_plane_bytes(plane, target.line_size, target.height))
                        if i == 0:
                            paint_number(data, target.line_size, variant.width, variant.height, n)
                        target.update(bytes(data))
                    frame.pts = n
                    for packet in stream.encode(frame):
                        out.mux(packet)
                    n += 1
        for packet in stream.encode():
            out.mux(packet)
    partial.rename(path)
    return path


def _plane_bytes(plane: Any, line_size: int, rows: int) -> bytes:
    data = bytes(plane)
    if plane.line_size == line_size:
        return data[: line_size * rows]
    width = min(plane.line_size, line_size)
    pad = bytes(line_size - width)
    return b"".join(data[y * plane.line_size : y * plane.line_size + width] + pad for y in range(rows))


def load_footage(path: Path, variant: Variant) -> Footage:
    return footage_from_h264(path, variant.width, variant.height, FPS)


def record(footage: Footage, spool_dir: Path, camera_id: int, code: str) -> list[SpooledSegment]:
    """Cut the footage into segments with the recorder's SegmentWriter (as tests/viewer/replay_fixtures
    does): frame n recorded at ``T0 + n / 25`` s, one camera connection."""
    return record_footage(
        footage,
        spool_dir,
        camera_id,
        code,
        frame_time=frame_time,
        fps=FPS,
        segment_seconds=SEGMENT_SECONDS,
        spool_bytes=1 << 34,
    )


def frame_time(number: int) -> datetime:
    return T0 + timedelta(seconds=number / FPS)


@dataclass(frozen=True)
class StoredSegment:
    key: str
    start_at: datetime
    end_at: datetime


@dataclass
class Node:
    """What the footage set-up made: the database, the cameras and their segments in the store."""

    db_url: str
    data_dir: Path
    camera_ids: list[int]
    camera_codes: list[str]
    segments: dict[int, list[StoredSegment]]
    token: str
    frames: int
    bytes_stored: int


def prepare_node(
    variant: Variant, config: BenchConfig, store: ObjectStore, workdir: Path, cache_dir: Path
) -> Node:
    """Footage of ``config.cameras`` cameras recorded, uploaded and indexed; a manager's token."""
    from tests.vms.api.api_helpers import issue_token
    from vms.config import load_settings
    from vms.context import CoreServices
    from vms.db.models import Camera, Role

    footage = load_footage(numbered_footage(variant, config.seconds, config.preset, cache_dir), variant)
    data_dir = workdir / f"node-{variant.name}"
    db_url = f"sqlite:///{data_dir / 'vms.sqlite3'}"
    settings = load_settings(None, data_dir=str(data_dir), database={"url": db_url})
    core = CoreServices.create(settings, store=store)
    index = SegmentIndex(core.db)
    ids: list[int] = []
    codes: list[str] = []
    stored: dict[int, list[StoredSegment]] = {}
    total = 0
    try:
        for i in range(config.cameras):
            code = f"{variant.name}-cam{i + 1}"
            with core.db.session() as s:
                camera = Camera(code=code, name=f"{code} 摄像机", main_url=f"rtsp://127.0.0.1/{code}")
                s.add(camera)
                s.flush()
                camera_id = camera.id
            segments = record(footage, workdir / "spool" / code, camera_id, code)
            keys = [object_key(seg) for seg in segments]
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                list(
                    pool.map(
                        lambda pair: store.put_file(
                            BUCKET, pair[0], pair[1].media_path, content_type="video/mp4"
                        ),
                        zip(keys, segments, strict=True),
                    )
                )
            for key, seg in zip(keys, segments, strict=True):
                index.insert_segment(
                    NewSegment(
                        camera_id=camera_id,
                        stream=StreamKind.MAIN,
                        start_at=seg.start_at,
                        end_at=seg.end_at,
                        clock_source=seg.header.clock_source,
                        bucket=BUCKET,
                        object_key=key,
                        size_bytes=seg.size_bytes,
                        sha256=seg.sha256,
                        video_codec=seg.header.video_codec,
                        width=seg.header.width,
                        height=seg.header.height,
                    )
                )
                total += seg.size_bytes
            stored[camera_id] = [
                StoredSegment(k, s.start_at, s.end_at) for k, s in zip(keys, segments, strict=True)
            ]
            shutil.rmtree(workdir / "spool" / code, ignore_errors=True)
            ids.append(camera_id)
            codes.append(code)
        core.auth.create_user(ROLE, PASSWORD, Role(ROLE))
        token = issue_token(core, ROLE)
    finally:
        core.db.dispose()
    return Node(db_url, data_dir, ids, codes, stored, token, len(footage.frames), total)


# ---- the replay node (child process) ------------------------------------------------------------------


def serve(db_url: str, data_dir: str, endpoint: str) -> None:
    """Child process: the core API and the replay router on a free 127.0.0.1 port; prints the port."""
    import socket

    import uvicorn

    from viewer.replay.api import replay_router
    from viewer.webrtc.settings import LiveSettings
    from vms.api.app import build_api
    from vms.config import load_settings
    from vms.context import CoreServices

    settings = load_settings(None, data_dir=data_dir, database={"url": db_url})
    store = ObjectStore(endpoint, *SEAWEED_KEYS)
    core = CoreServices.create(settings, store=store)
    loopback = LiveSettings(ice_host_addresses=("127.0.0.1",), ice_loopback=True, connect_timeout_s=20)
    app = build_api(core, extra_routers=[replay_router(loopback)])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on")).run(sockets=[sock])


@contextlib.contextmanager
def replay_server(node: Node, endpoint: str) -> Any:
    command = [
        sys.executable,
        "-m",
        "bench.replay_seek",
        "--serve",
        node.db_url,
        str(node.data_dir),
        endpoint,
    ]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the replay server did not start")
        port = json.loads(line)["port"]
        deadline = time.monotonic() + 30
        import httpx

        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the replay server does not answer")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- measurements --------------------------------------------------------------------------------------


def iso(value: datetime) -> str:
    return value.isoformat()


def random_frame(rng: random.Random, frames: int, avoid: int | None = None) -> int:
    """A frame from 2 s in to 5 s before the end, whose number is far from ``avoid``'s (mod 4096)."""
    while True:
        n = rng.randrange(2 * FPS, frames - 5 * FPS)
        if avoid is None or min((n - avoid) % NUMBERS, (avoid - n) % NUMBERS) > 4 * FPS:
            return n


@dataclass
class SeekSample:
    frame: int
    seeked_ms: float
    first_lane_ms: float
    all_lanes_ms: float
    lanes_ms: list[float]


@dataclass
class StartSample:
    frame: int
    connected_ms: float
    first_lane_ms: float
    all_lanes_ms: float


@dataclass
class ReplayFigures:
    seeks: list[SeekSample] = field(default_factory=list)
    starts: list[StartSample] = field(default_factory=list)
    failed_seeks: list[int] = field(default_factory=list)
    failed_starts: list[int] = field(default_factory=list)
    udp_drops_seeks: int = 0
    udp_drops_starts: int = 0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    wall_s: float = 0.0


def udp_socket_drops(pid: int | str = "self") -> int:
    """Datagrams dropped by the kernel on the UDP sockets process ``pid`` holds now (full buffers)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    total = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    total += int(fields[-1])
    return total


def _first_arrival(frames: Sequence[Any], since: int, number: int) -> float | None:
    return next((f.arrived for f in frames[since:] if f.number == number), None)


async def measure_replay(
    base_url: str,
    token: str,
    camera_ids: list[int],
    frames: int,
    config: BenchConfig,
    starts: int,
    seeks: int,
) -> ReplayFigures:
    """``starts`` replays of every camera opened and closed, then ``seeks`` seeks in one replay of
    ``camera_ids``. Kernel drops on the client's UDP sockets (full receive buffer) are counted."""
    from tests.viewer.replay_client import replay_client
    from viewer.webrtc.ice import use_host_addresses
    from viewer.webrtc.settings import LiveSettings

    use_host_addresses(LiveSettings(ice_host_addresses=("127.0.0.1",), ice_loopback=True))
    if config.client_rcvbuf:
        import aioice.turn

        aioice.turn.UDP_SOCKET_BUFFER_SIZE = config.client_rcvbuf  # aioice sets it on every ICE socket
    timeout = config.sample_timeout_s
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(config.seed)
    figures = ReplayFigures()
    lanes_body = [{"camera_id": c} for c in camera_ids]

    # Starts: POST /api/replay -> the frame at start decoded on every lane.
    for _ in range(starts):
        n = random_frame(rng, frames)
        t0 = time.monotonic()
        body = {"lanes": lanes_body, "start": iso(frame_time(n)), "paused": False}
        async with replay_client(base_url, headers, body) as client:
            connected = time.monotonic()
            lanes = list(client.frames)
            want = n % NUMBERS

            def shown(lanes: list[str] = lanes, want: int = want, c: Any = client) -> bool:
                return all(_first_arrival(c.frames[lane], 0, want) is not None for lane in lanes)

            try:
                await client.until(shown, "the start frame on every lane", timeout=timeout)
            except AssertionError:
                figures.failed_starts.append(n)
                figures.udp_drops_starts += udp_socket_drops()
                continue
            figures.udp_drops_starts += udp_socket_drops()
            arrivals = [_first_arrival(client.frames[lane], 0, want) or 0.0 for lane in lanes]
            figures.starts.append(
                StartSample(
                    n,
                    (connected - t0) * 1000,
                    (min(arrivals) - t0) * 1000,
                    (max(arrivals) - t0) * 1000,
                )
            )
        await asyncio.sleep(0.5)

    # Seeks inside one playing replay.
    if seeks:
        n = random_frame(rng, frames)
        body = {"lanes": lanes_body, "start": iso(frame_time(n)), "paused": False}
        async with replay_client(base_url, headers, body) as client:
            seeked: dict[int, float] = {}

            @client.channel.on("message")
            def _on_message(message: str) -> None:
                data = json.loads(message)
                if data.get("type") == "seeked" and "seq" in data:
                    seeked[int(data["seq"])] = time.monotonic()

            lanes = list(client.frames)
            with contextlib.suppress(AssertionError):
                await client.until(
                    lambda: all(_first_arrival(client.frames[x], 0, n % NUMBERS) for x in lanes),
                    "start",
                    timeout,
                )
            await asyncio.sleep(1.0)
            position = n
            drops = udp_socket_drops()
            for seq in range(1, seeks + 1):
                target = random_frame(rng, frames, avoid=position + 40)
                marks = {lane: len(client.frames[lane]) for lane in lanes}
                want = target % NUMBERS
                t0 = time.monotonic()
                client.send(cmd="seek", t=iso(frame_time(target)), seq=seq)

                def done(seq: int = seq, want: int = want, marks: dict[str, int] = marks) -> bool:
                    return seq in seeked and all(
                        _first_arrival(client.frames[x], marks[x], want) is not None for x in lanes
                    )

                try:
                    await client.until(done, f"seek #{seq}", timeout=timeout)
                except AssertionError:
                    figures.failed_seeks.append(target)
                    position = target + int(FPS * timeout)
                    continue
                arrivals = [_first_arrival(client.frames[x], marks[x], want) or 0.0 for x in lanes]
                figures.seeks.append(
                    SeekSample(
                        target,
                        (seeked[seq] - t0) * 1000,
                        (min(arrivals) - t0) * 1000,
                        (max(arrivals) - t0) * 1000,
                        [(a - t0) * 1000 for a in arrivals],
                    )
                )
                position = target
                await asyncio.sleep(rng.uniform(0.6, 1.0))
                position += int(FPS * 0.8)
            figures.udp_drops_seeks = udp_socket_drops() - drops
    return figures


@dataclass
class RunFigures:
    starts: ReplayFigures
    seeks: dict[int, ReplayFigures]
    """By the number of lanes in the seeking replay."""
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    wall_s: float = 0.0


def run_replay(node: Node, endpoint: str, config: BenchConfig) -> RunFigures:
    with replay_server(node, endpoint) as (base_url, pid):
        server_before = process_sample(pid)
        client_before = time.process_time()
        started = time.monotonic()
        starts = asyncio.run(
            measure_replay(base_url, node.token, node.camera_ids, node.frames, config, config.starts, 0)
        )
        seeks = {}
        for lanes in config.seek_lanes:
            ids = node.camera_ids[: min(lanes, len(node.camera_ids))]
            seeks[len(ids)] = asyncio.run(
                measure_replay(base_url, node.token, ids, node.frames, config, 0, config.seeks)
            )
        figures = RunFigures(starts, seeks)
        figures.wall_s = time.monotonic() - started
        figures.client_cpu_s = time.process_time() - client_before
        server_after = process_sample(pid)
        if server_before and server_after:
            figures.server_cpu_s = server_after.cpu_s - server_before.cpu_s
    return figures


@dataclass
class ReferenceSample:
    frame: int
    ffmpeg_ms: float
    listed_ms: float
    listed_keys: int
    number_ok: bool


def _segment_start(key: str) -> datetime:
    stamp = key.rsplit("/", 1)[1].split("_", 1)[0]  # 20260301T003010.040000Z
    return datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)


def hour_prefix(code: str, at: datetime) -> str:
    return f"recordings/{code}/{StreamKind.MAIN}/{at.astimezone(UTC):%Y/%m/%d/%H}/"


def extract_frame(url: str, offset_s: float, variant: Variant) -> int:
    """``ffmpeg -ss OFFSET -i URL -frames:v 1`` as raw gray; the number the picture shows."""
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{offset_s:.3f}", "-i", url, "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    return number_in_luma(result.stdout, variant.width, variant.width, variant.height)


def run_references(
    node: Node, store: ObjectStore, variant: Variant, count: int, seed: int
) -> list[ReferenceSample]:
    rng = random.Random(seed + 1)
    camera_id, code = node.camera_ids[0], node.camera_codes[0]
    out = []
    for _ in range(count):
        n = random_frame(rng, node.frames)
        at = frame_time(n)
        seg = next(s for s in node.segments[camera_id] if s.start_at <= at < s.end_at)
        # Segment known: sign a link and extract.
        t0 = time.monotonic()
        url = store.presigned_get(BUCKET, seg.key, timedelta(hours=1))
        shown = extract_frame(url, (at - seg.start_at).total_seconds(), variant)
        ffmpeg_ms = (time.monotonic() - t0) * 1000
        # A file-based NVR's way: list the hour prefix, pick the segment by the start time in its name.
        t0 = time.monotonic()
        keys = [o.key for o in store.list(BUCKET, hour_prefix(code, at))]
        listed = len(keys)
        before = [k for k in keys if _segment_start(k) <= at]
        if not before:
            keys = [o.key for o in store.list(BUCKET, hour_prefix(code, at - timedelta(hours=1)))]
            listed += len(keys)
            before = [k for k in keys if _segment_start(k) <= at]
        key = max(before, key=_segment_start)
        url = store.presigned_get(BUCKET, key, timedelta(hours=1))
        extract_frame(url, (at - _segment_start(key)).total_seconds(), variant)
        listed_ms = (time.monotonic() - t0) * 1000
        out.append(ReferenceSample(n, ffmpeg_ms, listed_ms, listed, shown == n % NUMBERS))
    return out


# ---- the whole run ------------------------------------------------------------------------------------


def _stats(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "median": None, "p95": None, "min": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "median": round(statistics.median(ordered), 1),
        "p95": round(p95, 1),
        "min": round(ordered[0], 1),
        "max": round(ordered[-1], 1),
    }


def run_benchmark(config: BenchConfig) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="replay-bench-", dir=config.workdir or "/tmp"))
    cache_dir = config.cache_dir or workdir / "cache"
    load_start = load_average()
    report: dict[str, Any] = {
        "date": dt.datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "load_average_start": load_start,
        "variants": [],
    }
    seaweed = EmbeddedSeaweed(workdir / "seaweed", *SEAWEED_KEYS, log_path=workdir / "weed.log")
    seaweed.start()
    try:
        store = seaweed.object_store(parallel_uploads=4)
        store.ensure_bucket(BUCKET)
        for name in config.variants:
            variant = VARIANTS[name]
            t0 = time.monotonic()
            node = prepare_node(variant, config, store, workdir, cache_dir)
            prepare_s = time.monotonic() - t0
            figures = run_replay(node, seaweed.endpoint, config)
            references = run_references(node, store, variant, config.references, config.seed)
            report["variants"].append(
                {
                    "variant": asdict(variant),
                    "cameras": config.cameras,
                    "recorded_s": node.frames / FPS,
                    "segments": sum(len(v) for v in node.segments.values()),
                    "stored_mb": round(node.bytes_stored / 1e6, 1),
                    "prepare_s": round(prepare_s, 1),
                    "seeks": {
                        str(lanes): {
                            "seeked_ms": _stats([x.seeked_ms for x in f.seeks]),
                            "first_lane_ms": _stats([x.first_lane_ms for x in f.seeks]),
                            "all_lanes_ms": _stats([x.all_lanes_ms for x in f.seeks]),
                            "failed": len(f.failed_seeks),
                            "udp_drops": f.udp_drops_seeks,
                        }
                        for lanes, f in figures.seeks.items()
                    },
                    "start_connected_ms": _stats([x.connected_ms for x in figures.starts.starts]),
                    "start_first_lane_ms": _stats([x.first_lane_ms for x in figures.starts.starts]),
                    "start_all_lanes_ms": _stats([x.all_lanes_ms for x in figures.starts.starts]),
                    "failed_starts": len(figures.starts.failed_starts),
                    "udp_drops_starts": figures.starts.udp_drops_starts,
                    "client_rcvbuf": config.client_rcvbuf,
                    "server_cpu_s": round(figures.server_cpu_s, 2),
                    "client_cpu_s": round(figures.client_cpu_s, 2),
                    "replay_wall_s": round(figures.wall_s, 1),
                    "reference_ffmpeg_ms": _stats([r.ffmpeg_ms for r in references]),
                    "reference_list_ffmpeg_ms": _stats([r.listed_ms for r in references]),
                    "reference_keys_listed": _stats([float(r.listed_keys) for r in references]),
                    "reference_frames_right": sum(r.number_ok for r in references),
                    "reference_count": len(references),
                    "raw": {
                        "seeks": {k: [asdict(x) for x in f.seeks] for k, f in figures.seeks.items()},
                        "starts": [asdict(x) for x in figures.starts.starts],
                        "references": [asdict(r) for r in references],
                    },
                }
            )
        report["seaweed_data_mb"] = round(_du(workdir / "seaweed") / 1e6, 1)
    finally:
        seaweed.stop()
        report["load_average_end"] = load_average()
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def markdown_table(report: dict[str, Any]) -> str:
    variants = report["variants"]
    header = "| | " + " | ".join(v["variant"]["name"] for v in variants) + " |"
    lines = [header, "|---|" + "---:|" * len(variants)]

    def row(label: str, cell: Callable[[dict[str, Any]], str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(v) for v in variants) + " |")

    def ms(key: str) -> Callable[[dict[str, Any]], str]:
        return lambda v: f"{v[key]['median']} / {v[key]['p95']}  (n={v[key]['n']})"

    row("footage: cameras x seconds, segments, MB", lambda v: f"{v['cameras']} x {v['recorded_s']:.0f} s, "
        f"{v['segments']}, {v['stored_mb']}")  # fmt: skip
    for lanes in sorted({int(k) for variant in variants for k in variant["seeks"]}):

        def seek(key: str, lanes: int = lanes) -> Callable[[dict[str, Any]], str]:
            def cell(v: dict[str, Any]) -> str:
                x = v["seeks"].get(str(lanes))
                return "–" if x is None else f"{x[key]['median']} / {x[key]['p95']} (n={x[key]['n']})"

            return cell

        row(f"seek, {lanes} lane(s): -> `seeked` message, ms median / p95", seek("seeked_ms"))
        row(f"seek, {lanes} lane(s): -> frame T decoded, first lane, ms", seek("first_lane_ms"))
        row(f"seek, {lanes} lane(s): -> frame T decoded, every lane, ms", seek("all_lanes_ms"))

        def failures(v: dict[str, Any], lanes: int = lanes) -> str:
            x = v["seeks"].get(str(lanes))
            return "–" if x is None else f"{x['failed']} / {x['udp_drops']}"

        row(f"seek, {lanes} lane(s): failed (T not decoded in time) / client UDP drops", failures)
    row("start, every camera: -> connected (POST + WHEP + ICE/DTLS + channel), ms", ms("start_connected_ms"))
    row("start, every camera: -> frame decoded, first lane, ms", ms("start_first_lane_ms"))
    row("start, every camera: -> frame decoded, every lane, ms", ms("start_all_lanes_ms"))
    row("start: failed / client UDP drops", lambda v: f"{v['failed_starts']} / {v['udp_drops_starts']}")
    row("reference: ffmpeg -ss from a presigned URL, ms median / p95", ms("reference_ffmpeg_ms"))
    row("reference: list hour prefix + ffmpeg, ms median / p95", ms("reference_list_ffmpeg_ms"))
    row("reference: right frame", lambda v: f"{v['reference_frames_right']} / {v['reference_count']}")
    row("CPU-s server / client over the replay runs (wall s)",
        lambda v: f"{v['server_cpu_s']} / {v['client_cpu_s']} ({v['replay_wall_s']})")  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--serve"]:
        serve(argv[1], argv[2], argv[3])
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=180, help="footage per camera")
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--seeks", type=int, default=30)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--references", type=int, default=30)
    parser.add_argument("--variants", default="1080p,360p", help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--preset", default="superfast", help="x264 preset of the numbered footage")
    parser.add_argument("--seek-lanes", default="1,4", help="lanes of each seeking replay, comma-separated")
    parser.add_argument(
        "--client-rcvbuf", type=int, default=0, help="client UDP receive buffer (0: aioice's)"
    )
    parser.add_argument("--sample-timeout", type=float, default=8.0, help="seconds before a seek/start fails")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "yard-vms-bench")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    config = BenchConfig(
        seconds=args.seconds,
        cameras=args.cameras,
        seeks=args.seeks,
        starts=args.starts,
        variants=tuple(v for v in args.variants.split(",") if v),
        references=args.references,
        preset=args.preset,
        seek_lanes=tuple(int(x) for x in args.seek_lanes.split(",") if x),
        client_rcvbuf=args.client_rcvbuf,
        sample_timeout_s=args.sample_timeout,
        workdir=args.workdir,
        cache_dir=args.cache_dir,
    )
    report = run_benchmark(config)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    print(markdown_table(report))
    print(f"load average start {report['load_average_start']}, end {report['load_average_end']}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
