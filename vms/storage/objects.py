"""ObjectStore: a synchronous S3 client for the VMS (buckets, streaming puts/reads, object lock).

Every method blocks; call it from a worker thread (``asyncio.to_thread``) in async code. One ObjectStore may
be shared by many threads. All failures are raised as :mod:`vms.storage.errors` exceptions.
"""

from __future__ import annotations

import builtins
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Literal, Protocol, cast

import urllib3
from minio import Minio
from minio.commonconfig import ENABLED
from minio.datatypes import CompleteMultipartUploadResult, Object
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.helpers import ObjectWriteResult, md5sum_hash
from minio.retention import Retention as MinioRetention
from minio.versioningconfig import VersioningConfig
from urllib3.util import Retry, Timeout

from vms.storage.errors import BucketNotFound, MultipartUploadLost, ObjectNotFound, StorageError
from vms.storage.metadata import decode_metadata, encode_metadata
from vms.storage.parts import (
    CHECKSUM_ALGORITHM,
    CHECKSUM_HEADER,
    ChecksummedMinio,
    SentPart,
    complete_request,
    part_checksum,
)
from vms.storage.translate import translated_errors

RetentionMode = Literal["GOVERNANCE", "COMPLIANCE"]

MIN_PART_SIZE = 5 * 1024 * 1024
DEFAULT_PART_SIZE = 8 * 1024 * 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_READ_CHUNK = 256 * 1024
# Answers meaning "this object version has no retention / legal hold set".
_NO_LOCK_CODES = {
    "NoSuchObjectLockConfiguration",
    "ObjectLockConfigurationNotFoundError",
    "NoSuchObjectLegalHold",
}


