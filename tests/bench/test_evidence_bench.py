"""Smoke test of the evidence upload benchmark harness (bench.evidence_upload) with a ~20 MB video."""

from __future__ import annotations

from pathlib import Path

from bench.evidence_upload import BenchConfig, markdown_table, phase_table, run_benchmark


def test_evidence_upload_bench_produces_figures(tmp_path: Path) -> None:
    config = BenchConfig(size_gb=0.01, runs=1, cache_dir=tmp_path / "cache", workdir=tmp_path / "work")
    (tmp_path / "work").mkdir()

    report = run_benchmark(config)

    (run,) = report["runs"]
    api, minio = run["api"], run["minio"]
    assert report["file_bytes"] >= 0.01 * 1024**3
    assert api["mb_per_s"] > 0 and minio["mb_per_s"] > 0 and run["ratio"] > 0
    assert api["sha256_ok"]
    assert api["server_peak_rss_mb"] >= api["server_idle_rss_mb"] > 0
    assert api["client_peak_rss_mb"] > 0 and minio["client_peak_rss_mb"] > 0
    phases = api["phases"]
    for name in ("receive", "inspect", "s3_put", "retention_lock", "poster_preview", "finish_total"):
        assert phases[name]["wall_s"] >= 0, name
    assert phases["receive"]["patches"] >= 1
    assert phases["s3_put"]["weed_cpu_s"] is not None
    assert "**ratio API / minio**" in markdown_table(report)
    assert "inspection" in phase_table(run)
    assert not list((tmp_path / "work").iterdir()), "the work directory is removed"
