"""After kill -9 mid-segment, recovery salvages the partial segment (losing about a second at most), requeues
finished segments, and records a recorder_restart gap."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from recorder.index import SegmentIndex
from recorder.models import GapReason, StreamKind
from recorder.recovery import recover_spool
from recorder.spool import Spool
from tests.recorder.conftest import CameraRow
from tests.recorder.test_segment_writer import ffprobe, first_video_packet_flags

REPO = Path(__file__).resolve().parents[2]


def test_kill_9_mid_segment_is_salvaged(tmp_path: Path, index: SegmentIndex, camera: CameraRow) -> None:
    spool_dir = tmp_path / "spool"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.recorder.crash_target", str(spool_dir), str(camera.id)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    walls: list[float] = []
    reader = threading.Thread(
        target=lambda: walls.extend(float(line) for line in proc.stdout or []), daemon=True
    )
    reader.start()
    try:
        deadline = time.monotonic() + 60
        # Wait for one finished segment and ~3 s into the next one.
        while time.monotonic() < deadline and not (walls and walls[-1] - walls[0] >= 8.0):
            time.sleep(0.1)
        assert walls, "the recording process printed nothing"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    reader.join(5)
    last_written = walls[-1]

    spool = Spool(spool_dir, 1 << 30)
    report = recover_spool(spool, index)

    assert report.requeued == 1
    assert len(report.salvaged) == 1
    salvaged = report.salvaged[0]
    assert salvaged.salvaged
    assert salvaged.end_at.timestamp() >= last_written - 2.0
    assert salvaged.end_at.timestamp() <= last_written + 0.1
    probe = ffprobe(salvaged.media_path)
    assert first_video_packet_flags(probe).startswith("K")
    assert float(probe["format"]["duration"]) == pytest.approx(salvaged.duration_s, abs=0.05)
    pending = spool.pending()
    assert len(pending) == 2 and pending[1].uid == salvaged.uid
    assert pending[0].end_at == salvaged.start_at
    assert not list(spool_dir.glob("*/*/*.partial.json"))

    gaps = index.gaps(camera.id, salvaged.start_at, salvaged.end_at.replace(year=2100))
    assert [(g.reason, g.start_at, g.end_at) for g in gaps] == [
        (GapReason.RECORDER_RESTART, salvaged.end_at, None)
    ]
    # Recording resumes: the gap closes there.
    index.close_open_gaps(camera.id, StreamKind.MAIN, salvaged.end_at.replace(year=2100))
    assert index.gaps(camera.id, salvaged.start_at, salvaged.end_at.replace(year=2101))[0].end_at is not None
