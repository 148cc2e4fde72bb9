"""The recording API as a reviewer meets it: batch footage, camera footage, chain verification, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from recorder.api import recording_router
from recorder.index import SegmentIndex
from recorder.linking import BatchLinker
from recorder.models import GapReason, Segment, StreamKind
from tests.recorder.test_linking import T0, add_batch, add_bay, add_camera, record
from vms.api.app import build_api
from vms.context import CoreServices
from vms.db.models import AuditEvent, Role


def bearer(core: CoreServices, username: str, role: Role) -> dict[str, str]:
    core.auth.create_user(username, "correct-horse-1", role)
    return {"Authorization": f"Bearer {core.auth.login(username, 'correct-horse-1').token}"}


@pytest.fixture
def client(core: CoreServices) -> Iterator[TestClient]:
    with TestClient(build_api(core, [recording_router()])) as c:
        yield c


def test_batch_footage_lists_ranges_segments_and_gaps_per_camera(
    core: CoreServices, client: TestClient
) -> None:
    cam_a, cam_b = add_camera(core.db, "gate-1"), add_camera(core.db, "gate-2")
    bay = add_bay(core.db, [cam_a, cam_b])
    before = T0 - timedelta(minutes=10)
    record(core.db, cam_a, before, 30)  # 23:50-00:20 complete
    record(core.db, cam_b, before, 13)  # 23:50-00:03, then offline
    record(core.db, cam_b, T0 + timedelta(minutes=6), 14)  # 00:06-00:20
    SegmentIndex(core.db).record_gap(
        cam_b, StreamKind.MAIN, T0 + timedelta(minutes=3), T0 + timedelta(minutes=6), GapReason.CAMERA_OFFLINE
    )
    batch = add_batch(core.db, bay, T0 + timedelta(minutes=2), T0 + timedelta(minutes=8))
    BatchLinker(core.db, core.settings.recording.batch_margin_seconds).relink_batch(batch)  # 5 min
    headers = bearer(core, "li.na", Role.REVIEWER)

    r = client.get(f"/api/batches/{batch}/footage", headers=headers)

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["window"] == {"start": "2025-03-01T08:02:00+08:00", "end": "2025-03-01T08:08:00+08:00"}
    assert body["footage_window"] == {
        "start": "2025-03-01T07:57:00+08:00",
        "end": "2025-03-01T08:13:00+08:00",
    }
    a, b = body["cameras"]
    assert (a["camera_code"], b["camera_code"]) == ("gate-1", "gate-2")
    assert a["ranges"] == [
        {"start": "2025-03-01T07:57:00+08:00", "end": "2025-03-01T08:13:00+08:00", "seconds": 960.0}
    ]
    assert len(a["segments"]) == 16 and a["gaps"] == []
    assert set(a["segments"][0]) == {"id", "start", "end", "size_bytes", "sha256", "legal_hold"}
    assert b["gaps"] == [
        {"start": "2025-03-01T08:03:00+08:00", "end": "2025-03-01T08:06:00+08:00", "reason": "camera_offline"}
    ]
    assert b["recorded_seconds"] == 780.0
    with core.db.sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "view")).one()
    assert (event.actor, event.object_type, event.object_id) == ("li.na", "batch", str(batch))


def test_camera_footage_by_id_or_code_and_bad_times(core: CoreServices, client: TestClient) -> None:
    cam = add_camera(core.db, "quay-7")
    record(core.db, cam, T0, 5)
    headers = bearer(core, "li.na", Role.REVIEWER)
    params = {"start": "2025-03-01T00:01:30Z", "end": "2025-03-01T08:10:00+08:00"}

    by_code = client.get("/api/cameras/quay-7/footage", params=params, headers=headers).json()
    by_id = client.get(f"/api/cameras/{cam}/footage", params=params, headers=headers).json()

    assert by_code == by_id
    assert [s["start"] for s in by_code["segments"]] == [
        "2025-03-01T08:01:00+08:00",
        "2025-03-01T08:02:00+08:00",
        "2025-03-01T08:03:00+08:00",
        "2025-03-01T08:04:00+08:00",
    ]
    assert by_code["ranges"] == [
        {"start": "2025-03-01T08:01:30+08:00", "end": "2025-03-01T08:05:00+08:00", "seconds": 210.0}
    ]
    assert by_code["gaps"] == [
        {"start": "2025-03-01T08:05:00+08:00", "end": "2025-03-01T08:10:00+08:00", "reason": "not_recorded"}
    ]
    # a '+' the client forgot to encode arrives as a space and is still understood
    unencoded = client.get(
        "/api/cameras/quay-7/footage?start=2025-03-01T08:01:30+08:00&end=2025-03-01T08:10:00+08:00",
        headers=headers,
    )
    assert unencoded.json() == by_code

    cases = [
        ({"start": "yesterday", "end": params["end"]}, "start: 'yesterday' is not a time"),
        ({"start": "2025-03-01T08:00:00", "end": params["end"]}, "has no time zone offset"),
        ({"start": params["end"], "end": params["start"]}, "end must be after start"),
        ({"start": "2025-03-01T00:00:00Z", "end": "2025-03-03T00:00:00Z"}, "at most 24 hours"),
        ({"start": params["start"]}, "end: field required"),
    ]
    for query, message in cases:
        r = client.get("/api/cameras/quay-7/footage", params=query, headers=headers)
        assert r.status_code == 422 and message in r.json()["detail"], (query, r.json())
    missing = client.get("/api/cameras/nope/footage", params=params, headers=headers)
    assert missing.status_code == 404 and missing.json() == {
        "error": "not_found",
        "detail": "camera 'nope' not found",
    }
    inspector = bearer(core, "zhao.lei", Role.INSPECTOR)
    assert client.get("/api/cameras/quay-7/footage", params=params, headers=inspector).status_code == 403


def test_missing_batch_and_chain_verification(core: CoreServices, client: TestClient) -> None:
    cam = add_camera(core.db, "quay-8")
    segments = record(core.db, cam, T0, 4)
    headers = bearer(core, "li.na", Role.REVIEWER)
    assert client.get("/api/batches/999/footage", headers=headers).status_code == 404

    ok = client.get("/api/cameras/quay-8/recording/verify", headers=headers).json()
    assert ok == {
        "camera_id": cam,
        "camera_code": "quay-8",
        "ok": True,
        "checked": 4,
        "first_broken_segment_id": None,
        "problem": "",
    }
    with core.db.session() as s:  # someone edits a row behind the VMS's back
        s.execute(update(Segment).where(Segment.id == segments[2].id).values(size_bytes=1))
    broken = client.get("/api/cameras/quay-8/recording/verify", headers=headers).json()
    assert broken["ok"] is False and broken["first_broken_segment_id"] == segments[2].id
    assert "altered" in broken["problem"]
