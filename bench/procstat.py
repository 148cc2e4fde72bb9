"""CPU time and memory of processes and of the whole machine, read from Linux /proc (no psutil needed)."""

from __future__ import annotations

import contextlib
import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcSample:
    """One process's CPU seconds so far (its own threads, plus children it has waited for)."""

    pid: int
    cpu_s: float
    rss_kb: int
    peak_rss_kb: int


def process_sample(pid: int) -> ProcSample | None:
    """``None`` when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return ProcSample(
        pid=pid,
        cpu_s=(utime + stime + cutime + cstime) / CLOCK_TICKS,
        rss_kb=_status_kb(status, "VmRSS"),
        peak_rss_kb=_status_kb(status, "VmHWM"),
    )


def _status_kb(status: str, key: str) -> int:
    match = re.search(rf"^{key}:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def system_cpu_s() -> tuple[float, float]:
    """(busy CPU seconds, total CPU seconds) of the whole machine since boot, all cores."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()
    values = [int(value) for value in first[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, which is already counted in user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def machine_description() -> dict[str, object]:
    """CPU model, core count and RAM, as lscpu and /proc/meminfo tell them."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    with contextlib.suppress(OSError):
        mem_kb = _status_kb(Path("/proc/meminfo").read_text(), "MemTotal")
    return {
        "cpu_model": model,
        "cores": os.cpu_count() or 0,
        "ram_gib": round(mem_kb / 1024**2, 1),
        "kernel": platform.release(),
    }
