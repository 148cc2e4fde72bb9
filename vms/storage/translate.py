"""Turn minio / urllib3 exceptions into the storage error hierarchy, with messages a person can act on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from minio.error import InvalidResponseError, S3Error, ServerError
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)

from vms.storage.errors import (
    BucketNotFound,
    MultipartUploadLost,
    ObjectLocked,
    ObjectNotFound,
    StorageAccessDenied,
    StorageError,
    StorageUnavailable,
)

_NOT_FOUND_CODES = {"NoSuchKey", "NoSuchVersion", "NoSuchObject", "ResourceNotFound"}
_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
_LOCKED_CODES = {"ObjectLocked", "ObjectLockedError", "InvalidObjectState"}
_MULTIPART_LOST_CODES = {"NoSuchUpload", "InvalidPart"}
_UNAVAILABLE_STATUSES = {502, 503, 504}
_UNAVAILABLE_CODES = {"SlowDown", "ServiceUnavailable", "RequestTimeout", "InternalError"}


@contextmanager
def translated_errors(action: str, endpoint: str, *, denied_means_locked: bool = False) -> Iterator[None]:
    """Run the block, re-raising client errors as StorageError subclasses.

    ``action`` completes "cannot ...", e.g. "read s3://bucket/key". ``denied_means_locked``: an AccessDenied
    answer to a delete means object lock refused it, not bad credentials.
    """
    try:
        yield
    except StorageError:
        raise
    except S3Error as exc:
        raise _from_s3_error(exc, action, endpoint, denied_means_locked) from exc
    except ServerError as exc:
        cls = StorageUnavailable if exc.status_code in _UNAVAILABLE_STATUSES else StorageError
        raise cls(f"cannot {action}: object storage at {endpoint} answered HTTP {exc.status_code}") from exc
    except InvalidResponseError as exc:
        raise StorageError(
            f"cannot {action}: unexpected answer from object storage at {endpoint}: {exc}"
        ) from exc
    except (HTTPError, ConnectionError, TimeoutError) as exc:
        raise StorageUnavailable(
            f"cannot {action}: object storage at {endpoint} is not reachable ({_network_reason(exc)})"
        ) from exc
    except ValueError as exc:
        raise StorageError(f"cannot {action}: {exc}") from exc


def _from_s3_error(exc: S3Error, action: str, endpoint: str, denied_means_locked: bool) -> StorageError:
    code = exc.code or ""
    detail = f"{code}: {exc.message}" if exc.message else code
    if code == "NoSuchBucket":
        return BucketNotFound(f"cannot {action}: bucket '{exc.bucket_name}' does not exist")
    if code in _NOT_FOUND_CODES:
        return ObjectNotFound(f"cannot {action}: no such object")
    if code in _MULTIPART_LOST_CODES:
        return MultipartUploadLost(
            f"cannot {action}: the multipart upload or one of its parts is not there (any more) ({detail})"
        )
    if code in _LOCKED_CODES or (denied_means_locked and code == "AccessDenied"):
        return ObjectLocked(
            f"cannot {action}: the object is protected by a legal hold or retention ({detail})"
        )
    if code in _CREDENTIAL_CODES:
        return StorageAccessDenied(
            f"cannot {action}: object storage at {endpoint} rejected the access key or secret key "
            f"({code}); check the storage credentials in the configuration"
        )
    if code == "AccessDenied":
        return StorageAccessDenied(
            f"cannot {action}: access denied by object storage at {endpoint} ({detail})"
        )
    if code == "InvalidRange":
        return StorageError(f"cannot {action}: the requested range starts beyond the end of the object")
    if code in _UNAVAILABLE_CODES or exc.response.status in _UNAVAILABLE_STATUSES:
        return StorageUnavailable(f"cannot {action}: object storage at {endpoint} is not ready ({detail})")
    return StorageError(f"cannot {action}: object storage refused the request ({detail})")


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, NewConnectionError):
        return "connection refused" if "refused" in str(exc).lower() else "cannot connect"
    if isinstance(exc, ConnectTimeoutError):
        return "connect timed out"
    if isinstance(exc, ReadTimeoutError):
        return "no answer in time"
    if isinstance(exc, ResponseError):
        return "it kept answering with server errors"
    if isinstance(exc, ProtocolError):
        return "connection broken"
    return type(exc).__name__
