"""User metadata <-> S3 headers: ASCII keys, values of any text (non-ASCII values travel RFC 2047 encoded)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from vms.storage.errors import StorageError

USER_META_PREFIX = "x-amz-meta-"
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_ENCODED_RE = re.compile(r"^=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=$", re.IGNORECASE)


def encode_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Validate user metadata and turn it into ``x-amz-meta-*`` headers."""
    headers: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not _KEY_RE.match(key):
            raise StorageError(
                f"metadata key {key!r} is not allowed: use ASCII letters, digits, '-' and '_' only"
            )
        headers[USER_META_PREFIX + key.lower()] = _encode_value(str(value))
    return headers


def decode_metadata(headers: Mapping[str, str] | None) -> dict[str, str]:
    """User metadata (keys lower-case, without the ``x-amz-meta-`` prefix) out of response headers."""
    metadata: dict[str, str] = {}
    for key, value in (headers or {}).items():
        lower = key.lower()
        if lower.startswith(USER_META_PREFIX):
            metadata[lower[len(USER_META_PREFIX) :]] = _decode_value(value)
    return metadata


def _encode_value(value: str) -> str:
    if value.isascii() and value.isprintable() and not _ENCODED_RE.match(value):
        return value
    return "=?UTF-8?B?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="


def _decode_value(value: str) -> str:
    match = _ENCODED_RE.match(value)
    if match is None:
        return value
    try:
        return base64.b64decode(match.group(1), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return value
