"""The yard-vms side of ``bench.evidence_upload``: the API server in its own process, with phase timing.

    python -m bench.evidence_server prepare CONFIG.json   # database, inspector, batch, token; then exits
    python -m bench.evidence_server serve CONFIG.json     # the server on that database

CONFIG: {"data_dir", "endpoint", "access_key", "secret_key", "bucket", "phase_log", "weed_pid",
"max_upload_bytes"}. ``prepare`` creates and migrates the SQLite database, an inspector ``li.na`` and a
batch assigned to them, and prints one JSON line ``{"token", "batch"}``. ``serve`` builds the core
services on that database with the real object store (as the assembly does: ``ObjectStore(endpoint, key,
secret)``, i.e. its default parallelism), the core API and the evidence routers, then serves uvicorn on a
free 127.0.0.1 port and prints one JSON line ``{"port", "http", "alembic_loaded"}``. The server process
thus starts as a production node restarts: on a database already at the newest schema (the first start
after an install or upgrade also runs the migrations, which loads Alembic; see docs/benchmarks.md).

Phases are measured by wrapping, in this process only, the functions the upload path calls (the evidence
code itself is unchanged): every PATCH's ``UploadService._receive`` (split into disk write and SHA-256
time around ``evidence.uploads._write``, plus the time ``PartSender.advance`` waited for S3), ``_finish``,
the final hash check (``RunningHashes.resume``), ``inspect_file``, every ``ObjectStore.upload_part`` (the
parts sent while receiving), ``PartSender.wait_sent`` (the last parts, after the last byte),
``PartSender.complete`` (CompleteMultipartUpload),
``ObjectStore.put_file`` (poster, preview; the original only if it was not streamed), ``set_retention``
and the poster/preview step. Each span is appended to ``phase_log`` as a JSON line with wall-clock
start/end and this process's and SeaweedFS's CPU seconds at both ends.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from bench.procstat import process_sample

BATCH = "查验-BENCH"
INSPECTOR = "li.na"
F = TypeVar("F", bound=Callable[..., Any])


def own_cpu_s() -> float:
    """This process's CPU seconds, threads and waited-for children (ffmpeg for poster/preview) included."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class PhaseLog:
    """Spans appended to a JSON-lines file, plus running totals of the receive loop's write, hash and
    back-pressure time."""

    def __init__(self, path: Path, weed_pid: int | None) -> None:
        self.path = path
        self.weed_pid = weed_pid
        self._lock = threading.Lock()
        self.write_s = 0.0
        self.hash_s = 0.0
        self.advance_s = 0.0
        self.bytes_written = 0
        self.writes = 0

    def _weed_cpu(self) -> float | None:
        if self.weed_pid is None:
            return None
        sample = process_sample(self.weed_pid)
        return sample.cpu_s if sample else None

    def now(self) -> dict[str, Any]:
        return {"t": time.time(), "cpu": own_cpu_s(), "weed_cpu": self._weed_cpu()}

    @staticmethod
    def now_wall() -> dict[str, Any]:
        """The time only: for spans as frequent as S3 parts, where reading /proc twice would add to the
        cost of the path being measured (their CPU is in the receive span they overlap)."""
        return {"t": time.time(), "cpu": None, "weed_cpu": None}

    def record(self, name: str, start: dict[str, Any], **extra: Any) -> None:
        end = self.now() if start["cpu"] is not None else self.now_wall()
        line = {"name": name, "start": start, "end": end, **extra}
        with self._lock, self.path.open("a") as f:
            f.write(json.dumps(line) + "\n")

    def add_io(self, write_s: float, hash_s: float, size: int) -> None:
        with self._lock:
            self.write_s += write_s
            self.hash_s += hash_s
            self.bytes_written += size
            self.writes += 1

    def add_advance(self, seconds: float) -> None:
        with self._lock:
            self.advance_s += seconds

    def io_totals(self) -> dict[str, Any]:
        with self._lock:
            return {
                "write_s": self.write_s,
                "hash_s": self.hash_s,
                "advance_s": self.advance_s,
                "bytes": self.bytes_written,
                "writes": self.writes,
            }

    def sync_span(self, name: str, fn: F, **extra: Any) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = self.now()
            try:
                return fn(*args, **kwargs)
            finally:
                self.record(name, start, **extra)

        return wrapper  # type: ignore[return-value]


class _NoHash:
    def update(self, data: bytes) -> None:
        pass


