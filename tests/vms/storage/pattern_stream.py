"""Test data streams: large, deterministic, never held in memory whole."""

from __future__ import annotations

import hashlib
import random

MIB = 1024 * 1024


class PatternStream:
    """``total`` pseudo-random bytes (a different 1 MiB block each MiB), generated as read; no length known.

    ``sha256`` is the digest of what was read so far.
    """

    def __init__(self, total: int, seed: int = 0) -> None:
        self._total = total
        self._seed = seed
        self._position = 0
        self._block_index = 0
        self._pending = b""
        self._digest = hashlib.sha256()

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def read(self, size: int = -1, /) -> bytes:
        wanted = self._total - self._position if size < 0 else min(size, self._total - self._position)
        pieces = []
        while wanted > 0:
            if not self._pending:
                rng = random.Random(self._seed * 1_000_003 + self._block_index)
                self._pending = rng.randbytes(min(MIB, self._total - self._position))
                self._block_index += 1
            piece, self._pending = self._pending[:wanted], self._pending[wanted:]
            pieces.append(piece)
            wanted -= len(piece)
            self._position += len(piece)
        data = b"".join(pieces)
        self._digest.update(data)
        return data
