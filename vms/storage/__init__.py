"""Object storage for the VMS: an S3 client (ObjectStore) and an embedded SeaweedFS server."""

from vms.storage.errors import (
    BucketNotFound,
    MultipartUploadLost,
    ObjectLocked,
    ObjectNotFound,
    StorageAccessDenied,
    StorageError,
    StorageUnavailable,
)
from vms.storage.objects import (
    DeleteFailure,
    MultipartUpload,
    ObjectInfo,
    ObjectReader,
    ObjectStore,
    ReadableStream,
    Retention,
    RetentionMode,
)
from vms.storage.parts import SentPart
from vms.storage.seaweed import EmbeddedSeaweed, SeaweedError, SeaweedPorts, find_weed_binary

__all__ = [
    "BucketNotFound",
    "DeleteFailure",
    "EmbeddedSeaweed",
    "MultipartUpload",
    "MultipartUploadLost",
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
    "SentPart",
    "StorageAccessDenied",
    "StorageError",
    "StorageUnavailable",
    "find_weed_binary",
]
