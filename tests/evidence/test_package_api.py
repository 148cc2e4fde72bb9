"""The evidence package API: public key for anyone, a background build with progress, download, audit."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from evidence.models import EvidenceItem
from evidence.package_api import evidence_package_router
from evidence.package_jobs import PackageJobs
from evidence.verify import Outcome, verify_package
from tests.evidence.test_package import (
    PHOTO_NAME,
    YardBatch,
    build_yard_batch,
    make_core,
    shared_segment_files,
)
from vms.api.app import build_api
from vms.context import CoreServices
from vms.db.models import AuditEvent, Role
from vms.storage import EmbeddedSeaweed

PASSWORD = "correct-horse-1"


@pytest.fixture(scope="session")
def segment_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return shared_segment_files(tmp_path_factory)


@pytest.fixture
def api_core(tmp_path: Path, seaweed: EmbeddedSeaweed) -> Iterator[CoreServices]:
    core = make_core(tmp_path / "data", seaweed.object_store())
    users = {"li.na": Role.REVIEWER, "wang.wei": Role.REVIEWER, "chen.op": Role.OPERATOR, "admin": Role.ADMIN}
    for name, role in users.items():
        core.auth.create_user(name, PASSWORD, role)
    yield core
    core.db.dispose()


@pytest.fixture
def app(api_core: CoreServices) -> FastAPI:
    return build_api(api_core, [evidence_package_router()])


def bearer(core: CoreServices, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {core.auth.login(username, PASSWORD).token}"}


def finished(
    client: TestClient, app: FastAPI, job: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    jobs: PackageJobs = app.state.evidence_package_jobs
    jobs.wait(job["job_id"], timeout=120)
    r = client.get(job["status_url"], headers=headers)
    assert r.status_code == 200, r.text
    status: dict[str, Any] = r.json()
    return status


def test_a_reviewer_builds_downloads_and_verifies_a_package(
    app: FastAPI, api_core: CoreServices, segment_files: list[Path], tmp_path: Path
) -> None:
    yard: YardBatch = build_yard_batch(api_core, segment_files)
    reviewer = bearer(api_core, "li.na")
    with TestClient(app) as client:
        key = client.get("/api/evidence/public-key")  # no sign-in: anyone may verify
        pem = client.get("/api/evidence/public-key.pem")
        started = client.post(f"/api/batches/{yard.batch_id}/evidence-package", headers=reviewer)
        assert started.status_code == 202, started.text
        job = started.json()
        assert job["state"] in ("running", "ready") and 0 <= job["percent"] <= 100

        status = finished(client, app, job, reviewer)
        download = client.get(status["download_url"], headers=reviewer)

    assert key.status_code == 200 and key.json()["algorithm"] == "Ed25519"
    assert pem.text == key.json()["public_key_pem"]
    assert status["state"] == "ready" and status["percent"] == 100 and status["error"] is None
    assert status["bytes_written"] >= status["size_bytes"] > 0
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert download.headers["x-package-sha256"] == status["sha256"]
    assert yard.number in download.headers["content-disposition"]
    package = tmp_path / "downloaded.zip"
    package.write_bytes(download.content)
    report = verify_package(package, expect_fingerprint=key.json()["fingerprint"])
    assert report.outcome is Outcome.VERIFIED, report.problem

    with api_core.db.sessions() as s:
        exports = list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.seq))
        )
    assert [(e.actor, e.object_id, e.detail["stage"]) for e in exports] == [
        ("li.na", str(yard.batch_id), "build"),
        ("li.na", str(yard.batch_id), "download"),
    ]
    assert exports[1].detail["sha256"] == status["sha256"]
    with zipfile.ZipFile(package) as z:
        custody = z.read("custody/custody.json").decode()
    assert '"stage": "build"' in custody  # the package's own making is in its custody log


def test_who_may_build_and_see_packages(
    app: FastAPI, api_core: CoreServices, segment_files: list[Path]
) -> None:
    yard = build_yard_batch(api_core, segment_files)
    with TestClient(app) as client:
        anonymous = client.post(f"/api/batches/{yard.batch_id}/evidence-package")
        operator = client.post(
            f"/api/batches/{yard.batch_id}/evidence-package", headers=bearer(api_core, "chen.op")
        )
        missing = client.post("/api/batches/999999/evidence-package", headers=bearer(api_core, "li.na"))
        job = client.post(
            f"/api/batches/{yard.batch_id}/evidence-package", headers=bearer(api_core, "li.na")
        ).json()
        finished(client, app, job, bearer(api_core, "li.na"))
        someone_else = client.get(job["status_url"], headers=bearer(api_core, "wang.wei"))
        admin_view = client.get(job["status_url"], headers=bearer(api_core, "admin"))

    assert anonymous.status_code == 401
    assert operator.status_code == 403 and "footage:export" in operator.json()["detail"]
    assert missing.status_code == 404 and missing.json()["detail"] == "batch 999999 not found"
    assert someone_else.status_code == 404
    assert admin_view.status_code == 200 and admin_view.json()["state"] == "ready"


def test_altered_storage_fails_the_job_with_a_clear_error(
    app: FastAPI, api_core: CoreServices, segment_files: list[Path]
) -> None:
    yard = build_yard_batch(api_core, segment_files)
    assert api_core.store is not None
    with api_core.db.sessions() as s:
        photo = s.get_one(EvidenceItem, yard.item_ids[PHOTO_NAME])
    api_core.store.put_bytes(photo.bucket, photo.object_key, b"replaced")
    reviewer = bearer(api_core, "li.na")
    with TestClient(app) as client:
        job = client.post(f"/api/batches/{yard.batch_id}/evidence-package", headers=reviewer).json()
        status = finished(client, app, job, reviewer)
        download = client.get(f"{job['status_url']}/download", headers=reviewer)

    assert status["state"] == "failed" and status["download_url"] is None
    assert f"body-cam item {photo.id} ({PHOTO_NAME})" in status["error"]
    assert "does not match the SHA-256 recorded at upload" in status["error"]
    assert download.status_code == 409 and "could not be built" in download.json()["detail"]
    jobs: PackageJobs = app.state.evidence_package_jobs
    assert list(jobs.directory.glob("*.zip")) == []  # the partial package is gone
