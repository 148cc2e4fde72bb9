"""A whole node as `vms serve` runs it: a camera in the config is recorded, its footage is listed under the
batch inspected at its bay, exported as a clip, counted in the metrics, and the status page is served."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.seaweed import SEAWEED_ACCESS_KEY, SEAWEED_SECRET_KEY
from vms.app import create_app
from vms.assembly.node import YardNode
from vms.config import Settings
from vms.db import utcnow
from vms.db.models import Role
from vms.demo.simcam import SimulatedCamera
from vms.storage import EmbeddedSeaweed


@pytest.fixture
def node(
    seaweed: EmbeddedSeaweed,
    simulated_camera: SimulatedCamera,
    settings_factory: Callable[..., Settings],
    new_bucket_name: Callable[..., str],
) -> Iterator[YardNode]:
    settings = settings_factory(
        storage={
            "endpoint": seaweed.endpoint,
            "access_key": SEAWEED_ACCESS_KEY,
            "secret_key": SEAWEED_SECRET_KEY,
            "recordings_bucket": new_bucket_name("rec"),
            "evidence_bucket": new_bucket_name("evi"),
        },
        recording={"segment_seconds": 2, "batch_margin_seconds": 0},
        sites=[{"code": "Y1", "name": "一号查验场", "bays": [{"code": "B01", "cameras": ["gate-1"]}]}],
        cameras=[{"code": "gate-1", "name": "北门 1", "site": "Y1", "main_url": simulated_camera.url()}],
    )
    yard = YardNode(settings)
    yard.start()
    yield yard
    yard.stop()


def _wait(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_configured_camera_is_recorded_and_linked_to_its_batch(node: YardNode, tmp_path: Path) -> None:
    assert node.core is not None
    node.core.auth.create_user("admin", "admin-pass-1", Role.ADMIN)
    client = TestClient(create_app(node.core, node.metrics))
    token = client.post("/api/auth/login", json={"username": "admin", "password": "admin-pass-1"}).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    now = utcnow()
    batch = client.put(
        "/api/batches/by-number/查验-0001",
        headers=auth,
        json={
            "site": "Y1",
            "bay": "B01",
            "planned_start": (now - timedelta(minutes=5)).isoformat(),
            "planned_end": (now + timedelta(minutes=5)).isoformat(),
            "goods": "冷冻水产品",
        },
    )
    assert batch.status_code == 201, batch.text
    batch_id = batch.json()["id"]

    cameras = client.get("/api/cameras", headers=auth).json()
    items = cameras["items"] if isinstance(cameras, dict) else cameras
    camera = next(c for c in items if c["code"] == "gate-1")

    def online() -> bool:
        state: str = client.get(f"/api/cameras/{camera['id']}", headers=auth).json()["status"]["state"]
        return state == "online"

    _wait(online, 20, "the camera to come online")

    def footage() -> dict[str, object]:
        body: dict[str, object] = client.get(f"/api/batches/{batch_id}/footage", headers=auth).json()
        return body

    def segment_count() -> int:
        cams = footage()["cameras"]
        assert isinstance(cams, list)
        return sum(len(c["segments"]) for c in cams)

    _wait(lambda: segment_count() >= 3, 40, "three segments linked to the batch")
    lane = footage()["cameras"][0]  # type: ignore[index]
    assert lane["camera_code"] == "gate-1"
    first, last = lane["segments"][0], lane["segments"][-1]

    clip = client.get(
        f"/api/cameras/{camera['id']}/clip.mp4",
        headers=auth,
        params={"start": first["start"], "end": last["end"]},
    )
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    path = tmp_path / "clip.mp4"
    path.write_bytes(clip.content)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration", "-of", "json", path],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stderr == ""
    info = json.loads(probe.stdout)
    assert info["streams"][0]["codec_name"] == "h264"
    assert float(info["format"]["duration"]) >= 3.5

    metrics = client.get("/metrics").text
    assert 'vms_segments_uploaded_total{camera="gate-1"}' in metrics
    actions = [e["action"] for e in client.get("/api/audit/events", headers=auth).json()["items"]]
    assert "export" in actions


def test_status_page_and_api_docs_are_served(node: YardNode) -> None:
    assert node.core is not None
    client = TestClient(create_app(node.core, node.metrics))
    page = client.get("/")
    assert page.status_code == 200 and "查验场视频监控" in page.text
    assert client.get("/ui/status.js").status_code == 200
    assert client.get("/ui/../pages.py").status_code == 404
    assert client.get("/docs").status_code == 200
    assert client.get("/api/health").json()["object_storage"] == "ok"
    key = client.get("/api/evidence/public-key")  # anyone may check a package's signer
    assert key.status_code == 200 and "BEGIN PUBLIC KEY" in str(key.json())
