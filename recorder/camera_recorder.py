"""CameraRecorder: one thread that reads a camera stream's lossless hub subscription into a SegmentWriter,
and turns the writer's interruptions into recording gaps in the index."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from ingest.hub import StreamHub
from ingest.subscription import DeliveryMode, Subscription, SubscriptionClosed
from recorder.index import SegmentIndex
from recorder.models import GapReason, StreamKind
from recorder.segment_files import SpooledSegment
from recorder.segment_writer import SegmentWriter
from recorder.spool import Spool

log = logging.getLogger(__name__)

_POLL_S = 0.25


class CameraRecorder:
    """Records one camera stream from its hub until ``stop()``, which flushes the current segment."""

    def __init__(
        self,
        *,
        camera_id: int,
        camera_code: str,
        hub: StreamHub,
        spool: Spool,
        index: SegmentIndex,
        stream: StreamKind = StreamKind.MAIN,
        segment_seconds: float = 10.0,
        fragment_seconds: float = 1.0,
        on_segment: Callable[[SpooledSegment], None] | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.camera_code = camera_code
        self.stream = stream
        self._hub = hub
        self._index = index
        self._on_segment = on_segment
        self._writer = SegmentWriter(
            camera_id=camera_id,
            camera_code=camera_code,
            stream=stream,
            spool=spool,
            events=self,
            segment_seconds=segment_seconds,
            fragment_seconds=fragment_seconds,
        )
        self._stop = threading.Event()
        self._subscription: Subscription | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._stop.clear()
        self._subscription = self._hub.subscribe(
            f"recorder:{self.camera_code}:{self.stream}", DeliveryMode.LOSSLESS
        )
        self._thread = threading.Thread(
            target=self._run, name=f"recorder-{self.camera_code}-{self.stream}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, finish the current segment, and open a ``recorder_stopped`` gap."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("recorder of camera %s did not stop within %.0f s", self.camera_code, timeout)

    def _run(self) -> None:
        subscription = self._subscription
        assert subscription is not None
        try:
            # Batches every _POLL_S instead of a wake-up per packet: with many cameras, per-packet thread
            # hand-offs cost more CPU than the remuxing itself (see docs/benchmarks.md).
            while not self._stop.wait(_POLL_S):
                try:
                    items = subscription.take_all()
                except SubscriptionClosed:
                    break
                for item in items:
                    self._writer.handle(item)
            subscription.close()
            self._drain(subscription)
        except Exception:
            log.exception("recorder of camera %s failed", self.camera_code)
        finally:
            self._writer.close()

    def _drain(self, subscription: Subscription) -> None:
        while True:
            try:
                item = subscription.get(timeout=0)
            except (TimeoutError, SubscriptionClosed):
                return
            self._writer.handle(item)

    # ---- RecordingEvents -----------------------------------------------------------------------------

    def segment_finished(self, segment: SpooledSegment) -> None:
        if self._on_segment is not None:
            self._on_segment(segment)

    def recording_interrupted(self, at: datetime, reason: GapReason, detail: str) -> None:
        log.info("camera %s: recording interrupted at %s (%s: %s)", self.camera_code, at, reason, detail)
        self._index.open_gap(self.camera_id, self.stream, at, reason, detail)

    def recording_resumed(self, at: datetime) -> None:
        closed = self._index.close_open_gaps(self.camera_id, self.stream, at)
        if closed:
            log.info("camera %s: recording resumed at %s", self.camera_code, at)
