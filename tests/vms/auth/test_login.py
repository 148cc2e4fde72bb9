"""Signing in: bearer tokens, the cookie session, API keys, failed logins, throttling, logout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from vms.api.app import build_api
from vms.context import CoreServices
from vms.db import utcnow
from vms.db.models import AuditEvent, AuthSession, Role, User


@pytest.fixture
def client(core: CoreServices) -> Iterator[TestClient]:
    core.auth.create_user("zhang.wei", "correct-horse-1", Role.MANAGER, "张伟")
    with TestClient(build_api(core)) as c:
        yield c


def _login(client: TestClient, password: str = "correct-horse-1") -> dict[str, object]:
    r = client.post("/api/auth/login", json={"username": "zhang.wei", "password": password})
    body: dict[str, object] = r.json()
    body["_status"] = r.status_code
    return body


def test_login_gives_a_bearer_token_and_cookie(client: TestClient, core: CoreServices) -> None:
    body = _login(client)
    assert body["_status"] == 200 and body["role"] == "manager"
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me["name"] == "zhang.wei" and me["display_name"] == "张伟"
    assert "live:view" in me["permissions"] and "audit:read" not in me["permissions"]
    assert client.get("/api/auth/me").status_code == 200  # cookie set by the login response
    with core.db.sessions() as s:
        actions = s.execute(select(AuditEvent.action)).scalars().all()
    assert actions == ["login"]


def test_wrong_password_is_refused_and_audited(client: TestClient, core: CoreServices) -> None:
    body = _login(client, "wrong-password")
    assert body["_status"] == 401
    assert body == {"error": "unauthenticated", "detail": "wrong username or password", "_status": 401}
    with core.db.sessions() as s:
        ev = s.execute(select(AuditEvent)).scalar_one()
    assert ev.action == "login_failed" and ev.actor == "zhang.wei" and ev.client == "testclient"


def test_repeated_failures_are_throttled(client: TestClient, core: CoreServices) -> None:
    limit = core.settings.auth.login_attempts_per_minute
    statuses = [_login(client, "nope-nope")["_status"] for _ in range(limit + 2)]
    assert statuses[:limit] == [401] * limit
    assert statuses[limit:] == [429, 429]
    assert _login(client)["_status"] == 429  # even the right password waits


def test_cookie_needs_the_csrf_header_for_changes(client: TestClient) -> None:
    _login(client)
    refused = client.post("/api/auth/logout")
    assert refused.status_code == 403 and "x-requested-with" in refused.json()["detail"]
    assert client.post("/api/auth/logout", headers={"X-Requested-With": "vms"}).status_code == 204
    assert client.get("/api/auth/me").status_code == 401


def test_logout_ends_the_bearer_token(client: TestClient) -> None:
    token = _login(client)["access_token"]
    client.cookies.clear()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/auth/logout", headers=auth).status_code == 204
    r = client.get("/api/auth/me", headers=auth)
    assert r.status_code == 401 and "log in again" in r.json()["detail"]


def test_expired_session_is_refused(client: TestClient, core: CoreServices) -> None:
    token = _login(client)["access_token"]
    client.cookies.clear()
    with core.db.session() as s:
        s.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_api_key_works_until_revoked(client: TestClient, core: CoreServices) -> None:
    _row, key = core.auth.create_api_key("customs-feed", Role.INTEGRATION, "admin")
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        me = client.get("/api/auth/me", headers=headers).json()
        assert me["kind"] == "api_key" and me["role"] == "integration"
    bad = client.get("/api/auth/me", headers={"X-API-Key": key[:-1] + "x"})
    assert bad.status_code == 401 and bad.json()["error"] == "unauthenticated"


def test_disabled_user_cannot_log_in(client: TestClient, core: CoreServices) -> None:
    with core.db.session() as s:
        s.execute(update(User).values(active=False))
    body = _login(client)
    assert body["_status"] == 401 and "disabled" in str(body["detail"])


def test_unknown_route_and_bad_json_give_json_errors(client: TestClient) -> None:
    assert client.get("/api/nothing-here").json() == {"error": "not_found", "detail": "no such API endpoint"}
    r = client.post("/api/auth/login", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "validation_error"
    assert "JSON" in r.json()["detail"]
    big = client.post(
        "/api/auth/login", content=b"x" * (2 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert big.status_code == 413 and big.json()["error"] == "too_large"
