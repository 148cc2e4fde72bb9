"""The batch feed and queries, with Chinese text, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi.testclient import TestClient

from vms.context import CoreServices
from vms.db.models import AuditEvent, Role

Headers = dict[str, str]
NUMBER = "青岛港-查验-2025/001".replace("/", "-")
FEED_BODY = {
    "declaration_no": "报关单-42",
    "containers": ["abcu1234567", "MSKU7654321"],
    "goods": "冷冻带鱼（冻品）",
    "site": "QD-1",
    "bay": "B1",
    "planned_start": "2025-03-01T08:00:00+08:00",
    "planned_end": "2025-03-01T10:00:00+08:00",
    "inspectors": ["inspector"],
}


def _yard(client: TestClient, admin: Headers) -> None:
    site = client.post("/api/sites", json={"code": "QD-1", "name": "青岛一号场"}, headers=admin).json()
    client.post(f"/api/sites/{site['id']}/bays", json={"code": "B1", "name": "一号查验位"}, headers=admin)
    other = client.post("/api/sites", json={"code": "QD-2"}, headers=admin).json()
    client.post(f"/api/sites/{other['id']}/bays", json={"code": "B9"}, headers=admin)


def _audit_count(core: CoreServices, action: str) -> int:
    with core.db.sessions() as s:
        return s.query(AuditEvent).filter_by(action=action).count()


def test_upsert_is_idempotent_with_chinese_number(
    client: TestClient, core: CoreServices, admin: Headers
) -> None:
    _yard(client, admin)
    hooked: list[int] = []
    core.providers.setdefault("batch_changed_hooks", []).append(hooked.append)
    url = f"/api/batches/by-number/{quote(NUMBER)}"

    first = client.put(url, json=FEED_BODY, headers=admin)
    again = client.put(url, json=FEED_BODY, headers=admin)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    body = first.json()
    assert body["number"] == NUMBER and body["goods"] == "冷冻带鱼（冻品）"
    assert body["containers"] == ["ABCU1234567", "MSKU7654321"]
    assert body["planned_start"] == "2025-03-01T00:00:00Z"
    assert _audit_count(core, "batch.create") == 1 and _audit_count(core, "batch.update") == 0
    assert hooked == [body["id"]]

    changed = client.put(url, json={**FEED_BODY, "status": "in_progress"}, headers=admin)
    assert changed.status_code == 200 and changed.json()["status"] == "in_progress"
    assert _audit_count(core, "batch.update") == 1
    assert client.get("/api/batches", params={"number": NUMBER}, headers=admin).json()["total"] == 1


def test_feed_refuses_bad_input_with_field_messages(client: TestClient, admin: Headers) -> None:
    _yard(client, admin)
    url = "/api/batches/by-number/N-1"
    cases = {
        "site": {**FEED_BODY, "site": "NOPE"},
        "bay": {**FEED_BODY, "bay": "B9"},
        "planned_start": {**FEED_BODY, "planned_start": "2025-03-01T08:00:00"},
        "planned_end": {**FEED_BODY, "planned_end": "2025-03-01T07:00:00+08:00"},
    }
    for field, body in cases.items():
        r = client.put(url, json=body, headers=admin)
        assert r.status_code == 422, field
        assert r.json()["error"] == "validation_error"
        assert field in r.json()["detail"]
    assert client.get("/api/batches", headers=admin).json()["total"] == 0


def test_status_transition_is_checked(client: TestClient, admin: Headers) -> None:
    _yard(client, admin)
    created = client.post("/api/batches", json={"number": "T-1", "status": "completed"}, headers=admin).json()
    r = client.patch(f"/api/batches/{created['id']}", json={"status": "planned"}, headers=admin)
    assert r.status_code == 409
    assert "completed" in r.json()["detail"]
    assert client.post("/api/batches", json={"number": "T-1"}, headers=admin).status_code == 409


def test_filters(client: TestClient, admin: Headers) -> None:
    _yard(client, admin)
    client.put(f"/api/batches/by-number/{quote(NUMBER)}", json=FEED_BODY, headers=admin)
    client.put("/api/batches/by-number/OTHER-1", json={"goods": "纸浆", "site": "QD-2"}, headers=admin)

    def numbers(**params: object) -> list[str]:
        r = client.get("/api/batches", params=params, headers=admin)
        assert r.status_code == 200, r.text
        return [b["number"] for b in r.json()["items"]]

    assert numbers(number_contains="查验") == [NUMBER]
    assert numbers(declaration="报关单-42") == [NUMBER]
    assert numbers(container="msku7654321") == [NUMBER]
    assert numbers(site="QD-2") == ["OTHER-1"]
    assert numbers(bay="B1") == [NUMBER]
    assert numbers(inspector="inspector") == [NUMBER]
    assert numbers(**{"from": "2025-03-01T01:00:00Z", "to": "2025-03-01T05:00:00Z"}) == [NUMBER]
    assert numbers(**{"from": "2025-03-01T03:00:00Z"}) == []
    assert numbers(status="planned", disputed="false") == ["OTHER-1", NUMBER]
    page = client.get("/api/batches", params={"limit": 1, "offset": 1}, headers=admin).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    naive = client.get("/api/batches", params={"from": "2025-03-01T01:00:00"}, headers=admin)
    assert naive.status_code == 422 and "from" in naive.json()["detail"]


def test_inspector_sees_only_own_batches(
    client: TestClient, admin: Headers, as_role: Callable[[Role], Headers]
) -> None:
    _yard(client, admin)
    inspector = as_role(Role.INSPECTOR)
    mine = client.put("/api/batches/by-number/MINE", json=FEED_BODY, headers=admin).json()
    other = client.put(
        "/api/batches/by-number/THEIRS", json={**FEED_BODY, "inspectors": ["someone"]}, headers=admin
    ).json()

    listed = client.get("/api/batches", headers=inspector).json()
    assert [b["number"] for b in listed["items"]] == ["MINE"] and listed["total"] == 1
    assert client.get(f"/api/batches/{mine['id']}", headers=inspector).status_code == 200
    assert client.get(f"/api/batches/{other['id']}", headers=inspector).status_code == 404
    assert client.get("/api/batches/by-number/THEIRS", headers=inspector).status_code == 404


def test_dispute_is_audited_and_announced(
    client: TestClient, core: CoreServices, admin: Headers, as_role: Callable[[Role], Headers]
) -> None:
    _yard(client, admin)
    calls: list[tuple[int, bool]] = []
    core.providers.setdefault("batch_dispute_hooks", []).append(lambda i, d: calls.append((i, d)))
    batch = client.put("/api/batches/by-number/D-1", json=FEED_BODY, headers=admin).json()
    reviewer = as_role(Role.REVIEWER)

    on = client.post(f"/api/batches/{batch['id']}/dispute", json={"reason": "货主申诉"}, headers=reviewer)
    twice = client.post(f"/api/batches/{batch['id']}/dispute", json={"reason": "货主申诉"}, headers=reviewer)
    off = client.request(
        "DELETE", f"/api/batches/{batch['id']}/dispute", json={"reason": "已和解"}, headers=reviewer
    )

    assert on.json()["disputed"] is True and twice.status_code == 200
    assert off.json()["disputed"] is False
    assert calls == [(batch["id"], True), (batch["id"], False)]
    events = client.get("/api/audit/events", params={"object_id": "D-1"}, headers=admin).json()["items"]
    assert [e["action"] for e in events][:2] == ["batch.undispute", "batch.dispute"]
    assert events[1]["actor"] == "reviewer" and events[1]["detail"]["reason"] == "货主申诉"
    missing = client.post("/api/batches/1/dispute", json={}, headers=reviewer)
    assert missing.status_code == 422
