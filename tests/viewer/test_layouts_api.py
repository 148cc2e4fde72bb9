"""Saved live-wall layouts: per user, validated, replaced by PUT, only for roles with live view."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.vms.api.api_helpers import PASSWORD, issue_token
from viewer.routes import viewer_routers
from vms.api.app import build_api
from vms.context import CoreServices
from vms.db.models import Role
from vms.yard.actor import Actor
from vms.yard.cameras import CameraFields, CameraService


@pytest.fixture
def client(core: CoreServices) -> Iterator[TestClient]:
    for name, role in (("op1", Role.OPERATOR), ("op2", Role.OPERATOR), ("insp", Role.INSPECTOR)):
        core.auth.create_user(name, PASSWORD, role, f"用户 {name}")
    with TestClient(build_api(core, extra_routers=viewer_routers())) as c:
        yield c


def auth(core: CoreServices, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(core, name)}"}


def camera(core: CoreServices, code: str) -> int:
    return (
        CameraService(core, Actor("test"))
        .create(CameraFields(code=code, main_url=f"rtsp://10.0.0.1/{code}"))
        .id
    )


def test_layouts_are_saved_per_user_and_replaced(client: TestClient, core: CoreServices) -> None:
    cam1, cam2 = camera(core, "C1"), camera(core, "C2")
    op1, op2 = auth(core, "op1"), auth(core, "op2")
    body = {"grid": 4, "tiles": [{"camera_id": cam1, "stream": "auto"}, None, {"camera_id": cam2}]}
    r = client.put("/api/viewer/layouts/值班墙", json=body, headers=op1)
    assert r.status_code == 200, r.text
    assert r.json()["tiles"][2] == {"camera_id": cam2, "stream": "auto"}
    assert client.get("/api/viewer/layouts", headers=op2).json() == {"items": []}
    assert client.get("/api/viewer/layouts/值班墙", headers=op2).status_code == 404

    r = client.put(
        "/api/viewer/layouts/值班墙", json={"grid": 9, "tiles": [None, {"camera_id": cam2}]}, headers=op1
    )
    assert r.status_code == 200
    items = client.get("/api/viewer/layouts", headers=op1).json()["items"]
    assert [(i["name"], i["grid"], i["tiles"]) for i in items] == [
        ("值班墙", 9, [None, {"camera_id": cam2, "stream": "auto"}])
    ]
    assert client.delete("/api/viewer/layouts/值班墙", headers=op1).status_code == 204
    assert client.get("/api/viewer/layouts/值班墙", headers=op1).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"grid": 6, "tiles": []},
        {"grid": 1, "tiles": [None, None]},
        {"grid": 4, "tiles": [{"camera_id": 9999}]},
        {"grid": 4, "tiles": [{"camera_id": 1, "stream": "hd"}]},
    ],
)
def test_bad_layouts_are_refused(client: TestClient, core: CoreServices, body: object) -> None:
    camera(core, "C1")
    r = client.put("/api/viewer/layouts/x", json=body, headers=auth(core, "op1"))
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_error"


def test_roles_without_live_view_get_403(client: TestClient, core: CoreServices) -> None:
    assert client.get("/api/viewer/layouts", headers=auth(core, "insp")).status_code == 403
    assert client.get("/api/viewer/layouts").status_code == 401


def test_home_page_depends_on_the_role(client: TestClient, core: CoreServices) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.headers["location"] == "/ui/login.html"
    r = client.get("/", headers=auth(core, "op1"), follow_redirects=False)
    assert r.headers["location"] == "/ui/wall.html"
    client.cookies.set("vms_session", issue_token(core, "insp"))
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/upload.html"
    client.cookies.set("vms_session", "stale")
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/login.html"
