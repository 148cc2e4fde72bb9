"""A ZIP writer that streams members in chunks, hashing each as it goes (never a whole member in memory)."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

ZIP64_ABOVE = 1024**3
"""Members larger than this (or of unknown size) get ZIP64 headers."""


@dataclass(frozen=True, slots=True)
class WrittenMember:
    path: str
    sha256: str
    size: int


class MemberSizeError(Exception):
    """A member's source delivered a different number of bytes than announced."""


class HashingZipWriter:
    """Writes a package ZIP to a seekable binary file; ``on_bytes(n)`` is told of every chunk written."""

    def __init__(
        self, target: BinaryIO, timestamp: datetime, on_bytes: Callable[[int], None] | None = None
    ) -> None:
        self._zip = zipfile.ZipFile(target, "w", allowZip64=True)
        self._date_time = (
            max(timestamp.year, 1980),
            timestamp.month,
            timestamp.day,
            timestamp.hour,
            timestamp.minute,
            timestamp.second,
        )
        self._on_bytes = on_bytes
        self.written: list[WrittenMember] = []

    def add_chunks(
        self, path: str, chunks: Iterable[bytes], *, size: int | None = None, compress: bool = False
    ) -> WrittenMember:
        """Write one member from ``chunks``; ``size`` (when known) is checked and picks ZIP64 headers."""
        info = zipfile.ZipInfo(path, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        if size is not None:
            info.file_size = size
        digest = hashlib.sha256()
        written = 0
        zip64 = size is None or size > ZIP64_ABOVE
        with self._zip.open(info, "w", force_zip64=zip64) as member:
            for chunk in chunks:
                written += len(chunk)
                if size is not None and written > size:
                    raise MemberSizeError(f"{path}: more than the expected {size} bytes")
                digest.update(chunk)
                member.write(chunk)
                if self._on_bytes is not None:
                    self._on_bytes(len(chunk))
        if size is not None and written != size:
            raise MemberSizeError(f"{path}: {written} bytes instead of the expected {size}")
        entry = WrittenMember(path, digest.hexdigest(), written)
        self.written.append(entry)
        return entry

    def add_bytes(self, path: str, data: bytes, *, compress: bool = True) -> WrittenMember:
        return self.add_chunks(path, [data], size=len(data), compress=compress)

    def close(self) -> None:
        self._zip.close()
