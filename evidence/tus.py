"""The tus 1.0 protocol's headers: versions, extensions, metadata and checksums."""

from __future__ import annotations

import base64
import binascii

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,checksum,expiration"
CHECKSUM_ALGORITHMS = "sha256,sha1,md5"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# Our additions on creation/PATCH answers: the item an upload became, and whether it was already there.
ITEM_HEADER = "Evidence-Item-Id"
DUPLICATE_HEADER = "Evidence-Duplicate"


class TusHeaderError(ValueError):
    """A tus header is malformed; the message names it."""


def parse_metadata(value: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (value optional), UTF-8 values."""
    out: dict[str, str] = {}
    for pair in (value or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, encoded = pair.partition(" ")
        try:
            out[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise TusHeaderError(f"Upload-Metadata value of '{key}' is not base64 of UTF-8 text") from None
    return out


def encode_metadata(values: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def parse_checksum(value: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``."""
    if not value:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    try:
        return algorithm.lower(), base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise TusHeaderError("Upload-Checksum must be '<algorithm> <base64 digest>'") from None


def parse_non_negative(name: str, value: str | None) -> int:
    if value is None or not value.strip().isdigit():
        raise TusHeaderError(f"{name} header is required: a whole number of bytes")
    return int(value)
