"""How many concurrent 1080p25 4 Mbit/s live views one yard-vms node carries (issue 5, item 4 (b)).

    .venv/bin/python -m bench.live_capacity [--steps 10,25,50,75,100,125] [--receivers 2] [--window 15]
        [--transcode 1,2] [--json out.json]

One simulated camera loops the pre-encoded 1080p25 H.264 Main 4 Mbit/s sample (almost no CPU). The server
is yard-vms's live node in a process of its own (``bench.live_node``: CameraSource -> StreamHub -> WHEP,
aiortc passing H.264 through). ``--receivers`` receiver processes (``bench.live_receiver``) open the views
over WHEP and count RTP packets, sequence numbers and frames without decoding. The number of views is
raised step by step; at each step, after ``--settle`` seconds, a ``--window`` second window is measured:
CPU of the server, of the receivers, of the camera and of the whole machine (from /proc), packets lost
(RTP sequence numbers), frames per second per view, frame delay variation, and packets the hub dropped
for views that fell behind.

A step is carried "without loss" with no loss above ``--max-loss``, no view below 24 fps, no hub drops
and no failed opens; it is also "smooth" when every view's frame delay variation p99 stays within
``--max-jitter-ms`` (a browser's jitter buffer would add that much latency). The ramp goes on past steps
that are not carried (on a shared machine one bad window is not the end) until it collapses: failed
opens, loss above 5 %, median view below 20 fps, or loss with every core of the machine busy.

The receivers run on the same machine and compete with the server for the same cores: their CPU is
reported beside the server's, and so is the rest of the machine's ("other work").

``--transcode N,..``: the naive alternative at a few views: a minimal aiortc server that decodes the
camera (``MediaPlayer(decode=True)``) and re-encodes for every viewer (aiortc's default), with the same
receivers (``bench.live_transcode``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from bench.live_node import start_camera
from bench.procstat import load_average, machine_description, process_sample, system_cpu_s

REPO_ROOT = Path(__file__).resolve().parent.parent
FPS = 25
PUBLISHED = {
    "MediaMTX": "150 WebRTC readers saturate a 3-core VM (MediaMTX documentation)",
    "go2rtc": "90 WebRTC streams take an Intel i9 above 70 % CPU (go2rtc README)",
}


@dataclass
class CapacityConfig:
    steps: list[int] = field(default_factory=lambda: [10, 25, 50, 75, 100, 125])
    receivers: int = 2
    settle_s: float = 6.0
    window_s: float = 15.0
    max_loss: float = 0.005
    max_jitter_ms: float = 200.0
    collapse_loss_pct: float = 5.0
    machine_core_limit: float = 1.9
    """The ramp goes on past a step that is not carried, until loss passes ``collapse_loss_pct``, a median
    view gets below 20 fps, views fail to open, or a step with loss finds the machine's cores all busy."""
    transcode_steps: list[int] = field(default_factory=list)
    rcvbuf_kb: int = 256
    """Receivers' UDP receive buffer (as libwebrtc asks for video); 0: the system default."""
    sample_file: Path | None = None
    workdir: Path | None = None


class LineProcess:
    """A child speaking one-line commands and ``WORD {json}`` answers on stdout."""

    def __init__(self, args: list[str], name: str, log_dir: Path) -> None:
        self.name = name
        self._log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def expect(self, word: str, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.name}: no {word} within {timeout} s")
            ready, _, _ = select.select([self.process.stdout], [], [], remaining)
            if not ready:
                continue
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.name} exited (code {self.process.poll()}); see its log")
            if line.startswith(word + " "):
                return cast(dict[str, Any], json.loads(line[len(word) + 1 :]))

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.send("quit")
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self._log.close()


