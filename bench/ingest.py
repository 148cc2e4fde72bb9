"""Recording N simulated cameras: yard-vms against one ``ffmpeg -c copy -f segment`` process per camera.

    .venv/bin/python -m bench.ingest --cameras 16 --minutes 1 [--only vms,vms-spool,ffmpeg] [--json out.json]

One GStreamer RTSP server serves N cameras, each looping the same pre-encoded 1080p25 ~4 Mbit/s H.264 file
(keyframe every 2 s), so the sources cost little. Then, one after the other (never at the same time), for
M minutes each:

* ``vms``: yard-vms's real path in a child process (CameraSource -> StreamHub -> Recorder writing 10 s
  fMP4 segments to a spool and uploading them to an EmbeddedSeaweed, indexed in SQLite). SeaweedFS's own
  CPU is reported separately.
* ``vms-spool``: the same without the upload (segments stay in the spool: local disk only, like ffmpeg).
* ``vms-spool-ffmpeg-client``: ``vms-spool`` with ``recording.rtsp_client: ffmpeg`` (FFmpeg's RTSP demuxer,
  a thread per camera, instead of the lean client's one reader thread): what the lean client saves.
* ``ffmpeg``: ``ffmpeg -rtsp_transport tcp -i URL -c copy -f segment -segment_time 10 ...`` per camera
  (how Frigate records), stopped with SIGINT so the last segment is finished.

CPU is CPU-seconds from the kernel (rusage / /proc), not wall time; the camera server's CPU and the whole
machine's busy time in each window are reported too, so load from other work on the machine shows. After
each run every segment is checked with ffprobe (readable, first packet a keyframe, duration) and a few are
fully decoded.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.procstat import ProcSample, load_average, machine_description, process_sample, system_cpu_s
from bench.segcheck import SegmentCheck, decodes_cleanly, probe_segments
from vms.demo.simcam import CameraSpec, SimulatedCameraServer, many_cameras, sample_video
from vms.storage import EmbeddedSeaweed

VARIANTS = ("vms", "vms-spool", "vms-spool-ffmpeg-client", "ffmpeg")
DEFAULT_VARIANTS = ("vms", "vms-spool", "ffmpeg")
REPO_ROOT = Path(__file__).resolve().parent.parent
FPS = 25
STARTUP_ALLOWANCE_S = 5.0
"""Footage a camera may miss at the start (connect, RTSP handshake, waiting for the first keyframe)."""
LATE_UPLOAD_S = 30.0
MAX_CORES_SUSTAINED = 1.8
SEAWEED_KEYS = ("bench", "bench-secret-key")


@dataclass
class BenchConfig:
    cameras: int
    minutes: float
    variants: Sequence[str] = DEFAULT_VARIANTS
    segment_seconds: float = 10.0
    sample_file: Path | None = None
    """Looped by every camera; default: ``sample_video()`` (1080p25 H.264 4 Mbit/s, keyframe every 2 s)."""
    decode_samples: int = 3
    """Segments per variant that are also decoded frame by frame."""
    workdir: Path | None = None
    keep_files: bool = False


@dataclass
class Window:
    """CPU of one process (or several) between two moments."""

    cpu_s: float = 0.0
    peak_rss_kb: int = 0


@dataclass
class VariantResult:
    variant: str
    cameras: int
    record_s: float
    """From the start of recording to the stop request."""
    window_s: float
    """From the start of recording until everything was flushed (and, for ``vms``, uploaded)."""
    recorder_cpu_s: float
    recorder_peak_rss_kb: int
    camera_server_cpu_s: float
    seaweed_cpu_s: float | None = None
    seaweed_peak_rss_kb: int | None = None
    machine_busy_cpu_s: float = 0.0
    load_average_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    segments: int = 0
    segments_readable: int = 0
    segments_playable: int = 0
    recorded_s: float = 0.0
    recorded_frames: int = 0
    per_camera_recorded_s: dict[str, float] = field(default_factory=dict)
    per_camera_frames: dict[str, int] = field(default_factory=dict)
    decoded_ok: int = 0
    decoded_tried: int = 0
    probe_errors: list[str] = field(default_factory=list)
    live_fps_mean: float | None = None
    live_fps_min: float | None = None
    hub_dropped_packets: int | None = None
    hub_gaps: int | None = None
    upload_latency_p95_s: float | None = None
    upload_latency_max_s: float | None = None
    pending_in_spool: int | None = None
    storage_errors: int | None = None
    recorder_errors: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    # ---- derived -------------------------------------------------------------------------------------

    @property
    def camera_minutes(self) -> float:
        return self.cameras * self.record_s / 60

    @property
    def cpu_per_camera_minute(self) -> float:
        return self.recorder_cpu_s / self.camera_minutes

    @property
    def recorder_cores(self) -> float:
        return self.recorder_cpu_s / self.window_s

    @property
    def all_processes_cores(self) -> float:
        return (self.recorder_cpu_s + self.camera_server_cpu_s + (self.seaweed_cpu_s or 0.0)) / self.window_s

    @property
    def machine_busy_cores(self) -> float:
        return self.machine_busy_cpu_s / self.window_s

    @property
    def expected_s(self) -> float:
        return self.cameras * self.record_s

    @property
    def min_camera_recorded_s(self) -> float:
        return min(self.per_camera_recorded_s.values(), default=0.0)

    @property
    def frames_per_s_per_camera(self) -> tuple[float, float]:
        """(mean, min) of recorded frames per second of recording time, over the cameras."""
        rates = [frames / self.record_s for frames in self.per_camera_frames.values()]
        rates += [0.0] * (self.cameras - len(rates))
        return (statistics.fmean(rates), min(rates)) if rates else (0.0, 0.0)

    def sustained(self) -> tuple[bool, list[str]]:
        """Whether this run kept up, and if not, why."""
        problems: list[str] = []
        if self.segments == 0 or self.segments_playable < self.segments:
            problems.append(
                f"{self.segments - self.segments_playable} of {self.segments} segments not playable"
            )
        short = [
            camera
            for camera in self.per_camera_recorded_s
            if self.per_camera_recorded_s[camera] < self.record_s - STARTUP_ALLOWANCE_S
        ]
        missing = self.cameras - len(self.per_camera_recorded_s)
        if short or missing:
            problems.append(
                f"{len(short) + missing} cameras recorded less than "
                f"{self.record_s - STARTUP_ALLOWANCE_S:.0f} s"
            )
        if self.live_fps_mean is not None and self.live_fps_mean < FPS - 1:
            problems.append(f"live fps averaged {self.live_fps_mean:.1f}")
        if self.hub_dropped_packets or self.hub_gaps:
            problems.append(f"hub dropped {self.hub_dropped_packets} packets, {self.hub_gaps} gaps")
        if self.pending_in_spool:
            problems.append(f"{self.pending_in_spool} segments still in the spool")
        if self.upload_latency_max_s is not None and self.upload_latency_max_s > LATE_UPLOAD_S:
            problems.append(f"uploads up to {self.upload_latency_max_s:.0f} s late")
        if self.all_processes_cores > MAX_CORES_SUSTAINED:
            problems.append(f"all processes used {self.all_processes_cores:.2f} cores")
        return not problems, problems

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        ok, problems = self.sustained()
        mean_fps, min_fps = self.frames_per_s_per_camera
        out.update(
            camera_minutes=self.camera_minutes,
            cpu_per_camera_minute=self.cpu_per_camera_minute,
            recorder_cores=self.recorder_cores,
            all_processes_cores=self.all_processes_cores,
            machine_busy_cores=self.machine_busy_cores,
            expected_s=self.expected_s,
            recorded_fps_mean=mean_fps,
            recorded_fps_min=min_fps,
            sustained=ok,
            problems=problems,
        )
        return out


# ---- processes ---------------------------------------------------------------------------------------


def _camera_server_pid() -> int:
    """The GStreamer server child of this process (SimulatedCameraServer keeps its Popen private)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == os.getpid() and b"rtsp_camera.py" in cmdline:
            return int(entry.name)
    raise RuntimeError("camera server process not found")


