"""Evidence errors as API answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from evidence.errors import ChecksumMismatch, EvidenceError
from vms.api.errors import ApiError


@contextmanager
def translated() -> Iterator[None]:
    """Turn an EvidenceError raised inside into the API's JSON error with its status."""
    try:
        yield
    except EvidenceError as exc:
        code = "checksum_mismatch" if isinstance(exc, ChecksumMismatch) else None
        raise ApiError(exc.status, exc.message, code=code) from None