class CpuWindow:
    """CPU seconds of some processes and of the machine between ``start()`` and ``stop()``."""

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self._pids = pids
        self._start: dict[str, float] = {}
        self._system: tuple[float, float] = (0.0, 0.0)
        self._udp_start: dict[str, int] = {}
        self._t = 0.0

    @staticmethod
    def _udp() -> dict[str, int]:
        lines = [
            line.split()
            for line in Path("/proc/net/snmp").read_text().splitlines()
            if line.startswith("Udp:")
        ]
        return {name: int(value) for name, value in zip(lines[0][1:], lines[1][1:], strict=True)}

    def _cpu(self) -> dict[str, float]:
        out = {}
        for name, pids in self._pids.items():
            samples = [process_sample(pid) for pid in pids]
            out[name] = sum(s.cpu_s for s in samples if s is not None)
        return out

    def start(self) -> None:
        self._start = self._cpu()
        self._system = system_cpu_s()
        self._udp_start = self._udp()
        self._t = time.monotonic()

    def stop(self) -> dict[str, float]:
        elapsed = time.monotonic() - self._t
        end = self._cpu()
        busy, _total = system_cpu_s()
        cores = {f"{name}_cores": round((end[name] - self._start[name]) / elapsed, 3) for name in end}
        cores["machine_busy_cores"] = round((busy - self._system[0]) / elapsed, 3)
        ours = sum((end[name] - self._start[name]) / elapsed for name in end)
        cores["other_work_cores"] = round(max(cores["machine_busy_cores"] - ours, 0.0), 3)
        cores["load_average_1min"] = round(load_average()[0], 2)
        cores["window_s"] = round(elapsed, 2)
        udp = self._udp()
        cores["udp_rcvbuf_errors"] = udp["RcvbufErrors"] - self._udp_start["RcvbufErrors"]
        rss = {f"{name}_rss_mb": round(_rss_kb(pids) / 1024, 1) for name, pids in self._pids.items()}
        return cores | rss


def _rss_kb(pids: list[int]) -> int:
    samples = [process_sample(pid) for pid in pids]
    return sum(s.rss_kb for s in samples if s is not None)


