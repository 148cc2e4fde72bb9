"""Every route of the assembled app, called by every role and anonymously, answers as its declaration says.

Each route must declare exactly one ``require(Permission.X)`` or ``public()``; this test reads the
declarations from the routes, so routes that parts add later (``vms.app.part_routers()``) are walked too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from tests.vms.api.api_helpers import PASSWORD, issue_token
from vms.api.app import build_api
from vms.api.deps import Public, Require
from vms.app import part_routers
from vms.auth import ROLE_PERMISSIONS, Permission
from vms.context import CoreServices
from vms.db.models import Role
from vms.yard.accounts import ApiKeyCreate, ApiKeyService, UserCreate, UserService
from vms.yard.actor import Actor
from vms.yard.batch_schema import BatchCreate
from vms.yard.batches import BatchService
from vms.yard.cameras import CameraFields, CameraService
from vms.yard.sites import BayFields, SiteFields, SiteService

TEST_ACTOR = Actor("test-setup")
USER_ROLES = [r for r in Role if r is not Role.INTEGRATION]

# Minimal valid bodies for the core's routes; other routes get one generated from their body model.
EXAMPLE_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/auth/login"): {"username": "admin", "password": PASSWORD},
    ("POST", "/api/sites"): {"code": "NEW-SITE", "name": "新场地"},
    ("PATCH", "/api/sites/{site_id}"): {"name": "改名"},
    ("POST", "/api/sites/{site_id}/bays"): {"code": "NEW-BAY"},
    ("PATCH", "/api/sites/{site_id}/bays/{bay_id}"): {"name": "改名"},
    ("PUT", "/api/sites/{site_id}/bays/{bay_id}/cameras"): {"cameras": ["CAM-1"]},
    ("POST", "/api/cameras"): {"code": "NEW-CAM", "main_url": "rtsp://10.0.0.9/main"},
    ("PATCH", "/api/cameras/{camera_id}"): {"name": "门口"},
    ("POST", "/api/batches"): {"number": "新批次-1"},
    ("PUT", "/api/batches/by-number/{number}"): {"goods": "冻肉", "inspectors": ["inspector"]},
    ("PATCH", "/api/batches/{batch_id}"): {"notes": "备注"},
    ("POST", "/api/batches/{batch_id}/dispute"): {"reason": "申诉"},
    ("DELETE", "/api/batches/{batch_id}/dispute"): {"reason": "撤销"},
    ("POST", "/api/users"): {"username": "new-user", "password": PASSWORD, "role": "operator"},
    ("PATCH", "/api/users/{user_id}"): {"display_name": "新名字"},
    ("POST", "/api/users/{user_id}/password"): {"password": PASSWORD},
    ("POST", "/api/api-keys"): {"name": "new-key"},
}


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role | None  # None: anonymous


def declarations(route: Any) -> list[Require | Public]:
    found: list[Require | Public] = []
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Require | Public):
            found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def api_routes(app: FastAPI) -> list[Any]:
    """Every API route as the app serves it (with its full path and the routers' dependencies)."""
    routes = [r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)]
    # Deleting last keeps the shared objects alive for the other routes.
    return sorted(routes, key=lambda r: ("DELETE" in r.methods, r.path))