class Probe:
    """Samples of some processes and of the machine at two moments."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid is not None}
        self.start: dict[str, ProcSample | None] = {}
        self.end: dict[str, ProcSample | None] = {}
        self.machine_start = 0.0
        self.machine_end = 0.0

    def begin(self) -> None:
        self.machine_start = system_cpu_s()[0]
        self.start = {name: process_sample(pid) for name, pid in self.pids.items()}

    def finish(self) -> None:
        self.machine_end = system_cpu_s()[0]
        self.end = {name: process_sample(pid) for name, pid in self.pids.items()}

    def window(self, name: str) -> Window:
        first, last = self.start.get(name), self.end.get(name)
        if first is None or last is None:
            return Window()
        return Window(cpu_s=last.cpu_s - first.cpu_s, peak_rss_kb=last.peak_rss_kb)

    @property
    def machine_cpu_s(self) -> float:
        return self.machine_end - self.machine_start


def _wait_for_line(process: subprocess.Popen[bytes], expected: str, deadline: float) -> None:
    assert process.stdout is not None
    buffer = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"the vms worker did not print {expected} in time")
        ready, _, _ = select.select([process.stdout], [], [], min(remaining, 1.0))
        if not ready:
            if process.poll() is not None:
                raise RuntimeError(f"the vms worker exited ({process.returncode}) before {expected}")
            continue
        chunk = os.read(process.stdout.fileno(), 1)
        if not chunk:
            raise RuntimeError(f"the vms worker exited before {expected}")
        buffer += chunk
        if buffer.endswith(b"\n"):
            if buffer.decode(errors="replace").strip() == expected:
                return
            buffer = b""


def _wait4(pid: int, deadline: float) -> tuple[int, Any] | None:
    """Reap a child with its rusage; ``None`` if it is still running at the deadline."""
    while True:
        reaped, status, usage = os.wait4(pid, os.WNOHANG)
        if reaped == pid:
            return status, usage
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


# ---- the runs ----------------------------------------------------------------------------------------


def run_vms(
    config: BenchConfig,
    urls: dict[str, str],
    workdir: Path,
    camera_pid: int,
    upload: bool,
    lean_client: bool = True,
) -> VariantResult:
    variant = "vms" if upload else ("vms-spool" if lean_client else "vms-spool-ffmpeg-client")
    workdir.mkdir(parents=True)
    seaweed: EmbeddedSeaweed | None = None
    upload_config = None
    if upload:
        seaweed = EmbeddedSeaweed(workdir / "seaweed", *SEAWEED_KEYS, log_path=workdir / "weed.log")
        seaweed.start()
        upload_config = {
            "endpoint": seaweed.endpoint,
            "access_key": SEAWEED_KEYS[0],
            "secret_key": SEAWEED_KEYS[1],
            "bucket": "bench-recordings",
        }
    try:
        worker_config = {
            "cameras": [{"code": code, "url": url} for code, url in urls.items()],
            "seconds": config.minutes * 60,
            "segment_seconds": config.segment_seconds,
            "workdir": str(workdir),
            "upload": upload_config,
            "lean_client": lean_client,
        }
        config_path, result_path = workdir / "worker.json", workdir / "result.json"
        config_path.write_text(json.dumps(worker_config))
        probe = Probe({"camera_server": camera_pid, "seaweed": seaweed.pid if seaweed else None})
        with open(workdir / "worker.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bench.vms_worker", str(config_path), str(result_path)],
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=REPO_ROOT,
            )
        deadline = time.monotonic() + config.minutes * 60 + 600
        try:
            _wait_for_line(process, "STARTED", time.monotonic() + 120)
            probe.begin()
            _wait_for_line(process, "STOPPED", deadline)
            probe.finish()
            waited = _wait4(process.pid, deadline)
            if waited is None:
                raise TimeoutError("the vms worker did not exit")
            process.returncode = os.waitstatus_to_exitcode(waited[0])
        finally:
            if process.returncode is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if process.returncode != 0:
            raise RuntimeError(f"vms worker failed ({process.returncode}): {_tail(workdir / 'worker.log')}")
        worker = json.loads(result_path.read_text())
        server = probe.window("camera_server")
        weed = probe.window("seaweed")
        result = VariantResult(
            variant=variant,
            cameras=len(urls),
            record_s=worker["record_s"],
            window_s=worker["window_s"],
            recorder_cpu_s=worker["cpu_user_s"] + worker["cpu_sys_s"],
            recorder_peak_rss_kb=worker["peak_rss_kb"],
            camera_server_cpu_s=server.cpu_s,
            seaweed_cpu_s=weed.cpu_s if seaweed else None,
            seaweed_peak_rss_kb=weed.peak_rss_kb if seaweed else None,
            machine_busy_cpu_s=probe.machine_cpu_s,
            load_average_after=load_average(),
            pending_in_spool=worker["pending_in_spool"] if upload else None,
        )
        result.extra = {
            "cpu_user_s": worker["cpu_user_s"],
            "cpu_sys_s": worker["cpu_sys_s"],
            "worker_process_cpu_total_s": worker["process_cpu_total_s"],
            "context_switches": worker["context_switches"],
            "readers": worker.get("readers", {}),
            "samples": worker["samples"],
        }
        _live_fps(result, worker["samples"])
        stats = [s for per_hub in worker["hub_stats"].values() for s in per_hub]
        result.hub_dropped_packets = sum(s["dropped_packets"] for s in stats)
        result.hub_gaps = sum(s["gaps"] for s in stats)
        result.recorder_errors = [
            line for line in _tail(workdir / "worker.log", 200).splitlines() if " ERROR " in line
        ][:20]
        if upload:
            assert seaweed is not None and upload_config is not None
            latencies = sorted(row["latency_s"] for row in worker["uploaded"])
            result.storage_errors = len(worker["storage_errors"])
            if latencies:
                result.upload_latency_max_s = latencies[-1]
                result.upload_latency_p95_s = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
            files = _download(seaweed, upload_config["bucket"], worker["uploaded"], workdir / "downloaded")
        else:
            files = _spool_files(Path(worker["spool_dir"]), urls)
        _check_segments(result, files, config.decode_samples)
        return result
    finally:
        if seaweed is not None:
            seaweed.stop()


def run_ffmpeg(config: BenchConfig, urls: dict[str, str], workdir: Path, camera_pid: int) -> VariantResult:
    workdir.mkdir(parents=True)
    probe = Probe({"camera_server": camera_pid})
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs = []
    probe.begin()
    start = time.monotonic()
    for code, url in urls.items():
        out = workdir / code
        out.mkdir()
        log = open(workdir / f"{code}.log", "wb")  # noqa: SIM115 - closed below
        logs.append(log)
        command = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
            "-c", "copy", "-f", "segment", "-segment_time", f"{config.segment_seconds:g}",
            "-reset_timestamps", "1", "-segment_format", "mp4", str(out / "out%05d.mp4"),
        ]  # fmt: skip
        processes[code] = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
        )
    time.sleep(max(0.0, start + config.minutes * 60 - time.monotonic()))
    record_s = time.monotonic() - start
    for process in processes.values():
        process.send_signal(signal.SIGINT)  # ffmpeg finishes the current segment and exits
    cpu_s, user_s, switches, peak_rss_kb, failures = 0.0, 0.0, 0, 0, []
    deadline = time.monotonic() + 30
    for code, process in processes.items():
        waited = _wait4(process.pid, deadline)
        if waited is None:
            process.kill()
            waited = _wait4(process.pid, time.monotonic() + 10)
            failures.append(f"{code}: killed after SIGINT did not stop it")
        if waited is None:
            continue
        status, usage = waited
        process.returncode = os.waitstatus_to_exitcode(status)
        cpu_s += usage.ru_utime + usage.ru_stime
        user_s += usage.ru_utime
        switches += usage.ru_nvcsw + usage.ru_nivcsw
        peak_rss_kb += usage.ru_maxrss
        # ffmpeg exits 255 when interrupted by a signal: that is the expected way here.
        if process.returncode not in (0, 255):
            failures.append(f"{code}: exit {process.returncode}")
    window_s = time.monotonic() - start
    probe.finish()
    for log in logs:
        log.close()
    result = VariantResult(
        variant="ffmpeg",
        cameras=len(urls),
        record_s=record_s,
        window_s=window_s,
        recorder_cpu_s=cpu_s,
        recorder_peak_rss_kb=peak_rss_kb,
        camera_server_cpu_s=probe.window("camera_server").cpu_s,
        machine_busy_cpu_s=probe.machine_cpu_s,
        load_average_after=load_average(),
    )
    result.extra = {"cpu_user_s": user_s, "cpu_sys_s": cpu_s - user_s, "context_switches": switches}
    errors = [f"{code}: {line}" for code in urls for line in _tail(workdir / f"{code}.log", 5).splitlines()]
    result.recorder_errors = (failures + errors)[:20]
    files = [(path, code) for code in urls for path in sorted((workdir / code).glob("out*.mp4"))]
    _check_segments(result, files, config.decode_samples)
    return result


def _spool_files(spool: Path, urls: dict[str, str]) -> list[tuple[Path, str]]:
    files = []
    for code in urls:
        for pattern in ("*.mp4", "*.mov"):
            files += [(path, code) for path in sorted((spool / code).rglob(pattern))]
    return files


def _download(
    seaweed: EmbeddedSeaweed, bucket: str, uploaded: list[dict[str, Any]], target: Path
) -> list[tuple[Path, str]]:
    store = seaweed.object_store()
    files = []
    for n, row in enumerate(uploaded):
        path = target / row["camera"] / f"{n:05d}{Path(row['object_key']).suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(store.get_bytes(bucket, row["object_key"]))
        files.append((path, row["camera"]))
    return files


def _check_segments(result: VariantResult, files: list[tuple[Path, str]], decode_samples: int) -> None:
    checks: list[SegmentCheck] = probe_segments(files)
    result.segments = len(checks)
    result.segments_readable = sum(check.readable for check in checks)
    result.segments_playable = sum(check.playable for check in checks)
    result.recorded_s = round(sum(check.duration_s for check in checks), 2)
    result.recorded_frames = sum(check.video_packets for check in checks)
    for check in checks:
        result.per_camera_recorded_s[check.camera] = round(
            result.per_camera_recorded_s.get(check.camera, 0.0) + check.duration_s, 2
        )
        result.per_camera_frames[check.camera] = (
            result.per_camera_frames.get(check.camera, 0) + check.video_packets
        )
    result.probe_errors = [
        f"{Path(c.path).name}: keyframe={c.starts_with_keyframe} {c.error}" for c in checks if not c.playable
    ][:20]
    if checks and decode_samples > 0:
        picks = {0, len(checks) // 2, len(checks) - 1, *range(min(decode_samples, len(checks)))}
        for index in sorted(picks)[:decode_samples]:
            ok, error = decodes_cleanly(Path(checks[index].path))
            result.decoded_tried += 1
            result.decoded_ok += ok
            if not ok:
                result.probe_errors.append(f"decode {Path(checks[index].path).name}: {error}")


def _live_fps(result: VariantResult, samples: list[dict[str, Any]]) -> None:
    """Mean and minimum over cameras of each camera's mean live fps, from samples after the first 10 s."""
    steady = [sample for sample in samples if sample["t"] >= 10]
    if not steady:
        return
    per_camera: dict[str, list[float]] = {}
    for sample in steady:
        for code, fps in sample["fps"].items():
            per_camera.setdefault(code, []).append(fps)
    means = [statistics.fmean(values) for values in per_camera.values()]
    result.live_fps_mean = round(statistics.fmean(means), 2)
    result.live_fps_min = round(min(means), 2)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ---- the benchmark -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _workdir(config: BenchConfig) -> Iterator[Path]:
    if config.workdir is not None:
        config.workdir.mkdir(parents=True, exist_ok=True)
        yield config.workdir
        return
    path = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        yield path
    finally:
        if not config.keep_files:
            shutil.rmtree(path, ignore_errors=True)


