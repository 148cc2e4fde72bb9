"""Recorder: the recording service of one node, for all cameras.

It recovers the spool at start, records each camera stream added (one CameraRecorder thread each), uploads
through a SegmentUploader, and reports through ``RecorderHooks`` what the app turns into metrics and audit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.hub import StreamHub
from recorder.camera_recorder import CameraRecorder
from recorder.index import SegmentIndex
from recorder.models import GapReason, Segment, StreamKind
from recorder.recovery import RecoveryReport, recover_spool
from recorder.segment_files import SpooledSegment
from recorder.spool import LinkCheck, Spool
from recorder.uploader import SegmentUploader
from vms.config import RecordingConfig
from vms.db import Database
from vms.storage import ObjectStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RecorderHooks:
    """Optional callbacks for the app (metrics, audit). They run on recorder threads: keep them quick."""

    segment_uploaded: Callable[[Segment, float], None] | None = None
    """An indexed segment and the seconds from its end to its index entry (upload latency)."""
    storage_error: Callable[[Exception], None] | None = None
    """An upload or index insert failed (it will be retried)."""
    spool_bytes: Callable[[int], None] | None = None
    """The spool's size after it changed."""
    segment_evicted: Callable[[SpooledSegment], None] | None = None
    """A segment was deleted from a full spool before it could be uploaded (footage lost)."""
    segment_salvaged: Callable[[SpooledSegment], None] | None = None
    """A segment cut short by a crash was recovered at start."""


class Recorder:
    """Records camera streams into object storage. ``start()``, ``add_camera()`` ..., ``stop()``."""

    def __init__(
        self,
        *,
        db: Database,
        store: ObjectStore,
        bucket: str,
        spool_dir: Path,
        config: RecordingConfig,
        is_linked: LinkCheck | None = None,
        hooks: RecorderHooks | None = None,
        upload_workers: int = 2,
        fragment_seconds: float = 1.0,
    ) -> None:
        self.config = config
        self.hooks = hooks or RecorderHooks()
        self.index = SegmentIndex(db)
        self.spool = Spool(spool_dir, config.spool_max_bytes, is_linked=is_linked, on_evict=self._evicted)
        self.uploader = SegmentUploader(
            self.spool,
            store,
            self.index,
            bucket,
            workers=upload_workers,
            on_uploaded=self._uploaded,
            on_error=self.hooks.storage_error,
        )
        self._fragment_seconds = fragment_seconds
        self._cameras: dict[tuple[int, StreamKind], CameraRecorder] = {}
        self._lock = threading.Lock()
        self._started = False

    def start(self) -> RecoveryReport:
        """Recover the spool (requeue, salvage), then start uploading."""
        report = recover_spool(self.spool, self.index)
        if self.hooks.segment_salvaged is not None:
            for segment in report.salvaged:
                self.hooks.segment_salvaged(segment)
        self.uploader.start()
        self._started = True
        self._report_spool()
        return report

    def add_camera(
        self, camera_id: int, camera_code: str, hub: StreamHub, stream: StreamKind = StreamKind.MAIN
    ) -> CameraRecorder:
        """Start recording a camera stream (replaces a recorder already running for it)."""
        self.remove_camera(camera_id, stream)
        recorder = CameraRecorder(
            camera_id=camera_id,
            camera_code=camera_code,
            hub=hub,
            spool=self.spool,
            index=self.index,
            stream=stream,
            segment_seconds=self.config.segment_seconds,
            fragment_seconds=self._fragment_seconds,
            on_segment=lambda _segment: self._report_spool(),
        )
        with self._lock:
            self._cameras[(camera_id, stream)] = recorder
        recorder.start()
        return recorder

    def remove_camera(
        self, camera_id: int, stream: StreamKind = StreamKind.MAIN, timeout: float = 10.0
    ) -> None:
        """Stop recording a camera stream; its last segment is flushed to the spool."""
        with self._lock:
            recorder = self._cameras.pop((camera_id, stream), None)
        if recorder is not None:
            recorder.stop(timeout)

    def cameras(self) -> list[CameraRecorder]:
        with self._lock:
            return list(self._cameras.values())

    def stop(self, drain_timeout: float = 10.0) -> None:
        """Stop every camera (flushing its segment), upload for up to ``drain_timeout`` s, stop uploading.

        Whatever is not uploaded by then stays in the spool and goes out after the next start.
        """
        with self._lock:
            recorders, self._cameras = list(self._cameras.values()), {}
        for recorder in recorders:
            recorder.stop()
        if self._started:
            self.spool.wait_until_empty(drain_timeout)
            self.uploader.stop()
            self._started = False
        self._report_spool()

    def _uploaded(self, segment: Segment, latency_s: float) -> None:
        self._report_spool()
        if self.hooks.segment_uploaded is not None:
            self.hooks.segment_uploaded(segment, latency_s)

    def _evicted(self, segment: SpooledSegment) -> None:
        h = segment.header
        try:
            self.index.record_gap(
                h.camera_id,
                h.stream,
                h.start_at,
                segment.end_at,
                GapReason.SPOOL_OVERFLOW,
                "spool full while storage was unavailable; footage not uploaded was deleted",
            )
        except Exception:
            log.exception("could not record the spool overflow gap of camera %s", h.camera_code)
        if self.hooks.segment_evicted is not None:
            self.hooks.segment_evicted(segment)

    def _report_spool(self) -> None:
        if self.hooks.spool_bytes is not None:
            try:
                self.hooks.spool_bytes(self.spool.used_bytes)
            except Exception:
                log.exception("spool_bytes hook failed")
