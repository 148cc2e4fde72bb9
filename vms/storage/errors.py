"""Errors raised by the object storage layer; every message is meant for a person to read."""

from __future__ import annotations


class StorageError(Exception):
    """Base of all object storage errors."""


class ObjectNotFound(StorageError):
    """The object (or object version) does not exist."""


class BucketNotFound(ObjectNotFound):
    """The bucket does not exist (so no object in it does either)."""


class ObjectLocked(StorageError):
    """The storage refused to delete or overwrite an object version held by retention or a legal hold."""


class StorageAccessDenied(StorageError):
    """The storage rejected the credentials or the request is not allowed for them."""


class StorageUnavailable(StorageError):
    """The storage cannot be reached (connection refused, timeout, server overloaded); retry later."""


class MultipartUploadLost(StorageError):
    """The multipart upload, or a part it should hold, is not on the storage (aborted, completed, expired
    or lost): the parts must be sent again into a new multipart upload."""
