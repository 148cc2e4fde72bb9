"""Simulated RTSP cameras in a child process (GStreamer RTSP server), for tests, demos and benchmarks."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal, Self
from urllib.parse import quote

SYSTEM_PYTHON = "/usr/bin/python3"
CAMERA_SCRIPT = Path(__file__).with_name("rtsp_camera.py")
START_TIMEOUT_S = 20.0


class CameraServerError(RuntimeError):
    """The simulated camera server could not start; the message includes the tail of its log."""


@dataclass(frozen=True)
class CameraSpec:
    """One simulated camera (an RTSP mount) and what it sends."""

    mount: str = "/cam"
    codec: Literal["h264", "h265", "mjpeg"] = "h264"
    profile: Literal["baseline", "main", "high"] = "baseline"
    b_frames: int = 0
    sps_pps_in_band: bool = True
    """True: SPS/PPS repeated before every keyframe (config-interval=1); False: only in the SDP."""
    audio: Literal["none", "aac", "pcma", "pcmu", "opus"] = "none"
    width: int = 320
    height: int = 240
    fps: int = 25
    bitrate_kbps: int = 300
    keyframe_interval: int = 25
    """Frames between keyframes."""
    username: str | None = None
    password: str | None = None
    auth: Literal["basic", "digest"] = "basic"
    clock_overlay: bool = False
    """Burn the wall clock (UTC, ``YYYY-mm-dd HH:MM:SS``) into the top-left corner of the picture."""
    file: Path | None = None
    """Loop this raw Annex-B H.264/H.265 file instead of encoding (almost no CPU); see ``sample_video``."""

    def __post_init__(self) -> None:
        if not self.mount.startswith("/"):
            raise ValueError(f"camera mount must start with '/': {self.mount!r}")
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")

    def as_config(self) -> dict[str, object]:
        config = asdict(self)
        config["path"] = config.pop("mount")
        config["file"] = str(self.file) if self.file else None
        return config


@dataclass
class SimulatedCameraServer:
    """A GStreamer RTSP server process serving several simulated cameras on one port.

    The first ``start()`` picks a free port on ``host``; later starts reuse the same port, so a test can
    stop the cameras for a while and bring them back at the same URLs. The process dies with its parent.
    """

    cameras: list[CameraSpec]
    host: str = "127.0.0.1"
    port: int = 0
    log_path: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _workdir: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        mounts = [camera.mount for camera in self.cameras]
        if not mounts or len(set(mounts)) != len(mounts):
            raise ValueError(f"need at least one camera and distinct mounts, got {mounts}")

    # ---- lifecycle ---------------------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT_S) -> Self:
        """Start serving and wait until the RTSP port answers DESCRIBE. Returns ``self``."""
        if self.running:
            return self
        workdir = self._ensure_workdir()
        config_path = workdir / "cameras.json"
        config = {"host": self.host, "port": self.port, "mounts": [c.as_config() for c in self.cameras]}
        config_path.write_text(json.dumps(config))
        if self.log_path is None:
            self.log_path = workdir / "camera.log"
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [SYSTEM_PYTHON, str(CAMERA_SCRIPT), str(config_path)],
                stdin=subprocess.PIPE,  # the child exits when this pipe closes, i.e. when we die
                stdout=subprocess.PIPE,
                stderr=log,
                env={**os.environ, "TZ": "UTC", "GST_DEBUG": os.environ.get("GST_DEBUG", "2")},
            )
        deadline = time.monotonic() + timeout
        try:
            self.port = self._read_bound_port(deadline)
            self._wait_for_describe(deadline)
        except CameraServerError:
            self.stop()
            raise
        return self

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs (tests freeze it with SIGSTOP to play a hung camera)."""
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        """Stop the server process (clients see the connection drop). ``start()`` brings it back."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()

    def close(self) -> None:
        """Stop and remove the temporary files."""
        self.stop()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- addresses ---------------------------------------------------------------------------------

    def url(self, mount: str | None = None, *, with_credentials: bool = False) -> str:
        """RTSP URL of a camera (the first one by default), optionally with its credentials embedded."""
        camera = self.camera(mount)
        if self.port == 0:
            raise CameraServerError("the camera server has not been started yet, so it has no port")
        userinfo = ""
        if with_credentials and camera.username is not None and camera.password is not None:
            userinfo = f"{quote(camera.username, safe='')}:{quote(camera.password, safe='')}@"
        return f"rtsp://{userinfo}{self.host}:{self.port}{camera.mount}"

    def camera(self, mount: str | None = None) -> CameraSpec:
        if mount is None:
            return self.cameras[0]
        for camera in self.cameras:
            if camera.mount == mount:
                return camera
        raise KeyError(f"no simulated camera at mount {mount!r}")

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # ---- internals ---------------------------------------------------------------------------------

    def _ensure_workdir(self) -> Path:
        if self._workdir is None:
            self._workdir = tempfile.TemporaryDirectory(prefix="simcam-")
        return Path(self._workdir.name)

    def _fail(self, what: str) -> CameraServerError:
        return CameraServerError(f"simulated camera server {what}; log {self.log_path}:\n{self.log_tail()}")

    def _read_bound_port(self, deadline: float) -> int:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._fail("did not start listening in time")
            ready, _, _ = select.select([stdout], [], [], min(remaining, 0.5))
            if ready:
                chunk = os.read(stdout.fileno(), 256)
                if not chunk:
                    raise self._fail(f"exited with code {self._process.wait()} before listening")
                line += chunk
        words = line.decode(errors="replace").split()
        if len(words) != 2 or words[0] != "LISTENING":
            raise self._fail(f"printed {line!r} instead of its port")
        return int(words[1])

    def _wait_for_describe(self, deadline: float) -> None:
        url = f"rtsp://{self.host}:{self.port}{self.cameras[0].mount}"
        request = f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n".encode()
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as connection:
                    connection.sendall(request)
                    answer = connection.recv(64).split(b" ", 2)
                    # 200, or 401 for a camera with credentials; 503 means its pipeline failed.
                    if answer[0] == b"RTSP/1.0" and answer[1:2] in ([b"200"], [b"401"]):
                        return
            except OSError:
                pass
            if not self.running:
                raise self._fail("exited before answering DESCRIBE")
            if time.monotonic() > deadline:
                raise self._fail("did not answer DESCRIBE in time")
            time.sleep(0.1)


class SimulatedCamera(SimulatedCameraServer):
    """A single simulated camera: ``SimulatedCamera(CameraSpec(codec="h265"))``."""

    def __init__(self, spec: CameraSpec | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(cameras=[spec or CameraSpec()], host=host, port=port)

    @property
    def spec(self) -> CameraSpec:
        return self.cameras[0]


def sample_video(
    cache_dir: Path | None = None,
    codec: Literal["h264", "h265"] = "h264",
    width: int = 1920,
    height: int = 1080,
    fps: int = 25,
    bitrate_kbps: int = 4000,
    seconds: int = 10,
) -> Path:
    """A raw Annex-B test video for ``CameraSpec(file=...)``; made once with ffmpeg, then cached.

    The default is the benchmark sample: 1080p25 H.264 Main, 4 Mbit/s, a keyframe every 2 s.
    """
    directory = cache_dir or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "yard-vms"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"sample-aud-{codec}-{width}x{height}-{fps}fps-{bitrate_kbps}k-{seconds}s.{codec}"
    if path.exists():
        return path
    # Access unit delimiters let the camera split the file into frames without parsing it.
    encoder = ["-c:v", "libx264", "-profile:v", "main", "-x264-params", "bframes=0:repeat-headers=1:aud=1"]
    if codec == "h265":
        encoder = ["-c:v", "libx265", "-x265-params", "bframes=0:repeat-headers=1:aud=1:log-level=error"]
    partial = path.with_suffix(".partial")
    command = [
        "ffmpeg", "-v", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps},noise=alls=12:allf=t",
        "-t", str(seconds), *encoder, "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-b:v", f"{bitrate_kbps}k", "-maxrate", f"{bitrate_kbps}k", "-bufsize", f"{bitrate_kbps * 2}k",
        "-g", str(fps * 2), "-keyint_min", str(fps * 2), "-sc_threshold", "0",
        "-f", "hevc" if codec == "h265" else "h264", str(partial),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise CameraServerError(f"ffmpeg could not make the sample video: {result.stderr[-2000:]}")
    partial.rename(path)
    return path


def many_cameras(count: int, template: CameraSpec | None = None) -> list[CameraSpec]:
    """``count`` copies of ``template`` at mounts /cam1, /cam2, ... (for one multi-camera server)."""
    base = template or CameraSpec()
    return [replace(base, mount=f"/cam{index}") for index in range(1, count + 1)]
