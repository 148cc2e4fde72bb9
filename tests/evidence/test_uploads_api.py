"""tus uploads through the API onto the real object-lock bucket: resume, checksums, duplicates, refusals."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from evidence.models import EvidenceItem, Upload
from evidence.uploads import upload_service
from tests.evidence.conftest import TUS, EvidenceWorld, create_upload, patch, sha256_of, upload_file
from vms.db import utcnow
from vms.db.models import AuditEvent


def _items(world: EvidenceWorld) -> int:
    with world.core.db.sessions() as s:
        return s.scalar(select(func.count()).select_from(EvidenceItem)) or 0


def _staged(world: EvidenceWorld) -> list[Path]:
    return list((Path(world.core.settings.data_dir) / "evidence-staging").glob("*"))


def _objects(world: EvidenceWorld) -> list[str]:
    return [o.key for o in world.store.list(world.bucket, include_versions=True)]


def test_options_discovery(world: EvidenceWorld) -> None:
    r = world.client.options("/api/evidence/uploads")
    assert r.status_code == 204
    assert r.headers["tus-version"] == "1.0.0"
    assert {"creation", "termination", "checksum"} <= set(r.headers["tus-extension"].split(","))
    assert int(r.headers["tus-max-size"]) == 50 * 1024 * 1024


def test_upload_interrupted_twice_and_resumed(world: EvidenceWorld, media: dict[str, Path]) -> None:
    data = media["mp4"].read_bytes()
    me = world.as_("li.na")
    status, location, _ = create_upload(world.client, me, data, "查验-001", media["mp4"].name)
    assert status == 201
    third = len(data) // 3
    assert patch(world.client, me, location, 0, data[:third]).status_code == 204
    # The connection broke; the client does not know how far it got: it asks.
    head = world.client.head(location, headers={**me, **TUS})
    assert (head.status_code, head.headers["upload-offset"]) == (200, str(third))
    stale = patch(world.client, me, location, 0, data[:third])
    assert stale.status_code == 409 and "HEAD" in stale.json()["detail"]
    assert patch(world.client, me, location, third, data[third : 2 * third]).status_code == 204
    assert world.client.head(location, headers={**me, **TUS}).headers["upload-offset"] == str(2 * third)
    # Simulate a server restart: the running hash is lost and must be rebuilt from the staged bytes.
    world.core.providers.pop("evidence_uploads")
    done = patch(world.client, me, location, 2 * third, data[2 * third :])
    assert done.status_code == 204, done.text
    item_id = int(done.headers["evidence-item-id"])
    item = world.client.get(f"/api/evidence/{item_id}", headers=me).json()
    assert item["sha256"] == sha256_of(data) and item["size_bytes"] == len(data)
    assert item["batch_number"] == "查验-001" and item["uploaded_by"] == "li.na"
    assert item["device_serial"] == "BC-0042" and item["time_source"] == "container"
    assert item["media"]["video_codec"] == "h264" and item["has_poster"] and item["has_preview"]
    stored = world.store.get_bytes(world.bucket, item["object_key"], version_id=item["version_id"])
    assert hashlib.sha256(stored).hexdigest() == item["sha256"]
    retention = world.store.get_retention(world.bucket, item["object_key"], item["version_id"])
    assert retention is not None and retention.mode == "COMPLIANCE"
    assert _staged(world) == []
    with world.core.db.sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.upload")).one()
    assert event.detail["sha256"] == item["sha256"] and event.detail["batch"] == "查验-001"
    assert event.detail["size"] == len(data)


def test_chunk_checksum(world: EvidenceWorld, media: dict[str, Path]) -> None:
    data = media["photo"].read_bytes()
    me = world.as_("li.na")
    _, location, _ = create_upload(world.client, me, data, "查验-001", "IMG_0001.jpg")
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    r = patch(world.client, me, location, 0, data, **{"Upload-Checksum": f"sha256 {wrong}"})
    assert r.status_code == 460 and r.json()["error"] == "checksum_mismatch"
    assert world.client.head(location, headers={**me, **TUS}).headers["upload-offset"] == "0"
    right = base64.b64encode(hashlib.sha256(data).digest()).decode()
    r = patch(world.client, me, location, 0, data, **{"Upload-Checksum": f"sha256 {right}"})
    assert r.status_code == 204 and "evidence-item-id" in r.headers


def test_same_file_twice_is_one_item(world: EvidenceWorld, media: dict[str, Path]) -> None:
    first = upload_file(world, "li.na", media["mkv"])
    status, _, headers = create_upload(
        world.client, world.as_("li.na"), media["mkv"].read_bytes(), "查验-001", "copy.mkv"
    )
    assert status == 201
    assert headers["evidence-item-id"] == str(first) and headers["evidence-duplicate"] == "true"
    assert headers["upload-offset"] == headers["upload-length"]
    assert _items(world) == 1


def test_inspector_cannot_upload_to_another_inspectors_batch(world: EvidenceWorld) -> None:
    status, _, _ = create_upload(world.client, world.as_("li.na"), b"x" * 10, "查验-002", "a.mp4")
    assert status == 403
    r = world.client.post(
        "/api/evidence/uploads",
        headers={**world.as_("li.na"), **TUS, "Upload-Length": "10", "Upload-Metadata": "batch eA=="},
    )
    assert r.status_code == 400 and "filename" in r.json()["detail"]


def test_unknown_batch_too_large_and_missing_header(world: EvidenceWorld) -> None:
    me = world.as_("li.na")
    assert create_upload(world.client, me, b"x" * 10, "无此批次", "a.mp4")[0] == 404
    meta = world.client.post(
        "/api/evidence/uploads",
        headers={
            **me,
            **TUS,
            "Upload-Length": str(51 * 1024 * 1024),
            "Upload-Metadata": "filename YS5tcDQ=,batch " + base64.b64encode("查验-001".encode()).decode(),
        },
    )
    assert meta.status_code == 413 and "at most" in meta.json()["detail"]
    no_tus = world.client.post("/api/evidence/uploads", headers={**me, "Upload-Length": "10"})
    assert no_tus.status_code == 412


def test_refused_files_leave_nothing(world: EvidenceWorld, media: dict[str, Path]) -> None:
    me = world.as_("li.na")
    for name, reason in (("text", "not a video or photo"), ("truncated", "truncated")):
        data = media[name].read_bytes()
        _, location, _ = create_upload(world.client, me, data, "查验-001", media[name].name)
        r = patch(world.client, me, location, 0, data)
        assert r.status_code == 422 and reason in r.json()["detail"]
        assert world.client.head(location, headers={**me, **TUS}).status_code == 404
    assert create_upload(world.client, me, b"", "查验-001", "empty.mp4")[0] == 422
    # Bytes that do not match the SHA-256 the client announced.
    data = media["mov"].read_bytes()
    _, location, _ = create_upload(world.client, me, data, "查验-001", "clip.mov", sha="0" * 64)
    r = patch(world.client, me, location, 0, data)
    assert r.status_code == 422 and "SHA-256" in r.json()["detail"]
    assert (_items(world), _staged(world), _objects(world)) == (0, [], [])
    with world.core.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Upload)) == 0
        refusals = s.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.upload_refused")).all()
    assert len(refusals) == 3


def test_terminate_and_expiry(world: EvidenceWorld) -> None:
    me = world.as_("li.na")
    _, location, _ = create_upload(world.client, me, b"x" * 100, "查验-001", "a.mp4")
    patch(world.client, me, location, 0, b"x" * 40)
    assert world.client.delete(location, headers={**me, **TUS}).status_code == 204
    assert world.client.head(location, headers={**me, **TUS}).status_code == 404
    _, location, _ = create_upload(world.client, me, b"y" * 100, "查验-001", "b.mp4")
    patch(world.client, me, location, 0, b"y" * 40)
    assert len(_staged(world)) == 1
    removed = upload_service(world.core).sweep_expired(utcnow() + timedelta(days=2))
    assert removed == 1 and _staged(world) == []
    assert world.client.head(location, headers={**me, **TUS}).status_code == 404


def test_someone_elses_upload_is_not_found(world: EvidenceWorld) -> None:
    _, location, _ = create_upload(world.client, world.as_("li.na"), b"x" * 100, "查验-001", "a.mp4")
    assert world.client.head(location, headers={**world.as_("admin"), **TUS}).status_code == 404
    assert patch(world.client, world.as_("admin"), location, 0, b"x").status_code == 404