def example_from_schema(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A minimal value for a JSON schema: required fields only, first enum value, first anyOf branch."""
    if "$ref" in schema:
        return example_from_schema(defs[schema["$ref"].split("/")[-1]], defs)
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"] or schema["anyOf"]
        return example_from_schema(branches[0], defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: example_from_schema(props[k], defs) for k in schema.get("required", []) if k in props}
    return {"array": [], "integer": 1, "number": 1.0, "boolean": False, "string": "x"}.get(str(kind))


def body_for(app: FastAPI, route: Any, method: str) -> Any:
    if (method, route.path) in EXAMPLE_BODIES:
        return EXAMPLE_BODIES[(method, route.path)]
    if route.body_field is None:
        return None
    openapi = app.openapi()
    operation = openapi["paths"][route.path][method.lower()]
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return example_from_schema(schema, openapi.get("components", {}).get("schemas", {})) if schema else None


@pytest.fixture
def world(core: CoreServices) -> dict[str, str]:
    """One object of each kind to fill path parameters; returns parameter name -> value."""
    site = SiteService(core, TEST_ACTOR).create(SiteFields(code="SITE-1", name="一号场地"))
    CameraService(core, TEST_ACTOR).create(
        CameraFields(code="CAM-1", main_url="rtsp://10.0.0.1/main", password="cam-secret", site="SITE-1")
    )
    bay = SiteService(core, TEST_ACTOR).create_bay(site.id, BayFields(code="BAY-1", cameras=["CAM-1"]))
    batch = BatchService(core, TEST_ACTOR).create(
        BatchCreate(number="批次-001", site="SITE-1", bay="BAY-1", inspectors=["inspector"])
    )
    target = UserService(core, TEST_ACTOR).create(
        UserCreate(username="target", password=PASSWORD, role=Role.OPERATOR)
    )
    key = ApiKeyService(core, TEST_ACTOR).create(ApiKeyCreate(name="target-key"))
    for role in USER_ROLES:
        core.auth.create_user(role.value, PASSWORD, role)
    camera_id = CameraService(core, TEST_ACTOR).get_by_code("CAM-1").id
    return {
        "site_id": str(site.id),
        "bay_id": str(bay.id),
        "camera_id": str(camera_id),
        "batch_id": str(batch.id),
        "number": "批次-001",
        "user_id": str(target.id),
        "key_id": str(key.id),
    }


@pytest.fixture
def integration_key(core: CoreServices) -> Iterator[str]:
    yield ApiKeyService(core, TEST_ACTOR).create(ApiKeyCreate(name="feed", role=Role.INTEGRATION)).key


def headers_for(core: CoreServices, caller: Caller, api_key: str) -> dict[str, str]:
    if caller.role is None:
        return {}
    if caller.role is Role.INTEGRATION:
        return {"X-API-Key": api_key}
    return {"Authorization": f"Bearer {issue_token(core, caller.role.value)}"}


def test_every_route_declares_exactly_one_permission(core: CoreServices) -> None:
    app = build_api(core, extra_routers=part_routers())
    undeclared = [
        f"{sorted(r.methods)} {r.path}: {len(declarations(r))} declarations"
        for r in api_routes(app)
        if len(declarations(r)) != 1
    ]
    assert not undeclared, "declare exactly one require(...) or public():\n" + "\n".join(undeclared)


def test_role_matrix(core: CoreServices, world: dict[str, str], integration_key: str) -> None:
    app = build_api(core, extra_routers=part_routers())
    callers = [
        Caller("anonymous", None),
        *(Caller(r.value, r) for r in USER_ROLES),
        Caller("integration key", Role.INTEGRATION),
    ]
    failures: list[str] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for route in api_routes(app):
            (declared,) = declarations(route)
            path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: world.get(m.group(1), "1"), route.path)
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                body = body_for(app, route, method)
                for caller in callers:
                    headers = headers_for(core, caller, integration_key)
                    client.cookies.clear()  # the login route sets one; callers here use headers only
                    r = client.request(method, path, json=body, headers=headers)
                    where = f"{method} {route.path} as {caller.name}: {r.status_code} {r.text[:200]}"
                    if r.status_code == 500:
                        failures.append(f"server error: {where}")
                    if isinstance(declared, Public):
                        continue
                    allowed = caller.role is not None and declared.permission in ROLE_PERMISSIONS[caller.role]
                    if caller.role is None and r.status_code != 401:
                        failures.append(f"expected 401: {where}")
                    elif caller.role is not None and not allowed and r.status_code != 403:
                        failures.append(f"expected 403 ({declared.permission.value}): {where}")
                    elif allowed and r.status_code in (401, 403):
                        failures.append(f"expected access ({declared.permission.value}): {where}")
    assert not failures, "\n".join(failures)


def test_matrix_covers_the_core_routes(core: CoreServices) -> None:
    app = build_api(core, extra_routers=part_routers())
    paths = {r.path for r in api_routes(app)}
    assert len(paths) > 20
    for expected in (
        "/api/sites",
        "/api/cameras/{camera_id}",
        "/api/batches/by-number/{number}",
        "/api/users/{user_id}/password",
        "/api/api-keys/{key_id}",
        "/api/audit/verify",
    ):
        assert expected in paths
    assert any(
        isinstance(d, Require) and d.permission is Permission.BATCHES_DISPUTE
        for r in api_routes(app)
        for d in declarations(r)
    )
