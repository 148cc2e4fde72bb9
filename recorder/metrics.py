"""Prometheus metrics of cameras and the recorder, in a private registry, and the ``/metrics`` route.

Camera series (fps, bitrate, reconnects, online) are read at scrape time from a status provider (a callable
returning :class:`CameraStatus` items, fed by ingest); recorder series are counted through the hooks of
:class:`RecorderMetrics`, which the assembly hands to the recorder service. ``/metrics`` is public (a
Prometheus scraper cannot sign in): it shows camera codes and counts, no footage and no credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from recorder.models import Segment
from vms.api.deps import public

if TYPE_CHECKING:
    from recorder.service import RecorderHooks


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """What ingest knows about one camera right now."""

    camera_id: int
    code: str
    online: bool
    fps: float = 0.0
    bitrate_bps: float = 0.0
    reconnects: int = 0
    offline_since: datetime | None = None


StatusProvider = Callable[[], Iterable[CameraStatus]]

UPLOAD_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)


class _CameraCollector(Collector):
    """Reads camera statuses from the provider at each scrape."""

    def __init__(self, provider: StatusProvider) -> None:
        self._provider = provider

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        fps = GaugeMetricFamily(
            "vms_camera_fps", "Frames per second received from the camera", labels=["camera"]
        )
        bitrate = GaugeMetricFamily(
            "vms_camera_bitrate_bits_per_second", "Bit rate received from the camera", labels=["camera"]
        )
        online = GaugeMetricFamily(
            "vms_camera_online", "1 while the camera delivers video", labels=["camera"]
        )
        reconnects = CounterMetricFamily(
            "vms_camera_reconnects",
            "Times the connection to the camera was re-established",
            labels=["camera"],
        )
        for status in self._provider():
            fps.add_metric([status.code], status.fps)
            bitrate.add_metric([status.code], status.bitrate_bps)
            online.add_metric([status.code], 1.0 if status.online else 0.0)
            reconnects.add_metric([status.code], float(status.reconnects))
        yield from (fps, bitrate, online, reconnects)

    def describe(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        return iter(())


class RecorderMetrics:
    """The recorder's counters; the recorder service calls these methods as things happen."""

    def __init__(self, status_provider: StatusProvider | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self._uploaded = Counter(
            "vms_segments_uploaded", "Segments uploaded to object storage", ["camera"], registry=r
        )
        self._uploaded_bytes = Counter(
            "vms_segment_uploaded_bytes",
            "Bytes of segments uploaded to object storage",
            ["camera"],
            registry=r,
        )
        self._latency = Histogram(
            "vms_segment_upload_latency_seconds",
            "Time from a segment's end to its upload",
            ["camera"],
            buckets=UPLOAD_LATENCY_BUCKETS,
            registry=r,
        )
        self._storage_errors = Counter(
            "vms_storage_errors", "Failed object storage operations", ["camera"], registry=r
        )
        self._evictions = Counter(
            "vms_spool_evictions",
            "Segments dropped from the full spool before upload",
            ["camera"],
            registry=r,
        )
        self._spool_bytes = Gauge("vms_spool_bytes", "Bytes waiting in the upload spool", registry=r)
        if status_provider is not None:
            r.register(_CameraCollector(status_provider))

    def segment_uploaded(self, camera: str, latency_s: float, size_bytes: int) -> None:
        self._uploaded.labels(camera).inc()
        self._uploaded_bytes.labels(camera).inc(size_bytes)
        self._latency.labels(camera).observe(max(0.0, latency_s))

    def storage_error(self, camera: str = "unknown") -> None:
        self._storage_errors.labels(camera).inc()

    def spool_bytes(self, n: int) -> None:
        self._spool_bytes.set(n)

    def spool_evicted(self, camera: str) -> None:
        self._evictions.labels(camera).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every series."""
        return generate_latest(self.registry)


def metrics_router(metrics: RecorderMetrics) -> APIRouter:
    """``GET /metrics`` (public) for a Prometheus scraper."""
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", dependencies=[public()], include_in_schema=False)
    def scrape() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return router


def recorder_hooks(
    metrics: RecorderMetrics,
    camera_code: Callable[[int], str],
    on_segment: Callable[[Segment], object] | None = None,
) -> RecorderHooks:
    """The :class:`~recorder.service.RecorderHooks` that feed ``metrics`` (and ``on_segment``, e.g.
    :meth:`recorder.linking.BatchLinker.link_segment`, with each newly indexed segment)."""
    from recorder.service import RecorderHooks

    def uploaded(segment: Segment, latency_s: float) -> None:
        metrics.segment_uploaded(camera_code(segment.camera_id), latency_s, segment.size_bytes)
        if on_segment is not None:
            on_segment(segment)

    return RecorderHooks(
        segment_uploaded=uploaded,
        storage_error=lambda _exc: metrics.storage_error(),
        spool_bytes=metrics.spool_bytes,
        segment_evicted=lambda spooled: metrics.spool_evicted(spooled.header.camera_code),
    )
