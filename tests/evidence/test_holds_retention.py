"""Legal holds follow disputes; held or retained evidence cannot be deleted, by the API or directly in S3;
the retention sweep deletes only expired, unheld items."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from minio import Minio
from minio.error import S3Error

from evidence.models import EvidenceItem, EvidenceKind
from evidence.retention import sweep
from tests.evidence.conftest import EvidenceWorld, upload_file
from vms.db import utcnow
from vms.storage import EmbeddedSeaweed
from vms.yard.actor import Actor
from vms.yard.batches import BatchService


def _item(world: EvidenceWorld, item_id: int) -> EvidenceItem:
    with world.core.db.sessions() as s:
        item = s.get(EvidenceItem, item_id)
        assert item is not None
        return item


def _short_lived_item(world: EvidenceWorld, seconds: float = 2) -> int:
    """An item whose object is locked for only a few seconds (as if uploaded years ago)."""
    now = utcnow()
    key = f"items/test/{time.monotonic_ns()}.jpg"
    info = world.store.put_bytes(world.bucket, key, b"\xff\xd8\xff old photo", content_type="image/jpeg")
    until = now + timedelta(seconds=seconds)
    world.store.set_retention(world.bucket, key, "COMPLIANCE", until, version_id=info.version_id)
    item = EvidenceItem(
        batch_id=world.batch_ids["查验-001"],
        kind=EvidenceKind.PHOTO,
        original_filename="old.jpg",
        content_type="image/jpeg",
        size_bytes=14,
        sha256="ab" * 32,
        bucket=world.bucket,
        object_key=key,
        version_id=info.version_id,
        uploaded_by="li.na",
        uploaded_at=now - timedelta(days=3000),
        media={},
        retention_until=until,
        legal_hold=False,
    )
    with world.core.db.session() as s:
        s.add(item)
        s.flush()
        return item.id


def _raw_minio(seaweed: EmbeddedSeaweed) -> Minio:
    return Minio(seaweed.endpoint, seaweed.access_key, seaweed.secret_key, secure=False)


def test_dispute_holds_and_release_needs_the_end_of_the_dispute(
    world: EvidenceWorld, media: dict[str, Path], seaweed: EmbeddedSeaweed
) -> None:
    item_id = upload_file(world, "li.na", media["photo"])
    batch_id = world.batch_ids["查验-001"]
    BatchService(world.core, Actor("reviewer")).set_disputed(batch_id, True, "货主申诉")
    item = _item(world, item_id)
    assert item.legal_hold
    assert world.store.legal_hold_is_on(world.bucket, item.object_key, item.version_id)
    r = world.client.request(
        "DELETE", f"/api/evidence/{item_id}", json={"reason": "清理"}, headers=world.as_("admin")
    )
    assert r.status_code == 409 and "legal hold" in r.json()["detail"]
    with pytest.raises(S3Error):
        _raw_minio(seaweed).remove_object(world.bucket, item.object_key, version_id=item.version_id)
    assert world.store.exists(world.bucket, item.object_key, item.version_id)
    # A new upload to the disputed batch is held at once.
    held_on_arrival = upload_file(world, "li.na", media["plain_photo"])
    assert _item(world, held_on_arrival).legal_hold
    BatchService(world.core, Actor("reviewer")).set_disputed(batch_id, False, "复核完毕")
    assert not _item(world, item_id).legal_hold
    assert not world.store.legal_hold_is_on(world.bucket, item.object_key, item.version_id)
    custody = world.client.get(f"/api/evidence/{item_id}/custody", headers=world.as_("reviewer")).json()
    hold, release = (e for e in custody["events"] if e["action"] in ("evidence.hold", "evidence.release"))
    assert (hold["actor"], release["actor"]) == ("reviewer", "reviewer")
    assert "货主申诉" in hold["detail"]["reason"] and "复核完毕" in release["detail"]["reason"]


def test_retained_item_cannot_be_deleted(
    world: EvidenceWorld, media: dict[str, Path], seaweed: EmbeddedSeaweed
) -> None:
    item_id = upload_file(world, "li.na", media["photo"])
    assert (
        world.client.request(
            "DELETE", f"/api/evidence/{item_id}", json={"reason": "x"}, headers=world.as_("reviewer")
        ).status_code
        == 403
    )
    r = world.client.request(
        "DELETE", f"/api/evidence/{item_id}", json={"reason": "x"}, headers=world.as_("admin")
    )
    assert r.status_code == 409 and "retained until" in r.json()["detail"]
    item = _item(world, item_id)
    with pytest.raises(S3Error):
        _raw_minio(seaweed).remove_object(world.bucket, item.object_key, version_id=item.version_id)
    assert sweep(world.core) == 0


def test_sweep_deletes_expired_unheld_items_only(world: EvidenceWorld, seaweed: EmbeddedSeaweed) -> None:
    free = _short_lived_item(world)
    held = _short_lived_item(world)
    world.core.store.set_legal_hold(
        world.bucket,
        _item(world, held).object_key,
        True,  # type: ignore[union-attr]
        version_id=_item(world, held).version_id,
    )
    with world.core.db.session() as s:
        s.get(EvidenceItem, held).legal_hold = True  # type: ignore[union-attr]
    time.sleep(2.5)  # let the short object lock run out
    assert sweep(world.core) == 1
    gone = _item(world, free)
    assert gone.deleted_at is not None
    assert not world.store.exists(world.bucket, gone.object_key, gone.version_id)
    with pytest.raises(S3Error):  # retention is over, the legal hold still protects it
        _raw_minio(seaweed).remove_object(
            world.bucket, _item(world, held).object_key, version_id=_item(world, held).version_id
        )
    assert _item(world, held).deleted_at is None
    custody = world.client.get(f"/api/evidence/{free}/custody", headers=world.as_("reviewer")).json()
    assert custody["events"][-1]["action"] == "evidence.delete"
    assert custody["events"][-1]["actor"] == "system:retention"
    assert (
        world.client.get(f"/api/evidence/{free}/download", headers=world.as_("reviewer")).status_code == 404
    )
