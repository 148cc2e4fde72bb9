"""A read-only, seekable file over one object in object storage, read with ranged GETs in blocks.

PyAV demuxes from it as from a local file: MP4 boxes are found by seeking (a body-cam file's ``moov`` at
its end costs one ranged read, not a download). Blocks already read are kept (up to ``cache_bytes``,
least recently used dropped first); :meth:`prefetch` reads blocks ahead in the calling thread, so the next
segment of a replay can be fetched by a helper thread while the current one plays.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from vms.storage import ObjectStore

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

DEFAULT_BLOCK_BYTES = 1024 * 1024
DEFAULT_CACHE_BYTES = 48 * 1024 * 1024


class RangedObjectFile(io.RawIOBase):
    """``read``/``seek``/``tell`` over ``bucket/key`` (``size`` bytes). Thread-safe."""

    def __init__(
        self,
        store: ObjectStore,
        bucket: str,
        key: str,
        size: int,
        *,
        version_id: str | None = None,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        super().__init__()
        self.store = store
        self.bucket = bucket
        self.key = key
        self.size = size
        self.version_id = version_id
        self._block = block_bytes
        self._max_blocks = max(2, cache_bytes // block_bytes)
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._fetching: dict[int, threading.Event] = {}
        self._pos = 0
        self.ranged_reads = 0
        """How many GETs were made (for tests and logs)."""

    # ---- io.RawIOBase ----------------------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self.size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), max(0, self.size - self._pos))
        done = 0
        while done < wanted:
            index, within = divmod(self._pos + done, self._block)
            block = self._get_block(index)
            chunk = block[within : within + (wanted - done)]
            if not chunk:
                break
            view[done : done + len(chunk)] = chunk
            done += len(chunk)
        self._pos += done
        return done

    # ---- blocks ----------------------------------------------------------------------------------------

    def prefetch(self, offset: int = 0, length: int | None = None) -> None:
        """Read the blocks of ``[offset, offset+length)`` (default: to the end) into the cache, now."""
        end = self.size if length is None else min(self.size, offset + length)
        first, last = offset // self._block, max(offset, end - 1) // self._block
        for index in range(first, min(last + 1, first + self._max_blocks)):
            if self.closed:
                return
            self._get_block(index)

    def _get_block(self, index: int) -> bytes:
        while True:
            with self._lock:
                block = self._blocks.get(index)
                if block is not None:
                    self._blocks.move_to_end(index)
                    return block
                pending = self._fetching.get(index)
                if pending is None:
                    pending = self._fetching[index] = threading.Event()
                    break
            pending.wait()  # another thread is reading this block
        try:
            offset = index * self._block
            length = min(self._block, self.size - offset)
            data = (
                self.store.get_range(self.bucket, self.key, offset, length, version_id=self.version_id)
                if length > 0
                else b""
            )
            self.ranged_reads += 1
            with self._lock:
                self._blocks[index] = data
                while len(self._blocks) > self._max_blocks:
                    self._blocks.popitem(last=False)
            return data
        finally:
            with self._lock:
                self._fetching.pop(index, None)
            pending.set()
