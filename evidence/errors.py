"""Errors of the evidence part, each with the HTTP status the API answers and a message for a person."""

from __future__ import annotations


class EvidenceError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Refused(EvidenceError):
    """The file is not acceptable evidence (not a video/photo, truncated, empty, wrong checksum...)."""

    status = 422


class NotAllowed(EvidenceError):
    status = 403


class NotFound(EvidenceError):
    status = 404


class Conflict(EvidenceError):
    """The request does not fit the current state (offset mismatch, item held, retention running)."""

    status = 409


class TooLarge(EvidenceError):
    status = 413


class ChecksumMismatch(EvidenceError):
    """A PATCH chunk did not match its ``Upload-Checksum`` (tus checksum extension status 460)."""

    status = 460


class StorageDown(EvidenceError):
    status = 503
