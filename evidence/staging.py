"""Staging files of uploads in progress, under ``<data_dir>/evidence-staging``, and their running SHA-256.

The hash is computed as bytes arrive. Its state lives in memory per upload; after a restart (or when another
node took the previous chunk) the staged prefix is hashed again once, so resuming never trusts lost state.

Bytes already in S3 leave the page cache (``release_cached``): a big upload otherwise fills gigabytes of it
with pages nothing reads again, the object store's own copy of the same bytes needs as many, and on the
benchmark machine writing into newly allocated pages made the staging writes 2 to 3 times dearer once the
cache was full.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from vms.config import Settings

_READ_CHUNK = 1024 * 1024


def _sync_file_range() -> Any:
    """libc's ``sync_file_range`` (Linux), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_SYNC_FILE_RANGE = _sync_file_range()
_WAIT_BEFORE, _WRITE, _WAIT_AFTER = 1, 2, 4  # SYNC_FILE_RANGE_* of <fcntl.h>
_WRITE_AND_WAIT = _WAIT_BEFORE | _WRITE | _WAIT_AFTER


def release_cached(path: Path, offset: int, length: int) -> None:
    """Write bytes ``offset .. offset+length`` of a staging file to disk and drop them from the page cache
    (they stay in the file: resuming after a restart or sending again reads them from disk). Only a hint:
    a file already gone, or a file system that does not take the advice, is not an error."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        if _SYNC_FILE_RANGE is not None:
            _SYNC_FILE_RANGE(fd, offset, length, _WRITE_AND_WAIT)  # dirty pages cannot be dropped
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def staging_dir(settings: Settings) -> Path:
    path = Path(settings.data_dir) / "evidence-staging"
    path.mkdir(parents=True, exist_ok=True)
    return path


class RunningHashes:
    """SHA-256 states of uploads in progress, each valid for one offset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, tuple[int, Any]] = {}

    def resume(self, upload_id: str, path: Path, offset: int) -> Any:
        """The hash of the first ``offset`` bytes of ``path`` (from memory, else by reading them)."""
        with self._lock:
            known = self._states.get(upload_id)
        if known is not None and known[0] == offset:
            return known[1].copy()
        hasher = hashlib.sha256()
        remaining = offset
        with path.open("rb") as f:
            while remaining > 0:
                block = f.read(min(_READ_CHUNK, remaining))
                if not block:
                    raise OSError(f"staging file {path.name} is shorter than the recorded offset {offset}")
                hasher.update(block)
                remaining -= len(block)
        return hasher

    def keep(self, upload_id: str, offset: int, hasher: Any) -> None:
        with self._lock:
            self._states[upload_id] = (offset, hasher.copy())

    def forget(self, upload_id: str) -> None:
        with self._lock:
            self._states.pop(upload_id, None)


class BusyUploads:
    """Upload ids a request is writing right now (one writer per upload)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[str] = set()

    def claim(self, upload_id: str) -> bool:
        with self._lock:
            if upload_id in self._busy:
                return False
            self._busy.add(upload_id)
            return True

    def release(self, upload_id: str) -> None:
        with self._lock:
            self._busy.discard(upload_id)


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


class StagingRemoval:
    """Deletes the staging files of finished uploads in a thread of its own.

    Unlinking a 2 GB file takes 0.1 to 0.3 s here (the kernel drops its cached pages), which the answer to
    the upload's last request need not wait for. The file is first moved to ``evidence-staging-trash``
    beside the staging folder (a rename: instant), so it leaves the staging folder at once; ``empty_trash``
    removes what a crash left there."""

    def __init__(self, settings: Settings) -> None:
        self._trash = staging_dir(settings).parent / "evidence-staging-trash"
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def remove(self, path: Path) -> None:
        self._trash.mkdir(exist_ok=True)
        target = self._trash / path.name
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return
        except OSError:
            remove_quietly(path)  # another file system (a moved data_dir?): delete it here and now
            return
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="evidence-staging-removal")
            self._executor.submit(remove_quietly, target)

    def empty_trash(self) -> None:
        if self._trash.is_dir():
            for leftover in self._trash.iterdir():
                remove_quietly(leftover)