def _step(
    views: int,
    server: LineProcess,
    receivers: list[LineProcess],
    cpu: CpuWindow,
    config: CapacityConfig,
    opened: int,
) -> dict[str, Any]:
    """Open views up to ``views``, settle, measure one window."""
    todo = views - opened
    share = [todo // len(receivers) + (1 if i < todo % len(receivers) else 0) for i in range(len(receivers))]
    open_started = time.monotonic()
    for receiver, count in zip(receivers, share, strict=True):
        if count:
            receiver.send(f"open {count}")
    failed = 0
    for receiver, count in zip(receivers, share, strict=True):
        if count:
            failed = max(failed, receiver.expect("OPENED", timeout=60 + 2 * count)["failed"])
    open_s = time.monotonic() - open_started
    time.sleep(config.settle_s)
    for receiver in receivers:  # start the counting window
        receiver.send("stats")
        receiver.expect("STATS", timeout=30)
    server.send("stats")
    server_before = server.expect("STATS", timeout=30)
    cpu.start()
    time.sleep(config.window_s)
    windows: list[dict[str, Any]] = []
    connected = 0
    states: dict[str, int] = {}
    for receiver in receivers:
        receiver.send("stats")
    for receiver in receivers:
        answer = receiver.expect("STATS", timeout=30)
        windows += answer["views"]
        connected += answer["connected"]
        for state, count in answer.get("states", {}).items():
            states[state] = states.get(state, 0) + count
    usage = cpu.stop()
    server.send("stats")
    server_after = server.expect("STATS", timeout=30)
    row = _summarise(views, windows, connected, failed, open_s, usage, server_before, server_after, config)
    row["receiver_connection_states"] = states
    row["server_sessions"] = server_after.get("sessions")
    return row


def _summarise(
    views: int,
    windows: list[dict[str, Any]],
    connected: int,
    failed: int,
    open_s: float,
    usage: dict[str, float],
    server_before: dict[str, Any],
    server_after: dict[str, Any],
    config: CapacityConfig,
) -> dict[str, Any]:
    seconds = usage["window_s"]
    received = sum(w["packets"] for w in windows)
    expected = sum(w["expected"] for w in windows)
    silent = views - sum(1 for w in windows if w["packets"] > 0)
    fps = sorted(w["frames"] / seconds for w in windows) + [0.0] * max(silent, 0)
    fps.sort()
    jitter = [w["delay_variation_p99_ms"] for w in windows if w["delay_variation_p99_ms"] is not None]
    lossy = sum(1 for w in windows if w["expected"] and 1 - w["packets"] / w["expected"] > config.max_loss)
    loss = 1 - received / expected if expected else 1.0
    row: dict[str, Any] = {
        "views": views,
        "connected": connected,
        "failed_opens": failed,
        "open_s": round(open_s, 1),
        "loss_pct": round(100 * max(loss, 0.0), 3),
        "views_with_loss": lossy + max(silent, 0),
        "fps_min": round(fps[0], 1) if fps else 0.0,
        "fps_median": round(statistics.median(fps), 1) if fps else 0.0,
        "delay_variation_p99_ms_median": round(statistics.median(jitter), 1) if jitter else None,
        "delay_variation_p99_ms_max": round(max(jitter), 1) if jitter else None,
        "received_mbit_s": round(sum(w["bytes"] for w in windows) * 8 / seconds / 1e6, 1),
        "hub_dropped_packets": server_after.get("hub_dropped_packets", 0)
        - server_before.get("hub_dropped_packets", 0),
        **usage,
    }
    row["server_cores_per_view"] = round(row["server_cores"] / views, 4) if views else None
    problems = []
    if failed:
        problems.append(f"{failed} views failed to open")
    if loss > config.max_loss or row["views_with_loss"]:
        problems.append(f"loss {row['loss_pct']} % ({row['views_with_loss']} views above the limit)")
    if row["fps_min"] < FPS - 1:
        problems.append(f"a view got {row['fps_min']} fps")
    if row["hub_dropped_packets"]:
        problems.append(f"the hub dropped {row['hub_dropped_packets']} packets for views that fell behind")
    row["carried"] = not problems
    row["smooth"] = bool(jitter) and max(jitter) <= config.max_jitter_ms
    if jitter and not row["smooth"]:
        problems.append(f"delay variation p99 up to {max(jitter):.0f} ms")
    row["problems"] = problems
    return row


def _collapsed(row: dict[str, Any], config: CapacityConfig) -> bool:
    """Stop ramping: views fail, many frames or packets are missing, or the machine is out of CPU."""
    return bool(
        row["failed_opens"]
        or row["loss_pct"] > config.collapse_loss_pct
        or row["fps_median"] < FPS * 0.8
        or (not row["carried"] and row["machine_busy_cores"] > config.machine_core_limit)
    )


def _ramp(
    server_args: list[str],
    steps: list[int],
    config: CapacityConfig,
    camera_pid: int,
    workdir: Path,
    label: str,
) -> list[dict[str, Any]]:
    server = LineProcess(server_args, f"{label}-server", workdir)
    receivers: list[LineProcess] = []
    rows: list[dict[str, Any]] = []
    try:
        ready = server.expect("READY", timeout=60)
        receivers = [
            LineProcess(
                ["-m", "bench.live_receiver", ready["whep_url"], ready["token"]], f"{label}-rx{i}", workdir
            )
            for i in range(min(config.receivers, max(steps)))
        ]
        cpu = CpuWindow(
            {"server": [server.pid], "receivers": [r.pid for r in receivers], "camera": [camera_pid]}
        )
        opened = 0
        for views in steps:
            try:
                row = _step(views, server, receivers, cpu, config, opened)
            except (TimeoutError, RuntimeError) as exc:  # keep the steps measured so far
                rows.append({"variant": label, "views": views, "error": str(exc), "carried": False})
                print(f"{label}: step {views} failed: {exc}; logs in {workdir}", file=sys.stderr, flush=True)
                break
            row["variant"] = label
            opened = views
            rows.append(row)
            print(json.dumps(row), flush=True)
            if _collapsed(row, config):
                break
    finally:
        for receiver in receivers:
            receiver.close()
        server.close()
    return rows


def run_capacity(config: CapacityConfig) -> dict[str, Any]:
    started = dt.datetime.now(dt.UTC)
    load_before = load_average()
    workdir = Path(config.workdir or tempfile.mkdtemp(prefix="live-capacity-"))
    workdir.mkdir(parents=True, exist_ok=True)
    camera = start_camera(config.sample_file)
    assert camera._process is not None
    camera_pid = camera._process.pid
    url = camera.url()
    results: list[dict[str, Any]] = []
    try:
        results += _ramp(
            ["-m", "bench.live_node", url, str(workdir / "node")],
            config.steps,
            config,
            camera_pid,
            workdir,
            "yard-vms",
        )
        if config.transcode_steps:
            results += _ramp(
                ["-m", "bench.live_transcode", url],
                config.transcode_steps,
                config,
                camera_pid,
                workdir,
                "aiortc-transcode",
            )
    finally:
        camera.close()
        if config.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    carried = [r["views"] for r in results if r["variant"] == "yard-vms" and r["carried"]]
    smooth = [r["views"] for r in results if r["variant"] == "yard-vms" and r["carried"] and r.get("smooth")]
    return {
        "benchmark": "live_capacity",
        "date": started.isoformat(timespec="seconds"),
        "machine": machine_description(),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in load_average()],
        "config": {
            "steps": config.steps,
            "receivers": config.receivers,
            "settle_s": config.settle_s,
            "window_s": config.window_s,
            "max_loss": config.max_loss,
            "max_jitter_ms": config.max_jitter_ms,
            "transcode_steps": config.transcode_steps,
            "receiver_rcvbuf_kb": config.rcvbuf_kb,
        },
        "max_views_carried": max(carried) if carried else 0,
        "max_views_smooth": max(smooth) if smooth else 0,
        "published": PUBLISHED,
        "results": results,
    }


