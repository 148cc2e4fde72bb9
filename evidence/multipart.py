"""Sending an upload to S3 while it arrives: the parts of one S3 multipart upload, read back from the
staging file as soon as the bytes they hold are settled.

The staging file stays the source of truth (inspection needs the whole file, an MP4's index can be at its
end, and resuming needs it): part ``n`` is bytes ``[(n-1) * part_size, n * part_size)`` of it, the last
part what is left. A part is sent once all its bytes are *settled*: staged, and not going to be dropped
again unless ``rewind`` says so. Each part carries a CRC32 that S3 checks (:mod:`vms.storage.parts`); once
sent, its bytes leave the page cache (:func:`evidence.staging.release_cached`).
At most PARTS_IN_FLIGHT parts of one upload are read and sent at a time (memory: part_size each); when S3
falls more than MAX_LAG_PARTS parts behind, ``advance`` waits, which slows the receiving request down
(back-pressure). The parts sent are recorded with their ETags and CRC32s through ``save``: at most once
per SAVE_EVERY_S while parts keep going up (each record rewrites the list, and a database commit per part
cost more than the part's checksum), and whenever no part is in flight. A resumed upload, even after a
restart, sends only what is not recorded (a crash costs at most SAVE_EVERY_S of parts sent again); if S3 no
longer knows the multipart upload (or a part), everything is sent again from the staging file into a new
one.

Nothing is visible in the bucket until ``complete``; ``abort`` drops the parts.
"""

from __future__ import annotations

import logging
import mmap
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path

from evidence.staging import release_cached
from vms.storage import MultipartUploadLost, ObjectInfo, ObjectStore, SentPart, StorageError
from vms.storage.objects import MIN_PART_SIZE

log = logging.getLogger("evidence.multipart")

PART_BYTES = 8 * 1024 * 1024
"""Part size of an upload up to 78 GiB (10 000 parts); larger uploads get larger parts."""
MAX_PARTS = 10_000
PARTS_IN_FLIGHT = 3
MAX_LAG_PARTS = 4
RETRY_AFTER_S = 5.0
BUFFERS_IDLE_S = 10.0
SAVE_EVERY_S = 1.0
_WAIT_S = 1.0

SaveParts = Callable[[str | None, dict[int, SentPart]], None]
"""Records (S3 upload id, {part number: its ETag and CRC32}) of one upload durably."""


