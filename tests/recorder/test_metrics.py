"""Prometheus metrics: per-camera series from ingest statuses and recorder counters, one registry per app."""

from __future__ import annotations

from fastapi.testclient import TestClient

from recorder.metrics import CameraStatus, RecorderMetrics, metrics_router
from vms.api.app import build_api
from vms.context import CoreServices


def statuses() -> list[CameraStatus]:
    return [
        CameraStatus(1, "gate-1", online=True, fps=25.0, bitrate_bps=4_000_000, reconnects=2),
        CameraStatus(2, "gate-2", online=False, reconnects=7),
    ]


def test_metrics_page_has_per_camera_series(core: CoreServices) -> None:
    metrics = RecorderMetrics(statuses)
    metrics.segment_uploaded("gate-1", 0.7, 1_250_000)
    metrics.segment_uploaded("gate-1", 3.0, 1_000_000)
    metrics.storage_error("gate-2")
    metrics.spool_evicted("gate-2")
    metrics.spool_bytes(123_456)
    other = RecorderMetrics()  # a second app in the same process keeps its own numbers

    with TestClient(build_api(core, [metrics_router(metrics)])) as client:
        r = client.get("/metrics")  # no sign-in: Prometheus scrapes it
    text = r.text

    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    for line in [
        'vms_camera_fps{camera="gate-1"} 25.0',
        'vms_camera_bitrate_bits_per_second{camera="gate-1"} 4e+06',
        'vms_camera_online{camera="gate-1"} 1.0',
        'vms_camera_online{camera="gate-2"} 0.0',
        'vms_camera_reconnects_total{camera="gate-2"} 7.0',
        'vms_segments_uploaded_total{camera="gate-1"} 2.0',
        'vms_segment_uploaded_bytes_total{camera="gate-1"} 2.25e+06',
        'vms_segment_upload_latency_seconds_bucket{camera="gate-1",le="1.0"} 1.0',
        'vms_segment_upload_latency_seconds_count{camera="gate-1"} 2.0',
        'vms_storage_errors_total{camera="gate-2"} 1.0',
        'vms_spool_evictions_total{camera="gate-2"} 1.0',
        "vms_spool_bytes 123456.0",
    ]:
        assert line in text.splitlines(), line
    assert "vms_segments_uploaded_total{" not in other.render().decode()