def run_benchmark(config: BenchConfig, progress: bool = False) -> dict[str, Any]:
    """Run the variants one after the other; returns raw numbers (``results``: one dict per variant)."""
    unknown = set(config.variants) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}; choose from {VARIANTS}")
    sample = config.sample_file or sample_video()
    template = CameraSpec(
        file=sample,
        codec="h264",
        width=1920,
        height=1080,
        fps=FPS,
        bitrate_kbps=4000,
        keyframe_interval=2 * FPS,
    )
    started = dt.datetime.now(dt.UTC)
    results: list[VariantResult] = []
    with _workdir(config) as workdir:
        server = SimulatedCameraServer(
            many_cameras(config.cameras, template), log_path=workdir / "camera.log"
        )
        server.start()
        try:
            camera_pid = _camera_server_pid()
            urls = {f"cam{n:03d}": server.url(f"/cam{n}") for n in range(1, config.cameras + 1)}
            idle = Probe({"camera_server": camera_pid})
            idle.begin()
            time.sleep(2)
            idle.finish()
            for variant in config.variants:
                if progress:
                    print(f"[{dt.datetime.now():%H:%M:%S}] {variant}: {config.cameras} cameras, "
                          f"{config.minutes:g} min", file=sys.stderr, flush=True)  # fmt: skip
                run_dir = workdir / variant
                if variant == "ffmpeg":
                    result = run_ffmpeg(config, urls, run_dir, camera_pid)
                else:
                    result = run_vms(
                        config,
                        urls,
                        run_dir,
                        camera_pid,
                        upload=variant == "vms",
                        lean_client=variant != "vms-spool-ffmpeg-client",
                    )
                results.append(result)
                if not config.keep_files:
                    shutil.rmtree(run_dir, ignore_errors=True)
                time.sleep(3)  # let the camera server settle between runs
        finally:
            server.close()
    by_variant = {r.variant: r for r in results}
    ratios: dict[str, float] = {}
    if "ffmpeg" in by_variant:
        reference = by_variant["ffmpeg"]
        for result in results:
            if result.variant != "ffmpeg":
                ratios[f"{result.variant}/ffmpeg cpu"] = result.cpu_per_camera_minute / max(
                    reference.cpu_per_camera_minute, 1e-9
                )
                ratios[f"{result.variant}/ffmpeg rss"] = result.recorder_peak_rss_kb / max(
                    reference.recorder_peak_rss_kb, 1
                )
    return {
        "started_at": started.isoformat(timespec="seconds"),
        "machine": machine_description(),
        "config": {
            "cameras": config.cameras,
            "minutes": config.minutes,
            "segment_seconds": config.segment_seconds,
            "variants": list(config.variants),
            "sample_file": str(sample),
            "sample_bytes": sample.stat().st_size,
        },
        "camera_server_idle_cores": idle.window("camera_server").cpu_s / 2,
        "results": [result.as_dict() for result in results],
        "ratios": ratios,
    }


