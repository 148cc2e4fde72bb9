"""SegmentUploader: drains the spool into object storage, then indexes each segment and deletes its files.

Order of a segment's life: put the object, insert the index row, delete the spool files. A crash between
any two steps repeats the earlier ones on restart, which is harmless: the same key is written again with the
same bytes and the index insert is idempotent. While the storage (or database) is unavailable, segments stay
in the spool and the upload is retried with bounded exponential backoff; nothing is dropped here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC

from sqlalchemy.exc import SQLAlchemyError

from recorder.index import NewSegment, SegmentIndex
from recorder.models import Segment
from recorder.segment_files import SpooledSegment
from recorder.spool import Spool
from vms.db import utcnow
from vms.storage import ObjectStore, StorageError, StorageUnavailable

log = logging.getLogger(__name__)

UploadedCallback = Callable[[Segment, float], None]
"""``(indexed segment, seconds from the segment's end to its index entry)``."""
ErrorCallback = Callable[[Exception], None]


def object_key(segment: SpooledSegment) -> str:
    """``recordings/<camera>/<stream>/YYYY/MM/DD/HH/<start>_<uid>.mp4`` (UTC): lists by camera and hour."""
    h = segment.header
    t = h.start_at.astimezone(UTC)
    return (
        f"recordings/{h.camera_code}/{h.stream}/{t:%Y/%m/%d/%H}/"
        f"{t:%Y%m%dT%H%M%S}.{t.microsecond:06d}Z_{h.uid}{h.extension}"
    )


def content_type(segment: SpooledSegment) -> str:
    return "video/quicktime" if segment.header.container == "mov" else "video/mp4"


class SegmentUploader:
    """``workers`` threads draining one spool; one camera's segments are uploaded in order."""

    def __init__(
        self,
        spool: Spool,
        store: ObjectStore,
        index: SegmentIndex,
        bucket: str,
        *,
        workers: int = 2,
        min_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        on_uploaded: UploadedCallback | None = None,
        on_error: ErrorCallback | None = None,
    ) -> None:
        self._spool = spool
        self._store = store
        self._index = index
        self.bucket = bucket
        self._workers = max(1, workers)
        self._min_backoff = min_backoff_s
        self._max_backoff = max_backoff_s
        self._on_uploaded = on_uploaded
        self._on_error = on_error
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._stop.clear()
        for n in range(self._workers):
            thread = threading.Thread(target=self._run, name=f"segment-uploader-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the uploads in progress (what is left stays in the spool for the next start)."""
        self._stop.set()
        self._spool.notify()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]

    def upload(self, segment: SpooledSegment) -> Segment:
        """Put one segment, index it, delete its spool files. Raises StorageError / SQLAlchemyError."""
        key = object_key(segment)
        self._store.put_file(
            self.bucket,
            key,
            segment.media_path,
            content_type=content_type(segment),
            metadata={
                "sha256": segment.sha256,
                "camera": segment.header.camera_code,
                "stream": str(segment.header.stream),
                "start": segment.start_at.isoformat(),
                "end": segment.end_at.isoformat(),
            },
        )
        h = segment.header
        row = self._index.insert_segment(
            NewSegment(
                camera_id=h.camera_id,
                stream=h.stream,
                start_at=h.start_at,
                end_at=segment.end_at,
                clock_source=h.clock_source,
                bucket=self.bucket,
                object_key=key,
                size_bytes=segment.size_bytes,
                sha256=segment.sha256,
                video_codec=h.video_codec,
                width=h.width,
                height=h.height,
                audio_codec=h.audio_codec,
                starts_with_keyframe=h.starts_with_keyframe,
                salvaged=segment.salvaged,
            )
        )
        self._spool.remove(segment)
        return row

    def _run(self) -> None:
        backoff = self._min_backoff
        while not self._stop.is_set():
            segment = self._spool.claim_next(timeout=0.5)
            if segment is None:
                continue
            try:
                row = self.upload(segment)
            except FileNotFoundError:
                log.error("upload: %s vanished from the spool", segment.media_path)
                self._spool.remove(segment)
                continue
            except (StorageError, SQLAlchemyError, OSError) as exc:
                self._spool.release(segment)
                self._report_error(segment, exc)
                self._stop.wait(backoff)
                backoff = min(self._max_backoff, backoff * 2)
                continue
            backoff = self._min_backoff
            if self._on_uploaded is not None:
                latency = (utcnow() - segment.end_at).total_seconds()
                try:
                    self._on_uploaded(row, latency)
                except Exception:
                    log.exception("upload callback failed")

    def _report_error(self, segment: SpooledSegment, exc: Exception) -> None:
        level = logging.WARNING if isinstance(exc, StorageUnavailable) else logging.ERROR
        log.log(level, "upload of %s failed, will retry: %s", segment.media_path.name, exc)
        if self._on_error is not None:
            try:
                self._on_error(exc)
            except Exception:
                log.exception("upload error callback failed")
