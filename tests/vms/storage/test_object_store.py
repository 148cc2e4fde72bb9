"""ObjectStore against a real SeaweedFS: buckets, multipart puts, reads, lists, links, object lock, errors."""

from __future__ import annotations

import hashlib
import socket
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from minio import Minio
from minio.error import S3Error
from pattern_stream import MIB, PatternStream

from vms.storage import (
    BucketNotFound,
    EmbeddedSeaweed,
    MultipartUploadLost,
    ObjectLocked,
    ObjectNotFound,
    ObjectStore,
    Retention,
    SentPart,
    StorageAccessDenied,
    StorageError,
    StorageUnavailable,
)
from vms.storage import parts as storage_parts

BIG = 50 * 1000 * 1000
PART = 5 * MIB


@pytest.fixture
def locked_bucket(object_store: ObjectStore, new_bucket_name: Callable[..., str]) -> str:
    name = new_bucket_name("lock")
    object_store.ensure_bucket(name, object_lock=True)
    return name


@pytest.fixture
def raw_minio(seaweed: EmbeddedSeaweed) -> Minio:
    """A plain minio client, to check what ObjectStore claims without going through it."""
    return Minio(seaweed.endpoint, seaweed.access_key, seaweed.secret_key, secure=False)


def read_sha256(store: ObjectStore, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    with store.open_read(bucket, key) as reader:
        for chunk in reader:
            digest.update(chunk)
    return digest.hexdigest()


# -- buckets -------------------------------------------------------------------------------------------


def test_ensure_bucket_creates_once(object_store: ObjectStore, new_bucket_name: Callable[..., str]) -> None:
    name = new_bucket_name()
    assert not object_store.bucket_exists(name)
    object_store.ensure_bucket(name)
    object_store.ensure_bucket(name)
    assert object_store.bucket_exists(name)
    assert name in object_store.list_buckets()


def test_object_lock_bucket_has_lock_and_versioning(locked_bucket: str, raw_minio: Minio) -> None:
    assert raw_minio.get_bucket_versioning(locked_bucket).status == "Enabled"
    raw_minio.get_object_lock_config(locked_bucket)  # raises if the bucket has no object lock


def test_object_lock_cannot_be_asked_of_a_plain_bucket(object_store: ObjectStore, bucket: str) -> None:
    with pytest.raises(StorageError, match="exists without object lock"):
        object_store.ensure_bucket(bucket, object_lock=True)


def test_invalid_bucket_name_is_a_clear_error(object_store: ObjectStore) -> None:
    with pytest.raises(StorageError, match="cannot create bucket 'Not_Valid'"):
        object_store.ensure_bucket("Not_Valid")


# -- writes and reads ----------------------------------------------------------------------------------


def test_put_file_multipart(object_store: ObjectStore, bucket: str, tmp_path: Path) -> None:
    source = PatternStream(BIG, seed=1)
    path = tmp_path / "segment.mp4"
    with path.open("wb") as file:
        while chunk := source.read(MIB):
            file.write(chunk)

    info = object_store.put_file(
        bucket, "cam1/seg.mp4", path, content_type="video/mp4", metadata={"camera": "cam1"}, part_size=PART
    )

    assert (info.bucket, info.key, info.size, info.content_type) == (bucket, "cam1/seg.mp4", BIG, "video/mp4")
    assert info.etag is not None and info.etag.endswith("-10")  # 10 parts of 5 MiB
    stat = object_store.stat(bucket, "cam1/seg.mp4")
    assert (stat.size, stat.etag, stat.content_type) == (BIG, info.etag, "video/mp4")
    assert stat.metadata == {"camera": "cam1"}
    assert read_sha256(object_store, bucket, "cam1/seg.mp4") == source.sha256


def test_put_stream_of_unknown_length_keeps_memory_bounded(seaweed: EmbeddedSeaweed, bucket: str) -> None:
    store = seaweed.object_store(parallel_uploads=1)
    source = PatternStream(BIG, seed=2)

    tracemalloc.start()
    try:
        info = store.put_stream(bucket, "stream.bin", source, part_size=PART)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert info.size == BIG
    assert peak < (1 + 3) * PART + MIB  # a few parts in flight, never the whole object
    assert peak < BIG / 2
    assert read_sha256(store, bucket, "stream.bin") == source.sha256


def test_small_put_and_get(object_store: ObjectStore, bucket: str) -> None:
    info = object_store.put_bytes(bucket, "note.txt", b"hello yard", content_type="text/plain")
    assert info.size == 10
    assert info.last_modified is not None and info.last_modified.tzinfo is not None
    assert object_store.get_bytes(bucket, "note.txt") == b"hello yard"
    assert object_store.exists(bucket, "note.txt")
    assert not object_store.exists(bucket, "other.txt")


def test_ranged_get(object_store: ObjectStore, bucket: str) -> None:
    data = bytes(range(256)) * 100
    object_store.put_bytes(bucket, "r.bin", data)

    assert object_store.get_range(bucket, "r.bin", 0, 10) == data[:10]
    assert object_store.get_range(bucket, "r.bin", 1000, 5000) == data[1000:6000]
    assert object_store.get_range(bucket, "r.bin", len(data) - 3, 100) == data[-3:]  # clipped at the end
    with object_store.open_read(bucket, "r.bin", offset=25000) as reader:
        assert reader.read() == data[25000:]
    with pytest.raises(StorageError, match="beyond the end of the object"):
        object_store.get_range(bucket, "r.bin", len(data) + 10, 5)


def test_streaming_read_in_chunks(object_store: ObjectStore, bucket: str) -> None:
    source = PatternStream(3 * MIB + 17, seed=3)
    object_store.put_stream(bucket, "chunks.bin", source)
    with object_store.open_read(bucket, "chunks.bin") as reader:
        chunks = list(reader)
    assert len(chunks) > 1
    assert hashlib.sha256(b"".join(chunks)).hexdigest() == source.sha256


def test_metadata_round_trip_including_non_ascii(object_store: ObjectStore, bucket: str) -> None:
    metadata = {"Camera-Id": "gate-3", "site": "闸口 东区", "operator": "Müller"}
    object_store.put_bytes(bucket, "m.bin", b"x", metadata=metadata)
    assert object_store.stat(bucket, "m.bin").metadata == {
        "camera-id": "gate-3",
        "site": "闸口 东区",
        "operator": "Müller",
    }


def test_bad_metadata_key_is_a_clear_error(object_store: ObjectStore, bucket: str) -> None:
    with pytest.raises(StorageError, match="metadata key 'bad key' is not allowed"):
        object_store.put_bytes(bucket, "m.bin", b"x", metadata={"bad key": "v"})


def test_list_by_prefix(object_store: ObjectStore, bucket: str) -> None:
    for key in ("cam1/2024/a.mp4", "cam1/2024/b.mp4", "cam1/2025/c.mp4", "cam2/a.mp4"):
        object_store.put_bytes(bucket, key, key.encode())

    assert [o.key for o in object_store.list(bucket, "cam1/")] == [
        "cam1/2024/a.mp4",
        "cam1/2024/b.mp4",
        "cam1/2025/c.mp4",
    ]
    assert [o.key for o in object_store.list(bucket, "cam1/2024/")] == ["cam1/2024/a.mp4", "cam1/2024/b.mp4"]
    assert [o.key for o in object_store.list(bucket, "cam1/", recursive=False)] == []  # only "directories"
    assert [o.key for o in object_store.list(bucket, "", recursive=False)] == []
    sizes = {o.key: o.size for o in object_store.list(bucket)}
    assert sizes["cam2/a.mp4"] == len(b"cam2/a.mp4")
    assert list(object_store.list(bucket, "nothing/")) == []


# -- presigned links -----------------------------------------------------------------------------------


def test_presigned_get_works_and_rejects_tampering(object_store: ObjectStore, bucket: str) -> None:
    object_store.put_bytes(bucket, "clip.mp4", b"clip-bytes", content_type="video/mp4")
    url = object_store.presigned_get(bucket, "clip.mp4", timedelta(minutes=5))

    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"clip-bytes"

    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    tampered = url.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
    assert httpx.get(tampered).status_code == 403
    other_key = url.replace("/clip.mp4?", "/other.mp4?")
    assert httpx.get(other_key).status_code == 403


def test_presigned_get_rejects_silly_expiry(object_store: ObjectStore, bucket: str) -> None:
    with pytest.raises(ValueError, match="between 1 second and 7 days"):
        object_store.presigned_get(bucket, "x", timedelta(days=30))


# -- object lock ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["GOVERNANCE", "COMPLIANCE"])
def test_retention_refuses_delete_of_the_version(
    object_store: ObjectStore, locked_bucket: str, raw_minio: Minio, mode: str
) -> None:
    info = object_store.put_bytes(locked_bucket, "ev/clip.mp4", b"evidence")
    assert info.version_id
    until = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    assert object_store.get_retention(locked_bucket, "ev/clip.mp4", info.version_id) is None

    object_store.set_retention(locked_bucket, "ev/clip.mp4", mode, until, version_id=info.version_id)  # type: ignore[arg-type]

    assert object_store.get_retention(locked_bucket, "ev/clip.mp4", info.version_id) == Retention(
        mode,  # type: ignore[arg-type]
        until,
    )
    with pytest.raises(ObjectLocked, match="protected by a legal hold or retention"):
        object_store.delete(locked_bucket, "ev/clip.mp4", version_id=info.version_id)
    with pytest.raises(S3Error):
        raw_minio.remove_object(locked_bucket, "ev/clip.mp4", version_id=info.version_id)
    assert object_store.get_bytes(locked_bucket, "ev/clip.mp4", version_id=info.version_id) == b"evidence"


def test_legal_hold_refuses_delete_until_released(
    object_store: ObjectStore, locked_bucket: str, raw_minio: Minio
) -> None:
    info = object_store.put_bytes(locked_bucket, "case-7/photo.jpg", b"jpeg")
    version = info.version_id
    assert version
    assert not object_store.legal_hold_is_on(locked_bucket, "case-7/photo.jpg", version)

    object_store.set_legal_hold(locked_bucket, "case-7/photo.jpg", True, version_id=version)
    assert object_store.legal_hold_is_on(locked_bucket, "case-7/photo.jpg", version)

    with pytest.raises(ObjectLocked):
        object_store.delete(locked_bucket, "case-7/photo.jpg", version_id=version)
    with pytest.raises(S3Error) as raw_refusal:
        raw_minio.remove_object(locked_bucket, "case-7/photo.jpg", version_id=version)
    assert raw_refusal.value.code == "AccessDenied"
    # Without a version id S3 only stacks a delete marker on top: the held version is still there.
    object_store.delete(locked_bucket, "case-7/photo.jpg")
    assert not object_store.exists(locked_bucket, "case-7/photo.jpg")
    assert object_store.get_bytes(locked_bucket, "case-7/photo.jpg", version_id=version) == b"jpeg"

    object_store.set_legal_hold(locked_bucket, "case-7/photo.jpg", False, version_id=version)
    assert not object_store.legal_hold_is_on(locked_bucket, "case-7/photo.jpg", version)
    object_store.delete(locked_bucket, "case-7/photo.jpg", version_id=version)
    assert not object_store.exists(locked_bucket, "case-7/photo.jpg", version_id=version)


def test_multipart_part_by_part_into_a_locked_bucket(object_store: ObjectStore, locked_bucket: str) -> None:
    """Parts sent one by one (no Content-MD5, no payload hash: a CRC32 the storage checks) are invisible
    until completed; the object is then a lockable version; parts can be replaced."""
    data = bytes(range(256)) * (11 * MIB // 256) + b"tail"
    key = "items/2026/11/27/streamed.mp4"
    upload_id = object_store.start_multipart(
        locked_bucket, key, content_type="video/mp4", metadata={"sha256": "abc", "uploaded-by": "li.na"}
    )
    etags = {n: object_store.upload_part(locked_bucket, key, upload_id, n, data[(n - 1) * PART : n * PART])
             for n in (1, 2)}  # fmt: skip
    etags[2] = object_store.upload_part(locked_bucket, key, upload_id, 2, data[PART : 2 * PART])  # again
    etags[3] = object_store.upload_part(locked_bucket, key, upload_id, 3, data[2 * PART :])
    assert not object_store.exists(locked_bucket, key)
    assert list(object_store.list(locked_bucket, include_versions=True)) == []
    pending = object_store.list_multipart_uploads(locked_bucket, prefix="items/")
    assert [(u.key, u.upload_id) for u in pending] == [(key, upload_id)] and pending[0].initiated
    with pytest.raises(MultipartUploadLost):  # a part S3 does not have
        object_store.complete_multipart(
            locked_bucket, key, upload_id, [(1, etags[1]), (2, SentPart("0" * 32, etags[2].crc32))]
        )
    info = object_store.complete_multipart(locked_bucket, key, upload_id, sorted(etags.items()))
    assert (info.size, info.content_type, info.metadata["sha256"]) == (len(data), "video/mp4", "abc")
    assert info.version_id and object_store.get_bytes(locked_bucket, key, info.version_id) == data
    object_store.set_retention(
        locked_bucket, key, "COMPLIANCE", datetime.now(UTC) + timedelta(days=1), info.version_id
    )
    with pytest.raises(ObjectLocked):
        object_store.delete(locked_bucket, key, version_id=info.version_id)
    assert object_store.list_multipart_uploads(locked_bucket) == []


def test_the_storage_checks_each_parts_crc32(
    object_store: ObjectStore, locked_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part whose bytes do not match its CRC32 (changed on the way) is refused, and so is a completion
    that names a different CRC32 than the part the storage holds: nothing is stored."""
    key = "items/2026/11/27/damaged.mp4"
    upload_id = object_store.start_multipart(locked_bucket, key, content_type="video/mp4")
    first = object_store.upload_part(locked_bucket, key, upload_id, 1, b"a" * PART)
    assert first.crc32 == storage_parts.part_checksum(b"a" * PART)
    with monkeypatch.context() as patch:  # the checksum of other bytes: as if the part changed on the way
        patch.setattr("vms.storage.objects.part_checksum", lambda data: storage_parts.part_checksum(b"other"))
        with pytest.raises(StorageError, match="BadDigest"):
            object_store.upload_part(locked_bucket, key, upload_id, 2, b"b" * 1000)
    second = object_store.upload_part(locked_bucket, key, upload_id, 2, b"b" * 1000)
    with pytest.raises(MultipartUploadLost, match="checksum"):
        object_store.complete_multipart(
            locked_bucket, key, upload_id, [(1, first), (2, SentPart(second.etag, first.crc32))]
        )
    assert list(object_store.list(locked_bucket, include_versions=True)) == []
    info = object_store.complete_multipart(locked_bucket, key, upload_id, [(1, first), (2, second)])
    assert object_store.get_bytes(locked_bucket, key, info.version_id) == b"a" * PART + b"b" * 1000


def test_aborted_multipart_leaves_nothing(object_store: ObjectStore, locked_bucket: str) -> None:
    key = "items/aborted.mp4"
    upload_id = object_store.start_multipart(locked_bucket, key)
    object_store.upload_part(locked_bucket, key, upload_id, 1, b"x" * PART)
    object_store.abort_multipart(locked_bucket, key, upload_id)
    object_store.abort_multipart(locked_bucket, key, upload_id)  # already gone: not an error
    assert object_store.list_multipart_uploads(locked_bucket) == []
    assert list(object_store.list(locked_bucket, include_versions=True)) == []
    with pytest.raises(MultipartUploadLost):
        object_store.upload_part(locked_bucket, key, upload_id, 2, b"y" * PART)
    with pytest.raises(MultipartUploadLost):
        object_store.complete_multipart(locked_bucket, key, upload_id, [(1, SentPart("0" * 32, "AAAAAA=="))])


def test_delete_many_reports_what_was_refused(object_store: ObjectStore, locked_bucket: str) -> None:
    held = object_store.put_bytes(locked_bucket, "a", b"1")
    free = object_store.put_bytes(locked_bucket, "b", b"2")
    object_store.set_legal_hold(locked_bucket, "a", True, version_id=held.version_id)

    failures = object_store.delete_many(locked_bucket, [("a", held.version_id), ("b", free.version_id)])

    assert [(f.key, f.version_id) for f in failures] == [("a", held.version_id)]
    assert object_store.exists(locked_bucket, "a", version_id=held.version_id)
    assert not object_store.exists(locked_bucket, "b", version_id=free.version_id)


def test_delete_many_plain_keys(object_store: ObjectStore, bucket: str) -> None:
    for key in ("old/1", "old/2", "keep"):
        object_store.put_bytes(bucket, key, b"x")
    assert object_store.delete_many(bucket, ["old/1", "old/2"]) == []
    assert object_store.delete_many(bucket, []) == []
    assert [o.key for o in object_store.list(bucket)] == ["keep"]


def test_listing_versions_shows_delete_markers(object_store: ObjectStore, locked_bucket: str) -> None:
    first = object_store.put_bytes(locked_bucket, "v", b"1")
    second = object_store.put_bytes(locked_bucket, "v", b"22")
    object_store.delete(locked_bucket, "v")

    versions = list(object_store.list(locked_bucket, "v", include_versions=True))

    assert {o.version_id for o in versions if not o.is_delete_marker} == {first.version_id, second.version_id}
    assert sum(o.is_delete_marker for o in versions) == 1
    assert list(object_store.list(locked_bucket, "v")) == []


# -- errors --------------------------------------------------------------------------------------------


def test_missing_object_is_object_not_found(object_store: ObjectStore, bucket: str) -> None:
    with pytest.raises(ObjectNotFound, match=f"cannot stat s3://{bucket}/no/such.mp4: no such object"):
        object_store.stat(bucket, "no/such.mp4")
    with pytest.raises(ObjectNotFound, match=f"cannot read s3://{bucket}/no/such.mp4"):
        object_store.open_read(bucket, "no/such.mp4")
    with pytest.raises(ObjectNotFound):
        object_store.get_range(bucket, "no/such.mp4", 0, 10)


def test_missing_bucket_is_bucket_not_found(
    object_store: ObjectStore, new_bucket_name: Callable[..., str]
) -> None:
    name = new_bucket_name("gone")
    with pytest.raises(BucketNotFound, match=f"bucket '{name}' does not exist"):
        object_store.get_bytes(name, "x")
    with pytest.raises(BucketNotFound):
        list(object_store.list(name))


def test_wrong_credentials_are_access_denied(seaweed: EmbeddedSeaweed, bucket: str) -> None:
    store = ObjectStore(seaweed.endpoint, seaweed.access_key, "not-the-secret")
    with pytest.raises(StorageAccessDenied, match="check the storage credentials"):
        store.stat(bucket, "x")
    assert not store.ping()


@pytest.fixture
def dead_endpoint() -> Iterator[str]:
    """host:port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"127.0.0.1:{port}"


@pytest.mark.timeout(20)
def test_storage_down_is_unavailable_quickly(dead_endpoint: str, tmp_path: Path) -> None:
    store = ObjectStore(dead_endpoint, "k", "s")
    (tmp_path / "f").write_bytes(b"data")
    with pytest.raises(StorageUnavailable, match=f"storage at {dead_endpoint} is not reachable"):
        store.put_file("footage", "k", tmp_path / "f")
    with pytest.raises(StorageUnavailable, match="connection refused"):
        store.stat("footage", "k")
    assert not store.ping()


@pytest.mark.timeout(20)
def test_storage_that_never_answers_is_unavailable() -> None:
    with socket.socket() as silent:  # accepts connections (kernel backlog) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"127.0.0.1:{silent.getsockname()[1]}"
        store = ObjectStore(endpoint, "k", "s", read_timeout=0.5)
        with pytest.raises(StorageUnavailable, match="no answer in time"):
            store.stat("footage", "k")
        assert not store.ping()


def test_ping_when_up(object_store: ObjectStore, bucket: str, new_bucket_name: Callable[..., str]) -> None:
    assert object_store.ping()
    assert object_store.ping(bucket)
    object_store.check(bucket)
    missing = new_bucket_name()
    assert not object_store.ping(missing)
    with pytest.raises(BucketNotFound, match=f"bucket '{missing}' does not exist"):
        object_store.check(missing)


def test_endpoint_with_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="host:port"):
        ObjectStore("http://127.0.0.1:9000", "k", "s")
