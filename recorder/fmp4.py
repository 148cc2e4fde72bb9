"""Just enough of the ISO base media file format to find where a crashed fragmented MP4 stops being whole."""

from __future__ import annotations

import struct
from pathlib import Path

_HEADER = struct.Struct(">I4s")


def complete_length(path: Path) -> int:
    """Bytes at the start of ``path`` that form a whole fragmented MP4.

    That is everything up to the end of the last complete ``moof`` + ``mdat`` pair after the ``moov``;
    0 when there is no complete fragment.
    """
    size = path.stat().st_size
    good = 0
    seen_moov = False
    pending_moof = False
    with path.open("rb") as f:
        offset = 0
        while offset + _HEADER.size <= size:
            f.seek(offset)
            box_size, box_type = _HEADER.unpack(f.read(_HEADER.size))
            if box_size == 1:
                large = f.read(8)
                if len(large) < 8:
                    break
                box_size = struct.unpack(">Q", large)[0]
            elif box_size == 0:  # "runs to end of file": never closed
                break
            if box_size < _HEADER.size or offset + box_size > size:
                break
            offset += box_size
            if box_type == b"moov":
                seen_moov = True
            elif box_type == b"moof":
                pending_moof = True
            elif box_type == b"mdat" and pending_moof and seen_moov:
                pending_moof = False
                good = offset
    return good
