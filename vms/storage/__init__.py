"""Object storage for the VMS: an S3 client (ObjectStore) and an embedded SeaweedFS server."""

from vms.storage.errors import (
    BucketNotFound,
    ObjectLocked,
    ObjectNotFound,
    StorageAccessDenied,
    StorageError,
    StorageUnavailable,
)
from vms.storage.objects import (
    DeleteFailure,
    ObjectInfo,
    ObjectReader,
    ObjectStore,
    ReadableStream,
    Retention,
    RetentionMode,
)
from vms.storage.seaweed import EmbeddedSeaweed, SeaweedError, SeaweedPorts, find_weed_binary

__all__ = [
    "BucketNotFound",
    "DeleteFailure",
    "EmbeddedSeaweed",
    "ObjectInfo",
    "ObjectLocked",
    "ObjectNotFound",
    "ObjectReader",
    "ObjectStore",
    "ReadableStream",
    "Retention",
    "RetentionMode",
    "SeaweedError",
    "SeaweedPorts",
    "StorageAccessDenied",
    "StorageError",
    "StorageUnavailable",
    "find_weed_binary",
]
