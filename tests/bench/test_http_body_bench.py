"""Smoke test of the HTTP body benchmark harness (bench.http_body): both variants receive a small body."""

from __future__ import annotations

from bench.http_body import VARIANTS, markdown_table, run_benchmark


def test_both_protocols_receive_the_body_and_are_measured() -> None:
    report = run_benchmark(size_gb=64 / 1024, runs=1)
    assert sorted(r["variant"] for r in report["results"]) == sorted(VARIANTS)
    assert all(r["server_cpu_s"] >= 0 and r["wall_s"] > 0 for r in report["results"])
    assert "pass-through" in markdown_table(report)
