"""A big body-cam upload through the evidence API against a plain ``minio`` fput_object of the same file.

    .venv/bin/python -m bench.evidence_upload [--size-gb 2] [--runs 1] [--json out.json] [--storage-cpus 0]

The file: a valid MP4 of at least ``--size-gb`` GiB (a 4 s lossless 720p clip repeated without
re-encoding, the recipe of ``tests/evidence/test_big_upload.py``), made once and cached under
``--cache-dir`` (``--drop-cache`` deletes it at the end).

One ``EmbeddedSeaweed`` serves both paths. Each run, in alternating order:

* **API**: a fresh yard-vms API server process (``bench.evidence_server serve``: uvicorn on 127.0.0.1,
  SQLite prepared just before by ``bench.evidence_server prepare`` with an inspector and a batch, the
  object store as the assembly makes it) and the project's own tus client (``evidence.tus_client.
  TusUploader``, chunk size as ``vms upload`` uses) in another process (``bench.evidence_clients tus``).
  Wall time runs from the first byte (the first PATCH, after the client hashed the file and created the
  upload) to the answer that carries the item id: it includes receiving to the staging file with the
  running SHA-256 while the S3 parts go up, the last parts, inspection, CompleteMultipartUpload, the
  retention lock, poster and preview, and the item row.
* **minio**: ``Minio.fput_object`` of the same file into a plain bucket of the same SeaweedFS, with the
  client's defaults, in its own process (``bench.evidence_clients minio``).

Each bucket is a SeaweedFS collection. It gets new 1 GiB volumes only when a write finds none with room
(``EmbeddedSeaweed.volumes_per_growth`` at a time), and every write into it waits ~1.1 s meanwhile: one
such pause at the first write and more later, wherever they fall in either path. Both buckets therefore
get GROWN_VOLUMES volumes up front (the master's ``/vol/grow``), room for the runs of an invocation.

Measured for each process (server, client, SeaweedFS) from /proc: CPU seconds and peak RSS (the server's
VmHWM is reset just before the upload; everything is also sampled every 50 ms). The server logs each phase
of the API path (see ``bench.evidence_server``), which gives the breakdown. MB = 10^6 bytes.

``--storage-cpus 0`` runs SeaweedFS alone on CPU 0 and everything else (server, clients) on the other CPUs:
the object store then does not take CPU from the path being measured, as when it runs on its own machines
(deploy/). Without it, all processes share all CPUs (the embedded default on one node).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx

from bench.procstat import load_average, machine_description, process_sample
from vms.storage import EmbeddedSeaweed

REPO_ROOT = Path(__file__).resolve().parent.parent
SEAWEED_KEYS = ("bench", "bench-secret-key")
EVIDENCE_BUCKET = "bench-evidence"
PLAIN_BUCKET = "bench-plain"
VIDEO_NAME = "VID_20261126_080000.mp4"
GOAL_RATIO = 0.8
GROWN_VOLUMES = 8
GOAL_RSS_MB = 150.0
SAMPLE_EVERY_S = 0.05
MB = 1e6


def vms_upload_chunk_size() -> int:
    """The chunk size ``vms upload`` sends by default (its ``--chunk-mb`` option), in bytes."""
    from vms.cli.upload import upload

    for param in upload.params:
        if param.name == "chunk_mb":
            return int(param.default) * 1024 * 1024  # type: ignore[arg-type]
    raise RuntimeError("vms upload has no --chunk-mb option")


def minio_part_size(size: int) -> tuple[int, int]:
    """(part size, part count) ``fput_object`` picks by default for a file of ``size`` bytes."""
    from minio.helpers import get_part_info

    return get_part_info(size, 0)


@dataclass
class BenchConfig:
    size_gb: float = 2.0
    runs: int = 1
    chunk_size: int = field(default_factory=vms_upload_chunk_size)
    cache_dir: Path = Path(tempfile.gettempdir()) / "yard-vms-bench"
    workdir: Path | None = None
    drop_cache: bool = False
    storage_cpus: tuple[int, ...] | None = None
    """Run SeaweedFS on these CPUs and everything else (server, clients, this process) on the others,
    as when the object store runs on its own machine (deploy/: MinIO hosts); None: all share all CPUs."""


# ---- the file ---------------------------------------------------------------------------------------


def cached_video(size_bytes: int, cache_dir: Path) -> Path:
    """A valid MP4 of at least ``size_bytes``: a short lossless clip repeated without re-encoding."""
    from tests.evidence.media import ffmpeg

    folder = cache_dir / f"evidence-{size_bytes}"
    target = folder / VIDEO_NAME
    if target.exists() and target.stat().st_size >= size_bytes:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    seed = folder / "seed.mp4"
    partial = folder / ("partial-" + VIDEO_NAME)
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-t", "4", "-c:v", "libx264",
           "-preset", "ultrafast", "-qp", "0", "-g", "25", str(seed))  # fmt: skip
    loops = size_bytes // seed.stat().st_size + 1
    ffmpeg("-stream_loop", str(loops), "-i", str(seed), "-c", "copy", "-f", "mp4", str(partial))
    seed.unlink()
    partial.rename(target)  # a file cut short by an interruption is never reused
    return target


# ---- measuring processes ----------------------------------------------------------------------------


def reset_peak_rss(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux ``clear_refs`` 5); False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Sampler:
    """Samples the RSS of named processes every 50 ms in a thread (timeline kept for the server)."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.peak_kb: dict[str, int] = dict.fromkeys(self.pids, 0)
        self.timeline: dict[str, list[tuple[float, int]]] = {name: [] for name in self.pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add(self, name: str, pid: int) -> None:
        self.pids[name] = pid
        self.peak_kb.setdefault(name, 0)
        self.timeline.setdefault(name, [])

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            for name, pid in list(self.pids.items()):
                sample = process_sample(pid)
                if sample is None:
                    continue
                self.peak_kb[name] = max(self.peak_kb[name], sample.rss_kb)
                self.timeline[name].append((now, sample.rss_kb))
            self._stop.wait(SAMPLE_EVERY_S)

    def peak_between(self, name: str, start: float, end: float) -> float | None:
        values = [kb for t, kb in self.timeline.get(name, []) if start <= t <= end]
        return round(max(values) * 1024 / MB, 1) if values else None


def _cpu(pid: int | None) -> float:
    sample = process_sample(pid) if pid else None
    return sample.cpu_s if sample else 0.0


def _mb_kb(kb: float) -> float:
    return round(kb * 1024 / MB, 1)


def _child(kind: str, config: dict[str, Any], workdir: Path) -> subprocess.Popen[str]:
    path = workdir / f"{kind}-client.json"
    path.write_text(json.dumps(config))
    return subprocess.Popen(
        [sys.executable, "-m", "bench.evidence_clients", kind, str(path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def _child_result(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = process.communicate(timeout=3600)
    if process.returncode != 0 or not out.strip():
        raise RuntimeError(f"uploader process failed with exit code {process.returncode}")
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


# ---- the API server ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiServer:
    url: str
    token: str
    batch: str
    pid: int
    http_protocol: str
    alembic_loaded: bool


@contextlib.contextmanager
def api_server(
    seaweed: EmbeddedSeaweed, data_dir: Path, phase_log: Path, max_bytes: int
) -> Iterator[ApiServer]:
    data_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "data_dir": str(data_dir),
        "endpoint": seaweed.endpoint,
        "access_key": seaweed.access_key,
        "secret_key": seaweed.secret_key,
        "bucket": EVIDENCE_BUCKET,
        "phase_log": str(phase_log),
        "weed_pid": seaweed.pid,
        "max_upload_bytes": max_bytes,
    }
    config_path = data_dir / "server.json"
    config_path.write_text(json.dumps(config))
    command = [sys.executable, "-m", "bench.evidence_server"]
    prepared = subprocess.run(
        [*command, "prepare", str(config_path)], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    setup = json.loads(prepared.stdout.strip().splitlines()[-1])
    process = subprocess.Popen(
        [*command, "serve", str(config_path)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the API server did not start")
        started = json.loads(line)
        url = f"http://127.0.0.1:{started['port']}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API server does not answer")
            time.sleep(0.1)
        yield ApiServer(
            url,
            setup["token"],
            setup["batch"],
            process.pid,
            started["http_protocol"],
            started["alembic_loaded"],
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- the two paths ----------------------------------------------------------------------------------


def run_api(video: Path, seaweed: EmbeddedSeaweed, config: BenchConfig, workdir: Path) -> dict[str, Any]:
    size = video.stat().st_size
    phase_log = workdir / "phases.jsonl"
    with api_server(seaweed, workdir / "server", phase_log, max(size * 2, 1024**3)) as server:
        idle = process_sample(server.pid)
        assert idle is not None
        hwm_reset = reset_peak_rss(server.pid)
        server_cpu0, weed_cpu0 = idle.cpu_s, _cpu(seaweed.pid)
        client_config = {
            "url": server.url,
            "token": server.token,
            "batch": server.batch,
            "path": str(video),
            "chunk_size": config.chunk_size,
        }
        with Sampler({"server": server.pid, "weed": seaweed.pid}) as sampler:
            client = _child("tus", client_config, workdir)
            sampler.add("client", client.pid)
            result = _child_result(client)
        after = process_sample(server.pid)
        assert after is not None
        weed_cpu1 = _cpu(seaweed.pid)
        if result["outcome"] != "uploaded":
            raise RuntimeError(f"the API upload ended {result['outcome']}: {result['message']}")
        item = httpx.get(
            f"{server.url}/api/evidence/{result['item_id']}",
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=30,
        ).json()
    if item["size_bytes"] != size or item["sha256"] != _client_sha(video):
        raise RuntimeError(f"the item ({item['size_bytes']} bytes, {item['sha256']}) is not the file")
    marks = result["marks"]
    wall = marks["done"] - marks["first_byte"]
    server_peak_kb = max(after.peak_rss_kb if hwm_reset else 0, sampler.peak_kb["server"])
    phases = phase_breakdown(phase_log, marks, sampler)
    return {
        "wall_s": round(wall, 2),
        "mb_per_s": round(size / MB / wall, 1),
        "client_total_s": round(marks["done"] - marks["start"], 2),
        "client_hash_s": round(marks["hash_end"] - marks["hash_start"], 2),
        "server_idle_rss_mb": _mb_kb(idle.rss_kb),
        "server_http_protocol": server.http_protocol,
        "server_alembic_loaded": server.alembic_loaded,
        "server_peak_rss_mb": _mb_kb(server_peak_kb),
        "server_peak_rss_from": "VmHWM after reset + samples" if hwm_reset else "samples",
        "server_cpu_s": round(after.cpu_s - server_cpu0, 2),
        "client_peak_rss_mb": _mb_kb(max(result["peak_rss_kb"], sampler.peak_kb.get("client", 0))),
        "client_cpu_s": round(result["cpu_s"], 2),
        "client_upload_cpu_s": round(result["upload_cpu_s"], 2),
        "weed_cpu_s": round(weed_cpu1 - weed_cpu0, 2),
        "weed_peak_rss_mb": _mb_kb(sampler.peak_kb.get("weed", 0)),
        "item_id": result["item_id"],
        "sha256_ok": True,  # checked above
        "phases": phases,
    }


def _client_sha(video: Path) -> str:
    """The file's SHA-256, computed once per file and cached beside it."""
    cache = video.with_suffix(".sha256")
    if cache.exists() and cache.stat().st_mtime >= video.stat().st_mtime:
        return cache.read_text().strip()
    from evidence.tus_client import file_sha256

    digest = file_sha256(video)
    with contextlib.suppress(OSError):
        cache.write_text(digest)
    return digest


def phase_breakdown(phase_log: Path, marks: dict[str, float], sampler: Sampler) -> dict[str, Any]:
    """Wall s, server CPU-s, SeaweedFS CPU-s and the server's peak RSS of each phase of the API path.

    Receiving and sending parts to S3 overlap; the steps of ``finish`` (hash check, inspection, the last
    parts + CompleteMultipartUpload, retention lock, poster/preview) follow one another."""
    spans = [json.loads(line) for line in phase_log.read_text().splitlines() if line.strip()]
    receives = [s for s in spans if s["name"] == "receive"]
    (finish,) = [s for s in spans if s["name"] == "finish"]
    f0, f1 = finish["start"]["t"], finish["end"]["t"]

    def inside(name: str, key_prefix: str | None = None) -> list[dict[str, Any]]:
        return [
            s
            for s in spans
            if s["name"] == name
            and f0 <= s["start"]["t"] <= f1
            and (key_prefix is None or s.get("key", "").startswith(key_prefix))
        ]

    def figures(start: dict[str, Any], end: dict[str, Any], wall: float | None = None) -> dict[str, Any]:
        weed = None
        if start["weed_cpu"] is not None and end["weed_cpu"] is not None:
            weed = round(end["weed_cpu"] - start["weed_cpu"], 2)
        cpu = None if start["cpu"] is None or end["cpu"] is None else round(end["cpu"] - start["cpu"], 2)
        return {
            "wall_s": round(end["t"] - start["t"] if wall is None else wall, 2),
            "server_cpu_s": cpu,
            "weed_cpu_s": weed,
            "server_peak_rss_mb": sampler.peak_between("server", start["t"], end["t"]),
        }

    out: dict[str, Any] = {}
    first, last = receives[0], receives[-1]
    receive = figures(first["start"], last["end"])
    io = last["io"]
    receive.update(
        {
            "patches": len(receives),
            "busy_s": round(sum(s["end"]["t"] - s["start"]["t"] for s in receives), 2),
            "disk_write_s": round(io["write_s"], 2),
            "sha256_s": round(io["hash_s"], 2),
            "s3_wait_s": round(io.get("advance_s", 0.0), 2),
            "writes": io["writes"],
        }
    )
    out["receive"] = receive
    parts = sorted((s for s in spans if s["name"] == "s3_part"), key=lambda s: s["start"]["t"])
    if parts:
        ends = max(parts, key=lambda s: s["end"]["t"])
        sent = figures(parts[0]["start"], ends["end"])
        sent.update(
            {
                "parts": len(parts),
                "part_bytes": max(p["size"] for p in parts),
                "busy_s": round(sum(p["end"]["t"] - p["start"]["t"] for p in parts), 2),
                "after_last_byte_s": round(ends["end"]["t"] - last["end"]["t"], 2),
            }
        )
        out["s3_parts"] = sent
    for label, chosen in (
        ("final_hash_check", inside("hash_resume")),
        ("s3_tail", inside("s3_tail")),
        ("inspect", inside("inspect")),
        ("s3_complete", inside("s3_complete")),
        ("s3_put", inside("s3_put", "items/")),
        ("retention_lock", inside("retention")),
        ("poster_preview", inside("derived")),
    ):
        if chosen:
            out[label] = figures(chosen[0]["start"], chosen[-1]["end"])
    accounted = sum(v["wall_s"] for k, v in out.items() if k not in ("receive", "s3_parts"))
    out["finish_total"] = figures(finish["start"], finish["end"])
    out["finish_other"] = {"wall_s": round(out["finish_total"]["wall_s"] - accounted, 2)}
    wall = marks["done"] - marks["first_byte"]
    out["http_other"] = {"wall_s": round(wall - receive["wall_s"] - out["finish_total"]["wall_s"], 2)}
    return out


def run_minio(video: Path, seaweed: EmbeddedSeaweed, workdir: Path, key: str) -> dict[str, Any]:
    size = video.stat().st_size
    weed_cpu0 = _cpu(seaweed.pid)
    client_config = {
        "endpoint": seaweed.endpoint,
        "access_key": seaweed.access_key,
        "secret_key": seaweed.secret_key,
        "bucket": PLAIN_BUCKET,
        "key": key,
        "path": str(video),
    }
    with Sampler({"weed": seaweed.pid}) as sampler:
        client = _child("minio", client_config, workdir)
        sampler.add("client", client.pid)
        result = _child_result(client)
    weed_cpu1 = _cpu(seaweed.pid)
    stored = seaweed.object_store().stat(PLAIN_BUCKET, key)
    if stored.size != size:
        raise RuntimeError(f"the object has {stored.size} bytes, the file {size}")
    wall = result["marks"]["done"] - result["marks"]["start"]
    part_size, parts = minio_part_size(size)
    return {
        "wall_s": round(wall, 2),
        "mb_per_s": round(size / MB / wall, 1),
        "client_peak_rss_mb": _mb_kb(max(result["peak_rss_kb"], sampler.peak_kb.get("client", 0))),
        "client_cpu_s": round(result["cpu_s"], 2),
        "client_upload_cpu_s": round(result["upload_cpu_s"], 2),
        "weed_cpu_s": round(weed_cpu1 - weed_cpu0, 2),
        "weed_peak_rss_mb": _mb_kb(sampler.peak_kb.get("weed", 0)),
        "part_size": part_size,
        "parts": parts,
        "parallel_parts": 3,
    }


def grow_volumes(seaweed: EmbeddedSeaweed, bucket: str, count: int) -> int:
    """Give the bucket's collection ``count`` more volumes now (SeaweedFS master ``/vol/grow``)."""
    url = f"http://127.0.0.1:{seaweed.ports.master}/vol/grow"
    response = httpx.get(url, params={"collection": bucket, "count": count}, timeout=60)
    response.raise_for_status()
    return int(response.json()["count"])


def _settle(weed_pid: int | None) -> float:
    """Write dirty pages out and wait until SeaweedFS is quiet (< 5 % of a core over 1 s, at most 30 s),
    so that one path does not pay for the other's writeback; returns the seconds it took."""
    t0 = time.monotonic()
    os.sync()
    while time.monotonic() - t0 < 30:
        before = _cpu(weed_pid)
        time.sleep(1)
        if _cpu(weed_pid) - before < 0.05:
            break
    return round(time.monotonic() - t0, 1)


# ---- the benchmark ----------------------------------------------------------------------------------


def split_cpus(storage: Sequence[int]) -> tuple[set[int], set[int]]:
    """(storage CPUs, the other CPUs this process may use); ValueError if either would be empty."""
    available = os.sched_getaffinity(0)
    wanted = set(storage)
    if not wanted or not wanted < available:
        raise ValueError(f"--storage-cpus must be some but not all of the CPUs {sorted(available)}")
    return wanted, available - wanted


def pin_process(pid: int, cpus: set[int]) -> None:
    """Pin every thread of ``pid`` (threads it starts later inherit it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(task.name), cpus)


def run_benchmark(config: BenchConfig) -> dict[str, Any]:
    size_bytes = int(config.size_gb * 1024**3)
    t0 = time.monotonic()
    video = cached_video(size_bytes, config.cache_dir)
    prepare_s = time.monotonic() - t0
    size = video.stat().st_size
    _client_sha(video)
    workdir = Path(tempfile.mkdtemp(prefix="evidence-bench-", dir=config.workdir or tempfile.gettempdir()))
    report: dict[str, Any] = {
        "date": dt.datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "file_bytes": size,
        "file_prepare_s": round(prepare_s, 1),
        "tus_chunk_size": config.chunk_size,
        "load_average_start": load_average(),
        "runs": [],
    }
    from evidence.multipart import PARTS_IN_FLIGHT, part_size_for

    report["server_s3_part_size"] = part_size_for(size)
    report["server_s3_parts_in_flight"] = PARTS_IN_FLIGHT
    split = split_cpus(config.storage_cpus) if config.storage_cpus else None
    if split is not None:
        os.sched_setaffinity(0, split[1])  # the server, the clients and ffmpeg inherit it
        report["cpus"] = {"storage": sorted(split[0]), "everything_else": sorted(split[1])}
    seaweed = EmbeddedSeaweed(workdir / "seaweed", *SEAWEED_KEYS, log_path=workdir / "weed.log")
    seaweed.start()
    try:
        if split is not None and seaweed.pid is not None:
            pin_process(seaweed.pid, split[0])
        store = seaweed.object_store()
        store.ensure_bucket(EVIDENCE_BUCKET, object_lock=True)
        store.ensure_bucket(PLAIN_BUCKET)
        report["grown_volumes"] = {
            b: grow_volumes(seaweed, b, GROWN_VOLUMES) for b in (EVIDENCE_BUCKET, PLAIN_BUCKET)
        }
        for number in range(1, config.runs + 1):
            order = ("api", "minio") if number % 2 else ("minio", "api")
            run: dict[str, Any] = {"run": number, "order": list(order), "load_average": load_average()}
            run["started"] = dt.datetime.now(UTC).isoformat(timespec="seconds")
            for path in order:
                run[f"settle_before_{path}_s"] = _settle(seaweed.pid)
                run_dir = workdir / f"run{number}-{path}"
                run_dir.mkdir()
                if path == "api":
                    run["api"] = run_api(video, seaweed, config, run_dir)
                else:
                    run["minio"] = run_minio(video, seaweed, run_dir, f"run{number}/{video.name}")
            run["ratio"] = round(run["api"]["mb_per_s"] / run["minio"]["mb_per_s"], 2)
            run["load_average_end"] = load_average()
            run["goal_met"] = run["ratio"] >= GOAL_RATIO and run["api"]["server_peak_rss_mb"] < GOAL_RSS_MB
            report["runs"].append(run)
    finally:
        seaweed.stop()
        report["load_average_end"] = load_average()
        shutil.rmtree(workdir, ignore_errors=True)
        if config.drop_cache:
            shutil.rmtree(video.parent, ignore_errors=True)
    ratios = [r["ratio"] for r in report["runs"]]
    report["ratio_median"] = statistics.median(ratios) if ratios else None
    return report


def markdown_table(report: dict[str, Any]) -> str:
    runs = report["runs"]
    lines = ["| | " + " | ".join(f"run {r['run']} ({' then '.join(r['order'])})" for r in runs) + " |"]
    lines.append("|---|" + "---:|" * len(runs))

    def row(label: str, cell: Any) -> None:
        lines.append(f"| {label} | " + " | ".join(str(cell(r)) for r in runs) + " |")

    row("load average (1 min) at start", lambda r: f"{r['load_average'][0]:.2f}")
    row("API: wall s, first byte -> item id", lambda r: r["api"]["wall_s"])
    row("API: MB/s", lambda r: r["api"]["mb_per_s"])
    row("minio fput_object: wall s", lambda r: r["minio"]["wall_s"])
    row("minio fput_object: MB/s", lambda r: r["minio"]["mb_per_s"])
    row("**ratio API / minio** (goal >= 0.8)", lambda r: f"**{r['ratio']}**")
    row("API server peak RSS MB (idle before it / growth)",
        lambda r: f"{r['api']['server_peak_rss_mb']} ({r['api']['server_idle_rss_mb']} / "
        f"+{r['api']['server_peak_rss_mb'] - r['api']['server_idle_rss_mb']:.1f})")  # fmt: skip
    row("API server CPU-s", lambda r: r["api"]["server_cpu_s"])
    row("tus client peak RSS MB / CPU-s (of which its SHA-256 pass s)",
        lambda r: f"{r['api']['client_peak_rss_mb']} / {r['api']['client_cpu_s']} "
        f"({r['api']['client_hash_s']})")  # fmt: skip
    row("tus client total s incl. its SHA-256 pass", lambda r: r["api"]["client_total_s"])
    row("minio client peak RSS MB / CPU-s",
        lambda r: f"{r['minio']['client_peak_rss_mb']} / {r['minio']['client_cpu_s']}")  # fmt: skip
    row("SeaweedFS CPU-s: API path / minio path",
        lambda r: f"{r['api']['weed_cpu_s']} / {r['minio']['weed_cpu_s']}")  # fmt: skip
    row("goal met (ratio >= 0.8, server < 150 MB)", lambda r: "yes" if r["goal_met"] else "no")
    return "\n".join(lines)


PHASE_LABELS = {
    "receive": "receive to staging (PATCHes)",
    "s3_parts": "S3 parts sent while receiving (overlaps receive)",
    "final_hash_check": "final SHA-256 check",
    "s3_tail": "last parts still in flight at the last byte",
    "inspect": "inspection (PyAV: the index of an MP4/MOV, else every packet)",
    "s3_complete": "CompleteMultipartUpload",
    "s3_put": "S3 put of the original (not streamed)",
    "retention_lock": "retention lock",
    "poster_preview": "poster + preview: the rest of the ffmpeg jobs (started before inspection), S3 puts",
    "finish_other": "DB rows, audit, rest of finish",
    "http_other": "HTTP round trips, rest",
}


def phase_table(run: dict[str, Any]) -> str:
    phases = run["api"]["phases"]
    lines = [
        "| phase | wall s | server CPU-s | SeaweedFS CPU-s | server peak RSS MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, label in PHASE_LABELS.items():
        p = phases.get(key)
        if p is None:
            continue
        weed = "" if p.get("weed_cpu_s") is None else p["weed_cpu_s"]
        cpu = "(in the above)" if key == "s3_parts" else p.get("server_cpu_s", "")
        weed = "(in the above)" if key == "s3_parts" else weed
        lines.append(f"| {label} | {p['wall_s']} | {cpu} | {weed} | {p.get('server_peak_rss_mb') or ''} |")
    r = phases["receive"]
    lines.append(
        f"| (in receive: disk write / SHA-256 / waiting for S3, summed over {r['writes']} writes) | "
        f"{r['disk_write_s']} / {r['sha256_s']} / {r['s3_wait_s']} | | | |"
    )
    if "s3_parts" in phases:
        sent = phases["s3_parts"]
        lines.append(
            f"| (S3 parts: {sent['parts']} of {sent['part_bytes'] / 2**20:.0f} MiB; last one ended "
            f"{sent['after_last_byte_s']} s after the last byte arrived) | | | | |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-gb", type=float, default=2.0, help="file size in GiB (at least)")
    parser.add_argument("--runs", type=int, default=1, help="runs, alternating which path goes first")
    parser.add_argument("--chunk-mb", type=int, default=None, help="tus chunk (default: as vms upload)")
    parser.add_argument("--cache-dir", type=Path, default=BenchConfig.cache_dir)
    parser.add_argument("--drop-cache", action="store_true", help="delete the cached video at the end")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--storage-cpus",
        default=None,
        help="comma-separated CPUs for SeaweedFS alone (e.g. 0); the rest run on the other CPUs",
    )
    args = parser.parse_args(argv)
    config = BenchConfig(
        size_gb=args.size_gb,
        runs=args.runs,
        cache_dir=args.cache_dir,
        workdir=args.workdir,
        drop_cache=args.drop_cache,
        storage_cpus=tuple(int(c) for c in args.storage_cpus.split(",")) if args.storage_cpus else None,
    )
    if args.chunk_mb:
        config.chunk_size = args.chunk_mb * 1024 * 1024
    report = run_benchmark(config)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"file {report['file_bytes'] / MB:.0f} MB, tus chunk {report['tus_chunk_size'] // 1024**2} MiB")
    if "cpus" in report:
        cpus = report["cpus"]
        print(f"SeaweedFS alone on CPUs {cpus['storage']}, everything else on {cpus['everything_else']}")
    print(markdown_table(report))
    for run in report["runs"]:
        print(f"\nrun {run['run']}: where the API path spends its time")
        print(phase_table(run))
    print(f"\nload average start {report['load_average_start']}, end {report['load_average_end']}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
