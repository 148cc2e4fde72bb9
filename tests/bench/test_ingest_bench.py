"""Smoke test of the ingest benchmark harness (bench.ingest): one small camera, yard-vms side only."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.ingest import BenchConfig, markdown_table, run_benchmark
from vms.demo.simcam import sample_video


@pytest.mark.slow
def test_ingest_benchmark_records_playable_segments(tmp_path: Path) -> None:
    sample = sample_video(tmp_path / "cache", width=320, height=240, bitrate_kbps=300, seconds=4)
    config = BenchConfig(
        cameras=1,
        minutes=0.2,
        variants=("vms",),
        segment_seconds=4,
        sample_file=sample,
        decode_samples=1,
        workdir=tmp_path / "work",
    )

    report = run_benchmark(config)

    (result,) = report["results"]
    assert result["variant"] == "vms"
    assert result["segments"] >= 2
    assert result["segments_playable"] == result["segments"], result["probe_errors"]
    assert result["decoded_ok"] == result["decoded_tried"] == 1
    assert result["pending_in_spool"] == 0 and result["storage_errors"] == 0
    assert result["recorder_cpu_s"] > 0 and result["recorder_peak_rss_kb"] > 0
    assert result["seaweed_cpu_s"] is not None
    assert 8 <= result["recorded_s"] <= 13
    assert result["live_fps_mean"] is not None and result["live_fps_mean"] > 20
    table = markdown_table(report)
    assert f"| segments playable / total | {result['segments']} / {result['segments']} |" in table