def part_size_for(length: int, base: int = PART_BYTES) -> int:
    """Part size for an upload of ``length`` bytes: ``base`` (at least the S3 minimum of 5 MiB), or more
    (whole MiB) where ``base`` would take more than 10 000 parts."""
    mib = 1024 * 1024
    needed = -(-length // MAX_PARTS)
    return max(base, MIN_PART_SIZE, -(-needed // mib) * mib)


def abort_quietly(store: ObjectStore, bucket: str, key: str, upload_id: str) -> None:
    """Abort a multipart upload; a failure is logged (the expiry sweep tries again later)."""
    try:
        store.abort_multipart(bucket, key, upload_id)
    except StorageError as exc:
        log.warning("could not abort the multipart upload %s of s3://%s/%s: %s", upload_id, bucket, key, exc)


class PartBuffers:
    """Part-sized read buffers shared by a node's part senders, reused from part to part (a fresh buffer
    per part would cost a page fault per 4 KiB, and per-part allocations fragment the heap of every
    sending thread). They are anonymous memory maps, so dropping one gives its memory back to the
    system: all are dropped once none was used for BUFFERS_IDLE_S. At most one per sending thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: dict[int, list[mmap.mmap]] = {}
        self._in_use = 0
        self._timer: threading.Timer | None = None

    @contextmanager
    def buffer(self, size: int) -> Iterator[mmap.mmap]:
        with self._lock:
            free = self._free.get(size)
            buffer = free.pop() if free else None
            self._in_use += 1
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if buffer is None:
            buffer = mmap.mmap(-1, size)
        try:
            yield buffer
        finally:
            with self._lock:
                self._free.setdefault(size, []).append(buffer)
                self._in_use -= 1
                if self._in_use == 0:
                    self._timer = threading.Timer(BUFFERS_IDLE_S, self.drop_unused)
                    self._timer.daemon = True
                    self._timer.start()

    def drop_unused(self) -> None:
        """Give the memory of the buffers not in use back (each is unmapped once no view of it is left)."""
        with self._lock:
            self._free = {}

    @property
    def held(self) -> int:
        """Bytes of the buffers kept for reuse."""
        with self._lock:
            return sum(len(b) for free in self._free.values() for b in free)


class PartSender:
    """The S3 side of one upload: sends its settled bytes as parts and completes or aborts the object."""

    def __init__(
        self,
        store: ObjectStore,
        bucket: str,
        key: str,
        path: Path,
        length: int,
        part_size: int,
        *,
        content_type: str,
        metadata: Mapping[str, str],
        upload_id: str | None,
        parts: Mapping[int, SentPart],
        save: SaveParts,
        executor: Executor,
        buffers: PartBuffers,
    ) -> None:
        if part_size < MIN_PART_SIZE or length <= part_size:
            raise ValueError(f"{length} bytes in parts of {part_size} bytes is not a multipart upload")
        self.store = store
        self.bucket = bucket
        self.key = key
        self.path = path
        self.length = length
        self.part_size = part_size
        self.count = -(-length // part_size)
        self._content_type = content_type
        self._metadata = dict(metadata)
        self._save = save
        self._executor = executor
        self._buffers = buffers
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._start_lock = threading.Lock()
        self._persist_lock = threading.Lock()
        self._upload_id = upload_id
        self._done = {n: part for n, part in parts.items() if 1 <= n <= self.count}
        self._settled = 0
        self._generation = 0  # +1 whenever the S3 upload is replaced or dropped: older tasks are void
        self._in_flight: set[tuple[int, int]] = set()  # (generation, part number)
        self._scan = 1  # no part below this one is missing
        self._failure: Exception | None = None
        self._failed_at = 0.0
        self._closed = False
        self._saved_at = float("-inf")
        self._unsaved = False  # parts sent since the last save

    # -- what the receiving side calls ----------------------------------------------------------------

    def advance(self, settled: int, *, wait: bool = True) -> None:
        """Bytes up to ``settled`` are staged for good: send the parts they complete. With ``wait``, waits
        while S3 is more than MAX_LAG_PARTS parts behind (not when sending failed: the staging file absorbs
        it)."""
        with self._changed:
            self._settled = max(self._settled, min(settled, self.length))
            if self._failure is not None and time.monotonic() - self._failed_at >= RETRY_AFTER_S:
                self._failure = None  # try S3 again
            self._schedule()
            while (
                wait
                and not self._closed
                and self._failure is None
                and self._in_flight
                and self._settled - self._sent_prefix() > MAX_LAG_PARTS * self.part_size
            ):
                self._changed.wait(_WAIT_S)

    def rewind(self, offset: int) -> None:
        """The staged bytes from ``offset`` on are dropped (they were never acknowledged): forget the parts
        that hold any of them (waiting for those in flight)."""
        with self._changed:
            self._settled = min(self._settled, offset)

            def beyond(n: int) -> bool:
                start, size = self._span(n)
                return start + size > offset

            while any(beyond(n) for _, n in self._in_flight):
                self._changed.wait(_WAIT_S)
            dropped = [n for n in self._done if beyond(n)]
            if not dropped:
                return
            for n in dropped:
                del self._done[n]
            self._scan = min(self._scan, *dropped)
        self._persist()

    def wait_sent(self) -> None:
        """Wait until every part is in S3, or sending failed (``complete`` retries then), or the upload was
        aborted. The part buffers are given back once the last part is sent."""
        with self._changed:
            self._schedule()
            while len(self._done) < self.count and self._failure is None and not self._closed:
                self._changed.wait(_WAIT_S)
                self._schedule()

    def complete(self) -> ObjectInfo:
        """Send what is missing, then CompleteMultipartUpload: the object appears (returns its stat)."""
        for attempt in (1, 2):
            with self._changed:
                if self._closed:
                    raise StorageError(f"the multipart upload of s3://{self.bucket}/{self.key} was aborted")
                if self._settled < self.length:
                    raise ValueError(f"only {self._settled} of {self.length} bytes are settled")
                self._failure = None
                self._schedule()
                while len(self._done) < self.count and self._failure is None and not self._closed:
                    self._changed.wait(_WAIT_S)
                    self._schedule()
                if self._closed:
                    raise StorageError(f"the multipart upload of s3://{self.bucket}/{self.key} was aborted")
                failure = self._failure
                upload_id, parts = self._upload_id, sorted(self._done.items())
            if failure is not None:
                if isinstance(failure, StorageError):
                    raise failure
                raise StorageError(f"cannot send s3://{self.bucket}/{self.key}: {failure}") from failure
            assert upload_id is not None
            try:
                info = self.store.complete_multipart(self.bucket, self.key, upload_id, parts)
                if info.size == self.length:
                    with self._lock:
                        self._closed = True
                    return info
                # Parts that do not add up to the file: never keep such an object (it is not locked yet).
                self.store.delete(self.bucket, self.key, version_id=info.version_id)
                problem = f"the completed object has {info.size} bytes, not {self.length}"
            except MultipartUploadLost as exc:
                problem = str(exc)
                abort_quietly(self.store, self.bucket, self.key, upload_id)
            if attempt == 2:
                raise StorageError(f"cannot store s3://{self.bucket}/{self.key}: {problem}")
            log.warning("%s; sending all %d parts again from the staging file", problem, self.count)
            with self._lock:
                self._replace_upload()
            self._persist()
        raise AssertionError("unreachable")

    def abort(self) -> None:
        """Stop sending and drop the parts sent so far (after the parts in flight ended)."""
        with self._changed:
            self._closed = True
            self._generation += 1
            while self._in_flight:
                self._changed.wait(_WAIT_S)
            upload_id, self._upload_id = self._upload_id, None
            self._done = {}
        if upload_id is not None:
            abort_quietly(self.store, self.bucket, self.key, upload_id)
        self._persist()

    @property
    def closed(self) -> bool:
        """Completed or aborted: nothing more is sent."""
        with self._lock:
            return self._closed

    def sent_parts(self) -> dict[int, SentPart]:
        with self._lock:
            return dict(self._done)

    # -- scheduling (called with the lock held) -------------------------------------------------------

    def _span(self, n: int) -> tuple[int, int]:
        start = (n - 1) * self.part_size
        return start, min(self.part_size, self.length - start)

    def _sent_prefix(self) -> int:
        while self._scan in self._done:
            self._scan += 1
        return (self._scan - 1) * self.part_size

    def _schedule(self) -> None:
        if self._closed or self._failure is not None:
            return
        self._sent_prefix()
        n = self._scan
        while len(self._in_flight) < PARTS_IN_FLIGHT and n <= self.count:
            start, size = self._span(n)
            if start + size > self._settled:
                return
            if n not in self._done and (self._generation, n) not in self._in_flight:
                self._in_flight.add((self._generation, n))
                self._executor.submit(self._send, self._generation, n)
            n += 1

    def _replace_upload(self) -> None:
        """Forget the S3 upload and its parts: a new one is started and every part sent again."""
        self._generation += 1
        self._upload_id = None
        self._done = {}
        self._scan = 1
        self._failure = None
        self._schedule()

    # -- the work (executor threads) ------------------------------------------------------------------

    def _send(self, generation: int, n: int) -> None:
        try:
            start, size = self._span(n)
            with self._buffers.buffer(self.part_size) as buffer:
                data = memoryview(buffer)[:size]
                _read_into(self.path, start, data)
                upload_id = self._started(generation)
                if upload_id is None:
                    return
                sent = self.store.upload_part(self.bucket, self.key, upload_id, n, data)
            release_cached(self.path, start, size)
            with self._lock:
                current = generation == self._generation and not self._closed
                due = False
                if current:
                    self._done[n] = sent
                    due = time.monotonic() - self._saved_at >= SAVE_EVERY_S
                    self._unsaved = not due
            if current and due:
                self._persist()
        except MultipartUploadLost as exc:
            log.warning("%s: sending the parts again into a new multipart upload", exc)
            with self._lock:
                if generation == self._generation and not self._closed:
                    self._replace_upload()
            self._persist()
        except Exception as exc:
            if isinstance(exc, StorageError | OSError):
                log.warning("part %d of s3://%s/%s not sent (sent later): %s", n, self.bucket, self.key, exc)
            else:
                log.exception("part %d of s3://%s/%s failed", n, self.bucket, self.key)
            with self._lock:
                if generation == self._generation:  # kept without the frames of its traceback
                    self._failure, self._failed_at = exc.with_traceback(None), time.monotonic()
        finally:
            with self._changed:
                self._in_flight.discard((generation, n))
                self._schedule()
                self._changed.notify_all()
                idle = not self._in_flight
                finished = idle and len(self._done) == self.count
                catch_up = idle and self._unsaved
            if catch_up:
                self._persist()
            if finished:
                self._buffers.drop_unused()  # all parts are in S3: give the memory back now

    def _started(self, generation: int) -> str | None:
        """The S3 upload id, starting the multipart upload first if needed (None: this task is void)."""
        with self._start_lock:
            with self._lock:
                if generation != self._generation or self._closed:
                    return None
                if self._upload_id is not None:
                    return self._upload_id
            upload_id = self.store.start_multipart(
                self.bucket, self.key, content_type=self._content_type, metadata=self._metadata
            )
            with self._lock:
                void = generation != self._generation or self._closed
                if not void:
                    self._upload_id = upload_id
            if void:
                abort_quietly(self.store, self.bucket, self.key, upload_id)
                return None
            self._persist()  # recorded before any part goes up: a crash leaves an id that can be aborted
            return upload_id

    def _persist(self) -> None:
        with self._persist_lock:
            with self._lock:
                upload_id, parts = self._upload_id, dict(self._done)
                self._saved_at, self._unsaved = time.monotonic(), False
            try:
                self._save(upload_id, parts)
            except Exception:
                log.exception("could not record the parts of s3://%s/%s", self.bucket, self.key)


def _read_into(path: Path, start: int, target: memoryview) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        done = 0
        while done < len(target):
            got = os.preadv(fd, [target[done:]], start + done)
            if got == 0:
                raise OSError(f"staging file {path.name} ends before byte {start + len(target)}")
            done += got
    finally:
        os.close(fd)