def instrument(log: PhaseLog, store: Any) -> None:
    """Wrap the upload path's steps (module attributes and this store's methods) with spans."""
    import evidence.intake as intake
    import evidence.multipart as multipart
    import evidence.staging as staging
    import evidence.uploads as uploads

    write = uploads._write

    def timed_write(f: BinaryIO, chunks: list[bytes], hasher: Any, chunk_hash: Any) -> int:
        # The same work as evidence.uploads._write (which it calls for the writing), timed in two parts.
        t0 = time.perf_counter()
        size = write(f, chunks, _NoHash(), None)
        t1 = time.perf_counter()
        for chunk in chunks:
            hasher.update(chunk)
            if chunk_hash is not None:
                chunk_hash.update(chunk)
        log.add_io(t1 - t0, time.perf_counter() - t1, size)
        return size

    uploads._write = timed_write  # type: ignore[assignment]

    advance = multipart.PartSender.advance

    def timed_advance(self: Any, settled: int, *, wait: bool = True) -> None:
        t0 = time.perf_counter()
        try:
            advance(self, settled, wait=wait)
        finally:
            log.add_advance(time.perf_counter() - t0)

    multipart.PartSender.advance = timed_advance  # type: ignore[method-assign]

    receive = uploads.UploadService._receive

    @functools.wraps(receive)
    async def timed_receive(self: Any, *args: Any, **kwargs: Any) -> int:
        start = log.now()
        try:
            return await receive(self, *args, **kwargs)
        finally:
            log.record("receive", start, io=log.io_totals())

    uploads.UploadService._receive = timed_receive  # type: ignore[method-assign]
    finish = uploads.UploadService._finish
    uploads.UploadService._finish = log.sync_span("finish", finish)  # type: ignore[method-assign]
    resume = staging.RunningHashes.resume
    staging.RunningHashes.resume = log.sync_span("hash_resume", resume)  # type: ignore[method-assign]
    complete = multipart.PartSender.complete
    multipart.PartSender.complete = log.sync_span("s3_complete", complete)  # type: ignore[method-assign]
    wait_sent = multipart.PartSender.wait_sent
    multipart.PartSender.wait_sent = log.sync_span("s3_tail", wait_sent)  # type: ignore[method-assign]
    for name, attribute in (("inspect", "inspect_file"), ("derived", "_derived")):
        setattr(intake, attribute, log.sync_span(name, getattr(intake, attribute)))

    put_file = store.put_file

    def timed_put_file(bucket: str, key: str, path: Any, **kwargs: Any) -> Any:
        start = log.now()
        try:
            return put_file(bucket, key, path, **kwargs)
        finally:
            log.record("s3_put", start, key=key, size=Path(path).stat().st_size)

    upload_part = store.upload_part

    def timed_upload_part(bucket: str, key: str, upload_id: str, number: int, data: bytes) -> Any:
        start = log.now_wall()
        try:
            return upload_part(bucket, key, upload_id, number, data)
        finally:
            log.record("s3_part", start, number=number, size=len(data))

    store.put_file = timed_put_file
    store.upload_part = timed_upload_part
    store.set_retention = log.sync_span("retention", store.set_retention)


def prepare(config: dict[str, Any]) -> None:
    from tests.vms.api.api_helpers import PASSWORD, issue_token
    from vms.context import CoreServices
    from vms.db.models import Role
    from vms.yard.actor import Actor
    from vms.yard.batch_schema import BatchCreate
    from vms.yard.batches import BatchService

    core = CoreServices.create(_settings(config))
    core.auth.create_user(INSPECTOR, PASSWORD, Role.INSPECTOR, INSPECTOR)
    token = issue_token(core, INSPECTOR)
    BatchService(core, Actor("bench-setup")).create(BatchCreate(number=BATCH, inspectors=[INSPECTOR]))
    core.db.dispose()
    print(json.dumps({"token": token, "batch": BATCH}), flush=True)


def _settings(config: dict[str, Any]) -> Any:
    from vms.config import load_settings

    data_dir = Path(config["data_dir"])
    return load_settings(
        None,
        data_dir=str(data_dir),
        database={"url": f"sqlite:///{data_dir / 'vms.sqlite3'}"},
        storage={"evidence_bucket": config["bucket"]},
        evidence={"max_upload_bytes": int(config["max_upload_bytes"])},
    )


def serve(config: dict[str, Any]) -> None:
    import uvicorn

    from evidence.api import evidence_routers
    from evidence.holds import register
    from vms.api.app import build_api
    from vms.api.http_protocol import uvicorn_config
    from vms.context import CoreServices
    from vms.storage import ObjectStore

    store = ObjectStore(config["endpoint"], config["access_key"], config["secret_key"], secure=False)
    log = PhaseLog(Path(config["phase_log"]), config.get("weed_pid"))
    instrument(log, store)
    core = CoreServices.create(_settings(config), store=store)
    register(core)
    app = build_api(core, extra_routers=evidence_routers())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server_config = uvicorn_config(app, log_level="warning", lifespan="on")  # as vms.app serves the API
    server_config.load()
    started = {
        "port": sock.getsockname()[1],
        "http_protocol": server_config.http_protocol_class.__name__,  # type: ignore[attr-defined]
        "alembic_loaded": "alembic" in sys.modules,
    }
    print(json.dumps(started), flush=True)
    uvicorn.Server(server_config).run(sockets=[sock])


if __name__ == "__main__":
    command, path = sys.argv[1:]
    {"prepare": prepare, "serve": serve}[command](json.loads(Path(path).read_text()))