class ReadableStream(Protocol):
    """Anything with a ``read(size) -> bytes`` method (file, socket file, pipe)."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class ObjectInfo:
    """What the storage knows about one object (version)."""

    bucket: str
    key: str
    size: int
    etag: str | None
    version_id: str | None
    last_modified: datetime | None
    content_type: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    is_delete_marker: bool = False


@dataclass(frozen=True)
class MultipartUpload:
    """A multipart upload that was started and neither completed nor aborted yet."""

    key: str
    upload_id: str
    initiated: datetime | None


@dataclass(frozen=True)
class Retention:
    """Object lock retention of an object version."""

    mode: RetentionMode
    until: datetime


@dataclass(frozen=True)
class DeleteFailure:
    """One object that a bulk delete could not remove, and why (as the storage put it)."""

    key: str
    version_id: str | None
    code: str
    message: str


class ObjectReader:
    """A streaming object read: iterate for chunks or ``read()``; always ``close()`` (or use ``with``)."""

    def __init__(self, response: urllib3.BaseHTTPResponse, action: str, endpoint: str) -> None:
        self._response = response
        self._action = action
        self._endpoint = endpoint
        self._closed = False

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[bytes]:
        try:
            with translated_errors(self._action, self._endpoint):
                yield from self._response.stream(_READ_CHUNK)
        finally:
            self.close()

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left if negative); b"" at the end."""
        with translated_errors(self._action, self._endpoint):
            return self._response.read(None if size < 0 else size)

    def close(self) -> None:
        """Release the connection; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._response.close()
            self._response.release_conn()


class _CountingStream:
    """Wraps a stream to count the bytes the upload took from it."""

    def __init__(self, stream: ReadableStream) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return data


class ObjectStore:
    """One S3 endpoint (SeaweedFS, MinIO, AWS...) seen through the ``minio`` client."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        *,
        secure: bool = False,
        region: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 30.0,
        parallel_uploads: int = 2,
    ) -> None:
        if not endpoint or "/" in endpoint:
            raise ValueError(
                f"storage endpoint must be 'host:port' without a scheme or path, got {endpoint!r}"
            )
        self.endpoint = endpoint
        self._parallel_uploads = max(1, parallel_uploads)
        # minio's own default waits 5 minutes and retries 5 times: an outage would go unnoticed for ages.
        http = urllib3.PoolManager(
            timeout=Timeout(connect=connect_timeout, read=read_timeout),
            retries=Retry(
                total=3, connect=1, read=1, status=2, backoff_factor=0.2, status_forcelist=[502, 503, 504]
            ),
            maxsize=max(10, self._parallel_uploads * 2),
        )
        fast_http = urllib3.PoolManager(timeout=Timeout(connect=1.0, read=2.0), retries=False, maxsize=2)
        self._client = ChecksummedMinio(
            endpoint, access_key, secret_key, secure=secure, region=region, http_client=http
        )
        self._probe = Minio(
            endpoint, access_key, secret_key, secure=secure, region=region, http_client=fast_http
        )

    # -- health ---------------------------------------------------------------------------------------

    def check(self, bucket: str | None = None) -> None:
        """Raise the StorageError that keeps the storage from being used now (fast: about 2 s at most).

        With ``bucket``, also require that bucket to exist (and use only bucket-level permissions).
        """
        with translated_errors("reach object storage", self.endpoint):
            if bucket is None:
                self._probe.list_buckets()
            elif not self._probe.bucket_exists(bucket):
                raise BucketNotFound(f"bucket '{bucket}' does not exist on object storage at {self.endpoint}")

    def ping(self, bucket: str | None = None) -> bool:
        """True when the storage answers an authenticated request within about 2 s (see ``check``)."""
        try:
            self.check(bucket)
        except StorageError:
            return False
        return True

    # -- buckets --------------------------------------------------------------------------------------

    def list_buckets(self) -> builtins.list[str]:
        """Names of all buckets the credentials can see."""
        with translated_errors("list buckets", self.endpoint):
            return [bucket.name for bucket in self._client.list_buckets()]

    def bucket_exists(self, name: str) -> bool:
        """Whether bucket ``name`` exists."""
        with translated_errors(f"look up bucket '{name}'", self.endpoint):
            return self._client.bucket_exists(name)

    def ensure_bucket(self, name: str, *, object_lock: bool = False) -> None:
        """Create bucket ``name`` unless it exists; ``object_lock`` buckets also get versioning.

        An existing bucket asked for with ``object_lock`` must already have object lock enabled (S3 cannot
        add it later): otherwise StorageError.
        """
        with translated_errors(f"create bucket '{name}'", self.endpoint):
            if not self._client.bucket_exists(name):
                try:
                    self._client.make_bucket(name, object_lock=object_lock)
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
            if object_lock:
                self._require_object_lock(name)
                self._client.set_bucket_versioning(name, VersioningConfig(ENABLED))

    def _require_object_lock(self, name: str) -> None:
        try:
            self._client.get_object_lock_config(name)
        except S3Error as exc:
            if exc.code != "ObjectLockConfigurationNotFoundError":
                raise
            raise _lock_missing_error(name) from exc

    # -- writes ---------------------------------------------------------------------------------------

    def put_file(
        self,
        bucket: str,
        key: str,
        path: str | Path,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> ObjectInfo:
        """Upload a local file (multipart above ``part_size``, memory bounded by a few parts)."""
        path = Path(path)
        with path.open("rb") as stream:
            return self.put_stream(
                bucket,
                key,
                stream,
                length=path.stat().st_size,
                content_type=content_type,
                metadata=metadata,
                part_size=part_size,
            )

    def put_bytes(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Upload a small object held in memory."""
        return self.put_stream(
            bucket, key, io.BytesIO(data), length=len(data), content_type=content_type, metadata=metadata
        )

    def put_stream(
        self,
        bucket: str,
        key: str,
        stream: ReadableStream,
        length: int | None = None,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> ObjectInfo:
        """Upload everything ``stream`` yields (``length`` None: unknown, read until EOF).

        Memory stays around ``part_size * (parallel_uploads + 3)`` whatever the object size.
        """
        if part_size < MIN_PART_SIZE:
            raise ValueError(
                f"part_size must be at least {MIN_PART_SIZE} bytes (S3 minimum), got {part_size}"
            )
        counting = _CountingStream(stream)
        with translated_errors(f"write s3://{bucket}/{key}", self.endpoint):
            result = self._client.put_object(
                bucket,
                key,
                counting,  # type: ignore[arg-type]  # minio wants BinaryIO, only calls read()
                -1 if length is None else length,
                content_type=content_type or DEFAULT_CONTENT_TYPE,
                metadata=encode_metadata(metadata),  # type: ignore[arg-type]
                part_size=part_size,
                num_parallel_uploads=self._parallel_uploads,
            )
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=counting.count,
            etag=(result.etag or "").strip('"') or None,
            version_id=result.version_id,
            last_modified=_server_date(result),
            content_type=content_type or DEFAULT_CONTENT_TYPE,
            metadata={k.lower(): v for k, v in (metadata or {}).items()},
        )

    # -- multipart uploads, part by part ---------------------------------------------------------------
    # For a caller that produces the parts itself (e.g. while the bytes are still arriving). Nothing is
    # visible under ``key`` until ``complete_multipart``; ``abort_multipart`` drops the parts. Each part
    # carries a CRC32 the storage verifies (:mod:`vms.storage.parts`). minio 7.2 has these S3 calls only as
    # private methods of ``Minio`` (pinned version; tests run them against S3).

    def start_multipart(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """CreateMultipartUpload (its parts checksummed with CRC32); returns the upload id."""
        headers: dict[str, str | list[str] | tuple[str]] = {
            **encode_metadata(metadata),
            "Content-Type": content_type or DEFAULT_CONTENT_TYPE,
            "x-amz-checksum-algorithm": CHECKSUM_ALGORITHM,
        }
        with translated_errors(f"start a multipart upload to s3://{bucket}/{key}", self.endpoint):
            return self._client._create_multipart_upload(bucket, key, headers)

    def upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, data: bytes | bytearray | memoryview
    ) -> SentPart:
        """UploadPart ``number`` (1..10000; every part but the last at least 5 MiB) with its CRC32, which
        the storage checks; returns its ETag and CRC32. Sending a number again replaces that part.
        MultipartUploadLost if the upload is gone.

        ``data`` may be any contiguous bytes-like object (a reused buffer): urllib3 sends it as it is,
        without a copy."""
        checksum = part_checksum(data)
        with translated_errors(f"send part {number} of s3://{bucket}/{key}", self.endpoint):
            response = self._client._execute(
                "PUT",
                bucket,
                key,
                body=cast(bytes, data),
                headers={CHECKSUM_HEADER: checksum},
                query_params={"partNumber": str(number), "uploadId": upload_id},
            )
        etag = (response.headers.get("etag") or "").strip('"')
        if not etag:
            raise StorageError(f"cannot send part {number} of s3://{bucket}/{key}: the storage gave no ETag")
        return SentPart(etag, checksum)

    def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[tuple[int, SentPart]]
    ) -> ObjectInfo:
        """CompleteMultipartUpload from the parts as sent: the object (a new version) appears now.
        Returns what ``stat`` says of that version; MultipartUploadLost if the upload or a part is gone,
        or a part's checksum is not what the storage holds."""
        body = complete_request(parts)
        action = f"complete the multipart upload of s3://{bucket}/{key}"
        with translated_errors(action, self.endpoint):
            try:
                response = self._client._execute(
                    "POST",
                    bucket,
                    key,
                    body=body,
                    headers={"Content-Type": "application/xml", "Content-MD5": cast(str, md5sum_hash(body))},
                    query_params={"uploadId": upload_id},
                )
            except S3Error as exc:
                if exc.code == "BadDigest":
                    raise MultipartUploadLost(
                        f"cannot {action}: a part's checksum does not match what the storage holds"
                    ) from exc
                raise
            result = CompleteMultipartUploadResult(response)
        version = result.version_id or result.http_headers.get("x-amz-version-id")
        return self.stat(bucket, key, version_id=version if version not in (None, "null") else None)

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        """AbortMultipartUpload: its parts are dropped; an upload already gone is not an error."""
        with translated_errors(f"abort the multipart upload of s3://{bucket}/{key}", self.endpoint):
            try:
                self._client._abort_multipart_upload(bucket, key, upload_id)
            except S3Error as exc:
                if exc.code != "NoSuchUpload":
                    raise

    def list_multipart_uploads(self, bucket: str, prefix: str = "") -> builtins.list[MultipartUpload]:
        """Multipart uploads started under ``prefix`` and not completed or aborted yet."""
        found: builtins.list[MultipartUpload] = []
        key_marker: str | None = None
        id_marker: str | None = None
        with translated_errors(f"list multipart uploads in bucket '{bucket}'", self.endpoint):
            while True:
                page = self._client._list_multipart_uploads(
                    bucket, prefix=prefix or None, key_marker=key_marker, upload_id_marker=id_marker
                )
                found += [
                    MultipartUpload(u.object_name, u.upload_id, u.initiated_time)
                    for u in page.uploads
                    if u.upload_id
                ]
                if not page.is_truncated or not page.uploads:
                    return found
                # minio 7.2 drops NextUploadIdMarker: continue after the last upload of the page.
                key_marker, id_marker = page.uploads[-1].object_name, page.uploads[-1].upload_id

    # -- reads ----------------------------------------------------------------------------------------

    def stat(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo:
        """Size, etag, dates, content type and user metadata of an object; ObjectNotFound if missing."""
        with translated_errors(f"stat {_target(bucket, key, version_id)}", self.endpoint):
            obj = self._client.stat_object(bucket, key, version_id=version_id)
        return _object_info(obj, metadata=decode_metadata(obj.metadata))

    def exists(self, bucket: str, key: str, version_id: str | None = None) -> bool:
        """Whether the object exists (a missing bucket counts as missing)."""
        try:
            self.stat(bucket, key, version_id)
        except ObjectNotFound:
            return False
        return True

    def get_range(
        self, bucket: str, key: str, offset: int, length: int, version_id: str | None = None
    ) -> bytes:
        """Bytes ``offset .. offset+length-1`` (fewer if the object ends first)."""
        if length < 1:
            raise ValueError(f"length must be at least 1, got {length}")
        with self.open_read(bucket, key, offset, length, version_id=version_id) as reader:
            return reader.read()

    def get_bytes(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        """The whole object in memory; for small objects only."""
        with self.open_read(bucket, key, version_id=version_id) as reader:
            return reader.read()

    def open_read(
        self,
        bucket: str,
        key: str,
        offset: int = 0,
        length: int | None = None,
        *,
        version_id: str | None = None,
    ) -> ObjectReader:
        """Start a streaming read (ObjectNotFound raised here, not later); close the reader when done."""
        if offset < 0:
            raise ValueError(f"offset must not be negative, got {offset}")
        if length is not None and length < 1:
            raise ValueError(f"length must be at least 1, got {length}")
        action = f"read {_target(bucket, key, version_id)}"
        with translated_errors(action, self.endpoint):
            response = self._client.get_object(
                bucket, key, offset=offset, length=length or 0, version_id=version_id
            )
        return ObjectReader(response, action, self.endpoint)

    def presigned_get(self, bucket: str, key: str, expires: timedelta, version_id: str | None = None) -> str:
        """A URL anyone can GET the object with until ``expires`` from now (1 s .. 7 days)."""
        if not timedelta(seconds=1) <= expires <= timedelta(days=7):
            raise ValueError(f"expires must be between 1 second and 7 days, got {expires}")
        with translated_errors(f"sign a link to {_target(bucket, key, version_id)}", self.endpoint):
            return self._client.presigned_get_object(bucket, key, expires=expires, version_id=version_id)

    # -- object lock ----------------------------------------------------------------------------------

    def set_retention(
        self, bucket: str, key: str, mode: RetentionMode, until: datetime, version_id: str | None = None
    ) -> None:
        """Lock the object version until ``until`` (timezone-aware). COMPLIANCE cannot be shortened."""
        if mode not in ("GOVERNANCE", "COMPLIANCE"):
            raise ValueError(f"retention mode must be GOVERNANCE or COMPLIANCE, got {mode!r}")
        if until.tzinfo is None:
            raise ValueError("retention 'until' must be a timezone-aware datetime")
        with translated_errors(f"set retention on {_target(bucket, key, version_id)}", self.endpoint):
            self._client.set_object_retention(
                bucket, key, MinioRetention(mode, until.astimezone(UTC)), version_id=version_id
            )

    def get_retention(self, bucket: str, key: str, version_id: str | None = None) -> Retention | None:
        """The retention of the object version, or None when it has none."""
        with translated_errors(f"read retention of {_target(bucket, key, version_id)}", self.endpoint):
            try:
                config = self._client.get_object_retention(bucket, key, version_id=version_id)
            except S3Error as exc:
                if exc.code in _NO_LOCK_CODES:
                    return None
                raise
        if config is None or config.mode is None or config.retain_until_date is None:
            return None
        mode: RetentionMode = "COMPLIANCE" if config.mode == "COMPLIANCE" else "GOVERNANCE"
        return Retention(mode, config.retain_until_date)

    def set_legal_hold(self, bucket: str, key: str, on: bool, version_id: str | None = None) -> None:
        """Put (``on``) or lift a legal hold on the object version."""
        verb = "set" if on else "release"
        with translated_errors(f"{verb} legal hold on {_target(bucket, key, version_id)}", self.endpoint):
            if on:
                self._client.enable_object_legal_hold(bucket, key, version_id=version_id)
            else:
                self._client.disable_object_legal_hold(bucket, key, version_id=version_id)

    def legal_hold_is_on(self, bucket: str, key: str, version_id: str | None = None) -> bool:
        """Whether a legal hold is on the object version."""
        with translated_errors(f"read legal hold of {_target(bucket, key, version_id)}", self.endpoint):
            try:
                return self._client.is_object_legal_hold_enabled(bucket, key, version_id=version_id)
            except S3Error as exc:
                if exc.code in _NO_LOCK_CODES:
                    return False
                raise

    # -- deletes --------------------------------------------------------------------------------------

    def delete(self, bucket: str, key: str, version_id: str | None = None) -> None:
        """Delete the object, or one version of it; ObjectLocked if object lock refuses.

        In a versioned bucket, deleting without ``version_id`` only adds a delete marker (the data stays).
        Deleting a key that does not exist succeeds (S3 semantics).
        """
        action = f"delete {_target(bucket, key, version_id)}"
        with translated_errors(action, self.endpoint, denied_means_locked=True):
            self._client.remove_object(bucket, key, version_id=version_id)

    def delete_many(
        self, bucket: str, keys: Iterable[str | tuple[str, str | None]]
    ) -> builtins.list[DeleteFailure]:
        """Delete many objects (keys, or (key, version_id) pairs); returns those the storage refused."""
        targets = [
            DeleteObject(item) if isinstance(item, str) else DeleteObject(item[0], item[1]) for item in keys
        ]
        if not targets:
            return []
        with translated_errors(f"delete {len(targets)} objects in bucket '{bucket}'", self.endpoint):
            return [
                DeleteFailure(
                    key=error.name or "",
                    version_id=error.version_id,
                    code=error.code,
                    message=error.message or error.code,
                )
                for error in self._client.remove_objects(bucket, targets)
            ]

    # -- listing (last: the method name shadows the builtin inside the class body) ------------------

    def list(
        self, bucket: str, prefix: str = "", recursive: bool = True, *, include_versions: bool = False
    ) -> Iterator[ObjectInfo]:
        """Objects under ``prefix`` in key order (lazily; metadata is not included).

        Non-recursive listings skip the "directories". With ``include_versions`` every version and delete
        marker is listed.
        """
        with translated_errors(f"list bucket '{bucket}'", self.endpoint):
            for obj in self._client.list_objects(
                bucket, prefix=prefix or None, recursive=recursive, include_version=include_versions
            ):
                if not obj.is_dir:
                    yield _object_info(obj, metadata={})


def _lock_missing_error(bucket: str) -> StorageError:
    return StorageError(
        f"bucket '{bucket}' exists without object lock, which S3 cannot add afterwards; "
        "use another bucket name or recreate the bucket with object lock"
    )


def _target(bucket: str, key: str, version_id: str | None) -> str:
    return f"s3://{bucket}/{key}" + (f" (version {version_id})" if version_id else "")


def _object_info(obj: Object, metadata: dict[str, str]) -> ObjectInfo:
    return ObjectInfo(
        bucket=obj.bucket_name or "",
        key=obj.object_name or "",
        size=obj.size or 0,
        etag=(obj.etag or "").strip('"') or None,
        version_id=obj.version_id if obj.version_id not in (None, "null") else None,
        last_modified=obj.last_modified,
        content_type=obj.content_type,
        metadata=metadata,
        is_delete_marker=bool(obj.is_delete_marker),
    )


def _server_date(result: ObjectWriteResult) -> datetime:
    value = result.last_modified
    if value is not None:
        return value
    header = result.http_headers.get("last-modified") or result.http_headers.get("date")
    if header:
        try:
            return parsedate_to_datetime(header)
        except (TypeError, ValueError):
            pass
    return datetime.now(UTC)
