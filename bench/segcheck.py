"""Checks of recorded segments with ffprobe/ffmpeg: readable, first packet a keyframe, duration, frames."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

PROBE_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class SegmentCheck:
    path: str
    camera: str
    readable: bool
    """ffprobe -v error exited 0 and printed no error."""
    starts_with_keyframe: bool
    video_packets: int
    duration_s: float
    error: str = ""

    @property
    def playable(self) -> bool:
        return self.readable and self.starts_with_keyframe and self.video_packets > 0


def probe_segment(path: Path, camera: str) -> SegmentCheck:
    """Demux the whole file (no decoding) and look at its video packets."""
    command = [
        "ffprobe", "-v", "error", "-select_streams", "v:0",
        "-show_entries", "packet=pts_time,duration_time,flags", "-of", "csv=p=0", str(path),
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return SegmentCheck(str(path), camera, False, False, 0, 0.0, "ffprobe timed out")
    first_flags = ""
    start: float | None = None
    end = 0.0
    packets = 0
    for line in result.stdout.splitlines():
        parts = line.split(",")
        if len(parts) < 3:
            continue
        try:
            pts = float(parts[0])
            duration = float(parts[1]) if parts[1] not in ("", "N/A") else 0.0
        except ValueError:
            continue
        if packets == 0:
            first_flags = parts[2]
        packets += 1
        start = pts if start is None else min(start, pts)
        end = max(end, pts + duration)
    error = result.stderr.strip()
    return SegmentCheck(
        path=str(path),
        camera=camera,
        readable=result.returncode == 0 and not error,
        starts_with_keyframe=first_flags.startswith("K"),
        video_packets=packets,
        duration_s=round(end - start, 3) if start is not None else 0.0,
        error=error[-500:],
    )


def probe_segments(files: Iterable[tuple[Path, str]], workers: int = 2) -> list[SegmentCheck]:
    """``files``: (path, camera name) pairs; probed ``workers`` at a time."""
    items = list(files)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda item: probe_segment(*item), items))


def decodes_cleanly(path: Path) -> tuple[bool, str]:
    """Decode every frame (``ffmpeg -xerror -f null``): slow, so only for a sample of segments."""
    command = ["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        return False, "ffmpeg decode timed out"
    error = result.stderr.strip()
    return result.returncode == 0 and not error, error[-500:]