# ---- report ------------------------------------------------------------------------------------------

TITLES = {
    "vms": "yard-vms, upload to SeaweedFS",
    "vms-spool": "yard-vms, spool only",
    "vms-spool-ffmpeg-client": "yard-vms, spool only, FFmpeg RTSP client",
    "ffmpeg": "ffmpeg, 1 process/camera",
}


def markdown_table(report: dict[str, Any]) -> str:
    results = report["results"]
    ffmpeg = next((r for r in results if r["variant"] == "ffmpeg"), None)

    def cell(r: dict[str, Any], key: str) -> str:
        value = r.get(key)
        return "–" if value is None else str(value)

    rows: list[tuple[str, list[str]]] = [
        ("recording: CPU-s per camera-minute", [f"{r['cpu_per_camera_minute']:.3f}" for r in results]),
        ("recording: cores (CPU-s / wall-s)", [f"{r['recorder_cores']:.3f}" for r in results]),
        (
            "recording CPU vs ffmpeg",
            [
                f"{r['cpu_per_camera_minute'] / ffmpeg['cpu_per_camera_minute']:.2f}x" if ffmpeg else "–"
                for r in results
            ],
        ),
        (
            "recording: peak RSS, MB (sum of processes)",
            [f"{r['recorder_peak_rss_kb'] / 1024:.0f}" for r in results],
        ),
        (
            "SeaweedFS: CPU-s per camera-minute / peak RSS MB",
            [
                f"{r['seaweed_cpu_s'] / r['camera_minutes']:.3f} / {r['seaweed_peak_rss_kb'] / 1024:.0f}"
                if r["seaweed_cpu_s"] is not None
                else "–"
                for r in results
            ],
        ),
        (
            "camera server (source), cores",
            [f"{r['camera_server_cpu_s'] / r['window_s']:.3f}" for r in results],
        ),
        (
            "recording: system share of CPU / context switches per camera-second",
            [
                f"{r['extra']['cpu_sys_s'] / max(r['recorder_cpu_s'], 1e-9):.0%} / "
                f"{r['extra']['context_switches'] / (r['cameras'] * r['record_s']):.0f}"
                for r in results
            ],
        ),
        (
            "cameras read by the lean client / FFmpeg",
            [_readers(r) for r in results],
        ),
        ("all our processes, cores", [f"{r['all_processes_cores']:.2f}" for r in results]),
        ("whole machine busy, cores (incl. other work)", [f"{r['machine_busy_cores']:.2f}" for r in results]),
        ("segments playable / total", [f"{r['segments_playable']} / {r['segments']}" for r in results]),
        (
            "segments fully decoded OK (sample)",
            [f"{r['decoded_ok']} / {r['decoded_tried']}" for r in results],
        ),
        (
            "recorded / expected seconds (all cameras)",
            [f"{r['recorded_s']:.0f} / {r['expected_s']:.0f}" for r in results],
        ),
        (
            "recorded frames/s per camera, mean / min",
            [f"{r['recorded_fps_mean']:.2f} / {r['recorded_fps_min']:.2f}" for r in results],
        ),
        (
            "live fps per camera, mean / min",
            [
                "–" if r["live_fps_mean"] is None else f"{r['live_fps_mean']:.2f} / {r['live_fps_min']:.2f}"
                for r in results
            ],
        ),
        (
            "hub: dropped packets / gaps",
            [f"{cell(r, 'hub_dropped_packets')} / {cell(r, 'hub_gaps')}" for r in results],
        ),
        (
            "upload latency p95 / max, s",
            [
                "–"
                if r["upload_latency_max_s"] is None
                else f"{r['upload_latency_p95_s']:.1f} / {r['upload_latency_max_s']:.1f}"
                for r in results
            ],
        ),
        (
            "wall: recording / until flushed, s",
            [f"{r['record_s']:.0f} / {r['window_s']:.0f}" for r in results],
        ),
        ("sustained", ["yes" if r["sustained"] else "NO: " + "; ".join(r["problems"]) for r in results]),
    ]
    header = "| | " + " | ".join(TITLES[r["variant"]] for r in results) + " |"
    lines = [header, "|---|" + "---:|" * len(results)]
    lines += [f"| {label} | " + " | ".join(values) + " |" for label, values in rows]
    return "\n".join(lines)