def markdown_table(report: dict[str, Any]) -> str:
    lines = [
        "| server | views | without loss | server cores | receivers cores | other work, cores | loss % "
        "| fps min / median | delay var. p99 ms (median / max) | hub drops | UDP rcvbuf drops "
        "| server RSS MB |",
        "|---|---:|---|---:|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for r in report["results"]:
        if "error" in r:
            lines.append(f"| {r['variant']} | {r['views']} | no: {r['error']} |" + " |" * 9)
            continue
        verdict = ("yes" if r["carried"] else "no") + (
            ": " + "; ".join(r["problems"]) if r["problems"] else ""
        )
        lines.append(
            f"| {r['variant']} | {r['views']} | {verdict} "
            f"| {r['server_cores']} | {r['receivers_cores']} | {r['other_work_cores']} | {r['loss_pct']} "
            f"| {r['fps_min']} / {r['fps_median']} | {r['delay_variation_p99_ms_median']} / "
            f"{r['delay_variation_p99_ms_max']} | {r['hub_dropped_packets']} | {r['udp_rcvbuf_errors']} "
            f"| {r['server_rss_mb']} |"
        )
    return "\n".join(lines)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=_ints, default=[10, 25, 50, 75, 100, 125])
    parser.add_argument("--receivers", type=int, default=2, help="receiver processes")
    parser.add_argument("--settle", type=float, default=6.0)
    parser.add_argument("--window", type=float, default=15.0)
    parser.add_argument("--max-loss", type=float, default=0.005)
    parser.add_argument("--max-jitter-ms", type=float, default=200.0)
    parser.add_argument("--transcode", type=_ints, default=[], help="views for the re-encoding alternative")
    parser.add_argument("--rcvbuf-kb", type=int, default=256, help="receivers' SO_RCVBUF; 0: system default")
    parser.add_argument("--sample", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the processes' logs here")
    args = parser.parse_args(argv)
    config = CapacityConfig(
        steps=args.steps,
        receivers=args.receivers,
        settle_s=args.settle,
        window_s=args.window,
        max_loss=args.max_loss,
        max_jitter_ms=args.max_jitter_ms,
        transcode_steps=args.transcode,
        rcvbuf_kb=args.rcvbuf_kb,
        sample_file=args.sample,
        workdir=args.workdir,
    )
    report = run_capacity(config)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(markdown_table(report))
    print(f"max views without loss: {report['max_views_carried']}, also smooth: {report['max_views_smooth']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
