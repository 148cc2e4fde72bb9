"""An evidence-enabled API on the real SeaweedFS (object-lock bucket), users of each kind, two batches,
and a folder of tiny real media files."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evidence.api import evidence_routers
from evidence.holds import register
from tests.evidence.media import make_clip, make_jpeg, truncate
from tests.vms.api.api_helpers import PASSWORD, issue_token
from vms.api.app import build_api
from vms.config import Settings
from vms.context import CoreServices
from vms.db.models import Role
from vms.storage import ObjectStore
from vms.yard.actor import Actor
from vms.yard.batch_schema import BatchCreate
from vms.yard.batches import BatchService

SETUP = Actor("test-setup")
TUS = {"Tus-Resumable": "1.0.0"}


@dataclass
class EvidenceWorld:
    core: CoreServices
    client: TestClient
    bucket: str
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    batch_ids: dict[str, int] = field(default_factory=dict)

    def as_(self, username: str) -> dict[str, str]:
        return self.headers[username]

    @property
    def store(self) -> ObjectStore:
        assert self.core.store is not None
        return self.core.store


def build_world(core: CoreServices, client: TestClient) -> EvidenceWorld:
    world = EvidenceWorld(core, client, core.settings.storage.evidence_bucket)
    for name, role in (
        ("admin", Role.ADMIN),
        ("reviewer", Role.REVIEWER),
        ("li.na", Role.INSPECTOR),
        ("wang.wei", Role.INSPECTOR),
        ("manager", Role.MANAGER),
    ):
        core.auth.create_user(name, PASSWORD, role, name)
        world.headers[name] = {"Authorization": f"Bearer {issue_token(core, name)}"}
    batches = BatchService(core, SETUP)
    for number, inspector, days in (("查验-001", "li.na", None), ("查验-002", "wang.wei", 30)):
        view = batches.create(BatchCreate(number=number, inspectors=[inspector], retention_days=days))
        world.batch_ids[number] = view.id
    return world


@pytest.fixture
def evidence_core(
    settings_factory: Callable[..., Settings],
    object_store: ObjectStore,
    new_bucket_name: Callable[..., str],
    tmp_path: Path,
) -> Iterator[CoreServices]:
    """Core services on SQLite with the real object store and a fresh object-lock evidence bucket."""
    bucket = new_bucket_name("ev")
    settings = settings_factory(
        database={"url": f"sqlite:///{tmp_path / 'ev.sqlite3'}"},
        storage={"evidence_bucket": bucket},
        evidence={"max_upload_bytes": 50 * 1024 * 1024},
    )
    object_store.ensure_bucket(bucket, object_lock=True)
    core = CoreServices.create(settings, store=object_store)
    register(core)
    yield core
    core.db.dispose()


@pytest.fixture
def world(evidence_core: CoreServices) -> Iterator[EvidenceWorld]:
    with TestClient(build_api(evidence_core, extra_routers=evidence_routers())) as client:
        yield build_world(evidence_core, client)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real files: clips in every container, rotated, tagged, photos, and broken ones."""
    d = tmp_path_factory.mktemp("media")
    files = {
        "mp4": make_clip(
            d / "VID_20261126_143015.mp4", creation_time="2026-11-26T06:30:15Z", serial="BC-0042"
        ),
        "faststart": make_clip(d / "fast.mp4", faststart=True),
        "mov": make_clip(d / "clip.mov"),
        "mkv": make_clip(d / "clip.mkv", serial="BC-0077"),
        "avi": make_clip(d / "FILE261126-143015.avi"),
        "rotated": make_clip(d / "rotated.mp4", rotate=90),
        "photo": make_jpeg(d / "IMG_0001.jpg", taken="2026:11:26 14:31:00", serial="CAM-9"),
        "plain_photo": make_jpeg(d / "20261126_143200.jpg"),
    }
    files["truncated"] = truncate(files["faststart"], d / "truncated.mp4")
    files["cut_moov"] = truncate(files["mp4"], d / "cut_before_index.mp4")
    files["text"] = d / "notes.mp4"
    files["text"].write_text("这不是视频 this is not a video\n", encoding="utf-8")
    files["empty"] = d / "empty.mp4"
    files["empty"].write_bytes(b"")
    return files


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def create_upload(
    client: TestClient,
    headers: dict[str, str],
    data: bytes,
    batch: str,
    filename: str,
    *,
    sha: str | None = None,
) -> tuple[int, str, dict[str, str]]:
    """POST a tus creation; returns (status, upload path, response headers)."""
    meta = {"filename": filename, "batch": batch, "sha256": sha or sha256_of(data)}
    r = client.post(
        "/api/evidence/uploads",
        headers={**headers, **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": metadata(**meta)},
    )
    return r.status_code, r.headers.get("location", ""), dict(r.headers)


def patch(
    client: TestClient, headers: dict[str, str], location: str, offset: int, chunk: bytes, **extra: str
):  # type: ignore[no-untyped-def]
    return client.patch(
        location,
        content=chunk,
        headers={
            **headers,
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **extra,
        },
    )


def upload_file(
    world: EvidenceWorld, user: str, path: Path, batch: str = "查验-001", chunk: int = 64 * 1024
) -> int:
    """Upload a whole file in chunks; returns the item id (asserts success)."""
    data = path.read_bytes()
    status, location, headers = create_upload(world.client, world.as_(user), data, batch, path.name)
    assert status == 201, headers
    if "evidence-item-id" in headers:
        return int(headers["evidence-item-id"])
    offset = 0
    while offset < len(data):
        r = patch(world.client, world.as_(user), location, offset, data[offset : offset + chunk])
        assert r.status_code == 204, r.text
        offset = int(r.headers["upload-offset"])
    return int(r.headers["evidence-item-id"])