def _readers(result: dict[str, Any]) -> str:
    if result["variant"] == "ffmpeg":
        return "–"
    readers = result["extra"].get("readers", {})
    return f"{readers.get('lean', 0)} / {readers.get('ffmpeg', 0)}"


def summary(report: dict[str, Any]) -> str:
    config, machine = report["config"], report["machine"]
    head = (
        f"{config['cameras']} cameras x {config['minutes']:g} min, {config['segment_seconds']:g} s segments; "
        f"{machine['cpu_model']}, {machine['cores']} cores, {machine['ram_gib']} GiB; "
        f"{report['started_at']}; "
        f"camera server idle: {report['camera_server_idle_cores']:.3f} cores"
    )
    return head + "\n\n" + markdown_table(report)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT_VARIANTS),
        help=f"comma-separated variants to run, in order, of {','.join(VARIANTS)} "
        f"(default: {','.join(DEFAULT_VARIANTS)})",
    )
    parser.add_argument("--segment-seconds", type=float, default=10.0)
    parser.add_argument(
        "--sample-file", type=Path, help="raw Annex-B H.264 file to loop (default: 1080p25 4 Mbit/s)"
    )
    parser.add_argument("--decode-samples", type=int, default=3)
    parser.add_argument(
        "--workdir", type=Path, help="keep the recordings here (default: a temporary directory)"
    )
    parser.add_argument("--json", type=Path, help="write the raw numbers here")
    args = parser.parse_args(argv)
    config = BenchConfig(
        cameras=args.cameras,
        minutes=args.minutes,
        variants=tuple(v.strip() for v in args.only.split(",") if v.strip()),
        segment_seconds=args.segment_seconds,
        sample_file=args.sample_file,
        decode_samples=args.decode_samples,
        workdir=args.workdir,
        keep_files=args.workdir is not None,
    )
    report = run_benchmark(config, progress=True)
    report["command"] = "python -m bench.ingest " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(summary(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
