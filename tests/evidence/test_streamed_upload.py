"""Uploads larger than one S3 part go to S3 while they arrive (a multipart upload fed from the staging
file): nothing is visible before the file is verified and inspected, refusals and cancellations leave no
multipart upload behind, resuming (also after a restart) sends only the missing parts, duplicates abort."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from evidence.models import EvidenceItem, Upload
from evidence.multipart import PART_BYTES, SAVE_EVERY_S, PartBuffers, PartSender, part_size_for
from evidence.uploads import upload_service
from tests.evidence.conftest import TUS, EvidenceWorld, create_upload, patch, sha256_of
from tests.evidence.live_server import serving
from tests.evidence.media import make_big_clip
from vms.db import utcnow
from vms.storage import EmbeddedSeaweed, ObjectStore, SentPart
from vms.storage.objects import MIN_PART_SIZE

BATCH = "查验-001"
CHUNK = 4 * 1024 * 1024


@pytest.fixture(scope="session")
def big_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A valid MP4 of a little over 2.5 parts (3 parts: 8 + 8 + ~4 MiB)."""
    path = make_big_clip(tmp_path_factory.mktemp("big") / "VID_20261127_090000.mp4", 5 * PART_BYTES // 2)
    return path.read_bytes()


@pytest.fixture
def sent_parts(world: EvidenceWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Part numbers the server sends to S3, in order (the store's upload_part, watched)."""
    sent: list[int] = []
    upload_part = world.store.upload_part

    def watched(bucket: str, key: str, upload_id: str, number: int, data: bytes) -> SentPart:
        sent.append(number)
        return upload_part(bucket, key, upload_id, number, data)

    monkeypatch.setattr(world.store, "upload_part", watched)
    yield sent


def _row(world: EvidenceWorld, location: str) -> Upload | None:
    with world.core.db.sessions() as s:
        return s.get(Upload, location.rsplit("/", 1)[1])


def _wait_for_parts(world: EvidenceWorld, location: str, count: int) -> Upload:
    """The upload row once ``count`` parts are recorded (parts go up in the background)."""
    deadline = time.monotonic() + 30
    while True:
        row = _row(world, location)
        assert row is not None
        if len(row.s3_parts or {}) >= count:
            return row
        assert time.monotonic() < deadline, f"only {row.s3_parts} recorded"
        time.sleep(0.05)


def _versions(world: EvidenceWorld) -> list[str]:
    return [o.key for o in world.store.list(world.bucket, include_versions=True)]


def _pending(store: ObjectStore, bucket: str) -> list[str]:
    return [u.key for u in store.list_multipart_uploads(bucket)]


def _send(world: EvidenceWorld, location: str, data: bytes, start: int, end: int) -> None:
    me = world.as_("li.na")
    for offset in range(start, end, CHUNK):
        r = patch(world.client, me, location, offset, data[offset : min(offset + CHUNK, end)])
        assert r.status_code == 204, r.text


def _finish(world: EvidenceWorld, location: str, data: bytes, start: int) -> dict[str, str]:
    _send(world, location, data, start, len(data) - 1)
    r = patch(world.client, world.as_("li.na"), location, len(data) - 1, data[-1:])
    assert r.status_code == 204, r.text
    return dict(r.headers)


def test_parts_go_up_while_receiving_and_the_object_appears_only_at_the_end(
    world: EvidenceWorld, big_clip: bytes, sent_parts: list[int]
) -> None:
    data = big_clip
    status, location, _ = create_upload(
        world.client, world.as_("li.na"), data, BATCH, "VID_20261127_090000.mp4"
    )
    assert status == 201
    row = _row(world, location)
    assert row is not None and row.part_size == PART_BYTES and row.object_key
    assert row.object_key.startswith("items/") and row.object_key.endswith(".mp4")
    _send(world, location, data, 0, 2 * PART_BYTES + 1024)  # two whole parts and a bit
    row = _wait_for_parts(world, location, 2)
    assert sorted(row.s3_parts or {}) == ["1", "2"] and row.s3_upload_id
    # In S3 now: a multipart upload, and no object at all (not even a version of it).
    assert _pending(world.store, world.bucket) == [row.object_key]
    assert _versions(world) == []
    headers = _finish(world, location, data, 2 * PART_BYTES + 1024)
    assert headers["evidence-duplicate"] == "false"
    item = world.client.get(f"/api/evidence/{headers['evidence-item-id']}", headers=world.as_("li.na")).json()
    assert item["object_key"] == row.object_key and item["sha256"] == sha256_of(data)
    stored = world.store.get_bytes(world.bucket, item["object_key"], version_id=item["version_id"])
    assert hashlib.sha256(stored).hexdigest() == sha256_of(data)
    info = world.store.stat(world.bucket, item["object_key"], version_id=item["version_id"])
    assert info.metadata == {"sha256": sha256_of(data), "uploaded-by": "li.na"}
    retention = world.store.get_retention(world.bucket, item["object_key"], item["version_id"])
    assert retention is not None and retention.mode == "COMPLIANCE"
    assert item["has_poster"] and item["has_preview"]
    assert sorted(sent_parts) == [1, 2, 3]  # each part sent once
    assert _pending(world.store, world.bucket) == []
    finished = _row(world, location)
    assert finished is not None and finished.s3_upload_id is None and finished.item_id is not None


def test_refused_and_cancelled_uploads_leave_no_multipart_upload(
    world: EvidenceWorld, big_clip: bytes
) -> None:
    me = world.as_("li.na")
    # Bytes that do not hash to the SHA-256 the client announced.
    _, location, _ = create_upload(world.client, me, big_clip, BATCH, "a.mp4", sha="0" * 64)
    _send(world, location, big_clip, 0, 2 * PART_BYTES)
    _wait_for_parts(world, location, 2)
    assert len(_pending(world.store, world.bucket)) == 1
    r = patch(world.client, me, location, 2 * PART_BYTES, big_clip[2 * PART_BYTES :])
    assert r.status_code == 422 and "SHA-256" in r.json()["detail"]
    assert _pending(world.store, world.bucket) == []
    # Not a video at all (but big, and its SHA-256 is right).
    noise = os.urandom(len(big_clip))
    _, location, _ = create_upload(world.client, me, noise, BATCH, "noise.mp4")
    _send(world, location, noise, 0, PART_BYTES + 10)
    _wait_for_parts(world, location, 1)
    r = patch(world.client, me, location, PART_BYTES + 10, noise[PART_BYTES + 10 :])
    assert r.status_code == 422 and "not a video" in r.json()["detail"]
    # Cancelled by the client (tus DELETE) half way.
    _, location, _ = create_upload(world.client, me, big_clip, BATCH, "b.mp4")
    _send(world, location, big_clip, 0, PART_BYTES + 10)
    _wait_for_parts(world, location, 1)
    assert world.client.delete(location, headers={**me, **TUS}).status_code == 204
    # Abandoned: the expiry sweep removes it.
    _, location, _ = create_upload(world.client, me, big_clip, BATCH, "c.mp4")
    _send(world, location, big_clip, 0, PART_BYTES + 10)
    _wait_for_parts(world, location, 1)
    assert upload_service(world.core).sweep_expired(utcnow() + timedelta(days=2)) == 1
    assert _pending(world.store, world.bucket) == []
    assert _versions(world) == []
    with world.core.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Upload)) == 0
        assert s.scalar(select(func.count()).select_from(EvidenceItem)) == 0
    assert list((Path(world.core.settings.data_dir) / "evidence-staging").iterdir()) == []


def test_resume_after_a_restart_sends_only_the_missing_parts(
    world: EvidenceWorld, big_clip: bytes, sent_parts: list[int]
) -> None:
    data = big_clip
    _, location, _ = create_upload(world.client, world.as_("li.na"), data, BATCH, "VID_20261127_090000.mp4")
    _send(world, location, data, 0, PART_BYTES + 4096)
    before = _wait_for_parts(world, location, 1)
    # The server restarts: the running hash and the part sender are gone, the upload row and the staged
    # bytes stay. The client asks where to go on and sends the rest.
    world.core.providers.pop("evidence_uploads")
    head = world.client.head(location, headers={**world.as_("li.na"), **TUS})
    assert head.headers["upload-offset"] == str(PART_BYTES + 4096)
    headers = _finish(world, location, data, PART_BYTES + 4096)
    item = world.client.get(f"/api/evidence/{headers['evidence-item-id']}", headers=world.as_("li.na")).json()
    assert item["sha256"] == sha256_of(data) and item["size_bytes"] == len(data)
    stored = world.store.get_bytes(world.bucket, item["object_key"], version_id=item["version_id"])
    assert hashlib.sha256(stored).hexdigest() == sha256_of(data)
    assert sorted(sent_parts) == [1, 2, 3]  # part 1 was not sent again
    assert before.s3_upload_id and _pending(world.store, world.bucket) == []


def test_parts_recorded_without_checksums_go_up_again_after_an_upgrade(
    world: EvidenceWorld, big_clip: bytes, sent_parts: list[int]
) -> None:
    """An upload in progress across an upgrade: the older version recorded its parts as bare ETags, in an
    S3 upload that declared no checksums. That S3 upload is aborted and every part sent again."""
    data = big_clip
    _, location, _ = create_upload(world.client, world.as_("li.na"), data, BATCH, "VID_20261127_090000.mp4")
    _send(world, location, data, 0, PART_BYTES + 4096)
    row = _wait_for_parts(world, location, 1)
    assert row.object_key and row.s3_upload_id and row.s3_parts
    world.core.providers.pop("evidence_uploads")
    old_upload = world.store._client._create_multipart_upload(world.bucket, row.object_key, {})
    with world.core.db.session() as s:
        stored = s.get(Upload, row.id)
        assert stored is not None
        world.store.abort_multipart(world.bucket, row.object_key, row.s3_upload_id)
        stored.s3_upload_id = old_upload
        stored.s3_parts = {"1": row.s3_parts["1"]["etag"]}  # type: ignore[dict-item]
    headers = _finish(world, location, data, PART_BYTES + 4096)
    item = world.client.get(f"/api/evidence/{headers['evidence-item-id']}", headers=world.as_("li.na")).json()
    stored_bytes = world.store.get_bytes(world.bucket, item["object_key"], version_id=item["version_id"])
    assert hashlib.sha256(stored_bytes).hexdigest() == sha256_of(data)
    assert sent_parts[0] == 1 and sorted(sent_parts[1:]) == [1, 2, 3]  # part 1 again, in the new upload
    assert _pending(world.store, world.bucket) == []  # the old S3 upload was aborted


def test_lost_multipart_upload_is_sent_again_from_the_staging_file(
    world: EvidenceWorld, big_clip: bytes, sent_parts: list[int]
) -> None:
    data = big_clip
    _, location, _ = create_upload(world.client, world.as_("li.na"), data, BATCH, "VID_20261127_090000.mp4")
    _send(world, location, data, 0, 2 * PART_BYTES)
    row = _wait_for_parts(world, location, 2)
    assert row.object_key and row.s3_upload_id
    world.core.providers.pop("evidence_uploads")  # restart, and S3 forgot the upload meanwhile
    world.store.abort_multipart(world.bucket, row.object_key, row.s3_upload_id)
    headers = _finish(world, location, data, 2 * PART_BYTES)
    item = world.client.get(f"/api/evidence/{headers['evidence-item-id']}", headers=world.as_("li.na")).json()
    stored = world.store.get_bytes(world.bucket, item["object_key"], version_id=item["version_id"])
    assert hashlib.sha256(stored).hexdigest() == sha256_of(data)
    # Parts 1 and 2 went up twice (before and after S3 lost them); part 3 may have been tried on the lost
    # upload first.
    assert sent_parts[:2] == [1, 2] and sorted(set(sent_parts[2:])) == [1, 2, 3]
    assert sent_parts.count(1) == 2 and sent_parts.count(2) == 2
    assert _pending(world.store, world.bucket) == []


def test_parts_of_unacknowledged_bytes_are_sent_again(
    world: EvidenceWorld, big_clip: bytes, sent_parts: list[int]
) -> None:
    """A request that goes past Upload-Length is refused and its bytes are dropped, although parts of them
    went up already: the next requests' bytes replace those parts."""
    data = big_clip
    me = world.as_("li.na")
    _, location, _ = create_upload(world.client, me, data, BATCH, "VID_20261127_090000.mp4")
    garbage = os.urandom(len(data) + 1)
    pieces = (garbage[i : i + 1024**2] for i in range(0, len(garbage), 1024**2))
    with serving(world.client.app) as url:  # a real server, so that the body arrives piece by piece
        r = httpx.patch(
            url + location,
            content=pieces,
            headers={**me, **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
            timeout=60,
        )
    assert r.status_code == 413
    _wait_for_parts(world, location, 2)  # parts 1 and 2, of garbage, are in S3
    assert world.client.head(location, headers={**me, **TUS}).headers["upload-offset"] == "0"
    headers = _finish(world, location, data, 0)
    item = world.client.get(f"/api/evidence/{headers['evidence-item-id']}", headers=me).json()
    stored = world.store.get_bytes(world.bucket, item["object_key"], version_id=item["version_id"])
    assert hashlib.sha256(stored).hexdigest() == sha256_of(data)
    assert sent_parts.count(1) == 2 and sent_parts.count(2) == 2


def test_a_duplicate_found_at_the_end_aborts_its_multipart_upload(
    world: EvidenceWorld, big_clip: bytes
) -> None:
    """Two uploads of the same file started before either finished: the second becomes the first's item."""
    data = big_clip
    me = world.as_("li.na")
    _, first, _ = create_upload(world.client, me, data, BATCH, "VID_20261127_090000.mp4")
    _, second, _ = create_upload(world.client, me, data, BATCH, "copy.mp4")
    _send(world, second, data, 0, 2 * PART_BYTES)
    _wait_for_parts(world, second, 2)
    item_id = _finish(world, first, data, 0)["evidence-item-id"]
    headers = _finish(world, second, data, 2 * PART_BYTES)
    assert headers["evidence-item-id"] == item_id and headers["evidence-duplicate"] == "true"
    assert _pending(world.store, world.bucket) == []
    originals = [k for k in _versions(world) if k.startswith("items/")]
    assert len(originals) == 1


def test_small_or_undeclared_uploads_are_stored_after_inspection(
    world: EvidenceWorld, big_clip: bytes, media: dict[str, Path], make_upload: Callable[..., str]
) -> None:
    """A file of one part, or one whose client did not say its SHA-256, is put after inspection."""
    small = make_upload(media["mp4"].read_bytes(), "VID_20261126_143015.mp4")
    undeclared = make_upload(big_clip, "big.mp4", declare=False)
    for location in (small, undeclared):
        row = _row(world, location)
        assert row is not None and row.object_key is None and row.part_size is None


@pytest.fixture
def make_upload(world: EvidenceWorld) -> Callable[..., str]:
    def make(data: bytes, name: str, declare: bool = True) -> str:
        meta = f"filename {_b64(name)},batch {_b64(BATCH)}"
        if declare:
            meta += f",sha256 {_b64(sha256_of(data))}"
        r = world.client.post(
            "/api/evidence/uploads",
            headers={**world.as_("li.na"), **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": meta},
        )
        assert r.status_code == 201
        return r.headers["location"]

    return make


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def test_sweep_aborts_abandoned_multipart_uploads_that_no_upload_owns(
    world: EvidenceWorld, big_clip: bytes
) -> None:
    """A crash between starting a multipart upload and recording it leaves one nobody knows: the sweep
    aborts it once it is older than an upload may live; a live upload's multipart upload stays."""
    orphan = world.store.start_multipart(world.bucket, "items/2026/11/27/orphan.mp4")
    _, location, _ = create_upload(world.client, world.as_("li.na"), big_clip, BATCH, "live.mp4")
    _send(world, location, big_clip, 0, PART_BYTES + 1)
    live = _wait_for_parts(world, location, 1)
    with world.core.db.session() as s:
        row = s.get(Upload, live.id)
        assert row is not None
        row.expires_at = utcnow() + timedelta(days=30)
    upload_service(world.core).sweep_expired(utcnow() + timedelta(days=2))
    pending = {u.upload_id for u in world.store.list_multipart_uploads(world.bucket)}
    assert orphan not in pending and live.s3_upload_id in pending


def test_storage_down_while_receiving_the_upload_completes_once_it_is_back(
    world: EvidenceWorld, big_clip: bytes, seaweed_restartable: EmbeddedSeaweed
) -> None:
    """Parts that cannot be sent wait in the staging file; the last request answers 503 while S3 is down
    and the client's retry (an empty PATCH at the end) completes the upload."""
    data = big_clip
    me = world.as_("li.na")
    _, location, _ = create_upload(world.client, me, data, BATCH, "VID_20261127_090000.mp4")
    _send(world, location, data, 0, PART_BYTES + 1)
    _wait_for_parts(world, location, 1)
    seaweed_restartable.stop()
    _send(world, location, data, PART_BYTES + 1, len(data) - 1)  # still accepted, into the staging file
    r = patch(world.client, me, location, len(data) - 1, data[-1:])
    assert r.status_code == 503
    assert world.client.head(location, headers={**me, **TUS}).headers["upload-offset"] == str(len(data))
    seaweed_restartable.start()
    r = patch(world.client, me, location, len(data), b"")
    assert r.status_code == 204, r.text
    item = world.client.get(f"/api/evidence/{r.headers['evidence-item-id']}", headers=me).json()
    stored = world.store.get_bytes(world.bucket, item["object_key"], version_id=item["version_id"])
    assert hashlib.sha256(stored).hexdigest() == sha256_of(data)
    assert _pending(world.store, world.bucket) == []


def test_part_size_keeps_every_upload_within_10000_parts() -> None:
    mib, gib = 1024**2, 1024**3
    assert part_size_for(2 * gib) == PART_BYTES == 8 * mib
    for length in (9 * mib, 2 * gib, 64 * gib, 78 * gib, 79 * gib, 200 * gib, 5 * 1024 * gib):
        size = part_size_for(length)
        assert size >= 5 * mib and size % mib == 0 and -(-length // size) <= 10_000, length


def test_part_buffers_are_reused_and_given_back() -> None:
    buffers = PartBuffers()
    with buffers.buffer(PART_BYTES) as first:
        pass
    with buffers.buffer(PART_BYTES) as again:
        assert again is first
    assert buffers.held == PART_BYTES
    buffers.drop_unused()
    assert buffers.held == 0


def test_sent_parts_are_recorded_in_batches_and_all_of_them_once_idle(
    world: EvidenceWorld, tmp_path: Path
) -> None:
    """While parts keep going up they are recorded at most once per SAVE_EVERY_S (each record is a
    database write of the whole list); once none is in flight, every part sent is recorded."""
    count, size = 12, MIN_PART_SIZE
    staging = tmp_path / "staging"
    staging.write_bytes(os.urandom(count * size))
    saves: list[tuple[str | None, list[int]]] = []
    with ThreadPoolExecutor(4) as executor:
        sender = PartSender(
            world.store,
            world.bucket,
            "items/2026/11/27/batched-saves.bin",
            staging,
            count * size,
            size,
            content_type="application/octet-stream",
            metadata={},
            upload_id=None,
            parts={},
            save=lambda upload_id, parts: saves.append((upload_id, sorted(parts))),
            executor=executor,
            buffers=PartBuffers(),
        )
        started = time.monotonic()
        sender.advance(count * size, wait=False)
        sender.wait_sent()
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 10
        while (not saves or len(saves[-1][1]) < count) and time.monotonic() < deadline:
            time.sleep(0.02)  # the last part's thread records after wait_sent returned
        sender.abort()
    upload_id = saves[0][0]
    assert upload_id and saves[0][1] == []  # the S3 upload id first, before any part went up
    assert (upload_id, list(range(1, count + 1))) in saves
    # one record when the upload started, then one per SAVE_EVERY_S at most, and the one when idle
    assert len(saves) - 1 <= 2 + elapsed / SAVE_EVERY_S, (elapsed, [len(p) for _, p in saves])
    assert saves[-1] == (None, [])  # abort recorded that nothing is left
