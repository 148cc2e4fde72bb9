"""Smoke test of the evidence upload benchmark harness (bench.evidence_upload) with a ~20 MB video (a few
S3 parts, streamed while it arrives)."""

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
    assert report["grown_volumes"] == {"bench-evidence": 8, "bench-plain": 8}
    assert api["server_peak_rss_mb"] >= api["server_idle_rss_mb"] > 0
    assert api["client_peak_rss_mb"] > 0 and minio["client_peak_rss_mb"] > 0
    phases = api["phases"]
    for name in ("receive", "s3_parts", "inspect", "s3_complete", "retention_lock", "poster_preview"):
        assert phases[name]["wall_s"] >= 0, name
    assert phases["receive"]["patches"] >= 1
    assert phases["s3_parts"]["parts"] == -(-report["file_bytes"] // report["server_s3_part_size"])
    assert phases["receive"]["weed_cpu_s"] is not None and phases["receive"]["server_cpu_s"] is not None
    assert "s3_put" not in phases  # the original was streamed, not put after inspection
    assert api["server_http_protocol"] == "PassThroughBodyProtocol" and not api["server_alembic_loaded"]
    assert "**ratio API / minio**" in markdown_table(report)
    assert "inspection" in phase_table(run)
    assert not list((tmp_path / "work").iterdir()), "the work directory is removed"
