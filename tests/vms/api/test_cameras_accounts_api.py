"""Cameras never show their password; users, API keys and the audit log through the API."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.vms.api.api_helpers import PASSWORD
from vms.context import CoreServices
from vms.db.models import Role

Headers = dict[str, str]
SECRET = "摄像头密码-Secret-42"


def test_camera_password_never_in_any_response(
    client: TestClient, core: CoreServices, admin: Headers
) -> None:
    core.providers["camera_status"] = lambda camera_id: {"online": True, "camera": camera_id}
    client.post("/api/sites", json={"code": "S1"}, headers=admin)
    created = client.post(
        "/api/cameras",
        json={
            "code": "C1",
            "name": "北门",
            "site": "S1",
            "main_url": "rtsp://10.0.0.1:554/main",
            "username": "viewer",
            "password": SECRET,
        },
        headers=admin,
    )
    assert created.status_code == 201
    cam = created.json()
    assert cam["has_password"] is True and "password" not in cam
    assert cam["status"] == {"online": True, "camera": cam["id"]}
    patched = client.patch(f"/api/cameras/{cam['id']}", json={"password": SECRET + "2"}, headers=admin)
    responses = [
        created,
        patched,
        client.get("/api/cameras", headers=admin),
        client.get(f"/api/cameras/{cam['id']}", headers=admin),
        client.get("/api/audit/events", headers=admin),
    ]
    for r in responses:
        assert r.status_code == 200 or r.status_code == 201
        assert SECRET not in r.text
    changes = client.get("/api/audit/events", params={"action": "camera.update"}, headers=admin).json()
    assert changes["items"][0]["detail"]["changes"] == {"password": "changed"}
    cleared = client.patch(f"/api/cameras/{cam['id']}", json={"password": None}, headers=admin)
    assert cleared.json()["has_password"] is False


def test_camera_url_with_credentials_is_refused(client: TestClient, admin: Headers) -> None:
    r = client.post(
        "/api/cameras", json={"code": "C1", "main_url": "rtsp://admin:pw123@10.0.0.1/main"}, headers=admin
    )
    assert r.status_code == 422
    assert "username and password fields" in r.json()["detail"]
    assert "pw123" not in r.text
    bad = client.post("/api/cameras", json={"code": "C1", "main_url": "http://10.0.0.1/"}, headers=admin)
    assert bad.status_code == 422 and "rtsp" in bad.json()["detail"]


def test_sites_tree_and_delete_in_use(client: TestClient, admin: Headers) -> None:
    site = client.post("/api/sites", json={"code": "S1", "name": "一号场"}, headers=admin).json()
    client.post("/api/cameras", json={"code": "C1", "main_url": "rtsp://h/1"}, headers=admin)
    bay = client.post(f"/api/sites/{site['id']}/bays", json={"code": "B1", "cameras": ["C1"]}, headers=admin)
    assert bay.status_code == 201
    unknown = client.put(
        f"/api/sites/{site['id']}/bays/{bay.json()['id']}/cameras", json={"cameras": ["C9"]}, headers=admin
    )
    assert unknown.status_code == 422 and "C9" in unknown.json()["detail"]
    tree = client.get("/api/sites", headers=admin).json()
    assert tree == [
        {
            "id": site["id"],
            "code": "S1",
            "name": "一号场",
            "bays": [{"id": bay.json()["id"], "code": "B1", "name": "", "cameras": ["C1"]}],
        }
    ]
    assert client.post("/api/sites", json={"code": "S1"}, headers=admin).status_code == 409
    client.put("/api/batches/by-number/X1", json={"site": "S1", "bay": "B1"}, headers=admin)
    r = client.delete(f"/api/sites/{site['id']}", headers=admin)
    assert r.status_code == 409 and "batch" in r.json()["detail"]
    assert client.get("/api/sites/999", headers=admin).status_code == 404


def test_users_and_keys(client: TestClient, admin: Headers, as_role: Callable[[Role], Headers]) -> None:
    r = client.post(
        "/api/users",
        json={"username": "li", "password": PASSWORD, "role": "inspector", "display_name": "李四"},
        headers=admin,
    )
    assert r.status_code == 201 and PASSWORD not in r.text and "password_hash" not in r.text
    user = r.json()
    assert (
        client.post(
            "/api/users", json={"username": "li", "password": PASSWORD, "role": "operator"}, headers=admin
        ).status_code
        == 409
    )
    weak = client.post(
        "/api/users", json={"username": "w", "password": "short", "role": "operator"}, headers=admin
    )
    assert weak.status_code == 422 and "8 characters" in weak.json()["detail"]
    patch = {"role": "reviewer", "active": False}
    changed = client.patch(f"/api/users/{user['id']}", json=patch, headers=admin)
    assert changed.json()["role"] == "reviewer" and changed.json()["active"] is False
    assert (
        client.post(
            f"/api/users/{user['id']}/password", json={"password": PASSWORD + "x"}, headers=admin
        ).status_code
        == 204
    )
    assert [u["username"] for u in client.get("/api/users", headers=as_role(Role.AUDITOR)).json()] == [
        "admin",
        "auditor",
        "li",
    ]

    key = client.post("/api/api-keys", json={"name": "查验系统"}, headers=admin).json()
    feed = {"X-API-Key": key["key"]}
    assert client.put("/api/batches/by-number/K1", json={}, headers=feed).status_code == 201
    listed = client.get("/api/api-keys", headers=admin)
    assert key["key"] not in listed.text
    assert client.delete(f"/api/api-keys/{key['id']}", headers=admin).json()["revoked_at"] is not None
    assert client.put("/api/batches/by-number/K1", json={}, headers=feed).status_code == 401

    actions = [e["action"] for e in client.get("/api/audit/events", headers=admin).json()["items"]]
    for expected in (
        "user.create",
        "user.update",
        "user.password_reset",
        "api_key.create",
        "api_key.revoke",
        "batch.create",
    ):
        assert expected in actions
    events = client.get("/api/audit/events", params={"actor": "api-key:查验系统"}, headers=admin).json()
    assert events["items"][0]["client"] == "testclient"
    assert client.get("/api/audit/verify", headers=as_role(Role.AUDITOR)).json()["ok"] is True
