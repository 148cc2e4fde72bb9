"""Offline alerts: raised once after the threshold, cleared when the camera is back, listed by the API."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from recorder.alerts import OfflineAlerter
from recorder.api import recording_router
from recorder.metrics import CameraStatus
from tests.recorder.test_linking import T0, add_camera
from tests.recorder.test_recording_api import bearer
from vms.api.app import build_api
from vms.context import CoreServices
from vms.db.models import Alert, AuditEvent, Role


def test_offline_alert_is_raised_once_and_cleared(core: CoreServices) -> None:
    cam = add_camera(core.db, "gate-9")
    alerter = OfflineAlerter(core.db, core.audit, core.settings.recording.offline_alert_seconds)  # 60 s
    offline = CameraStatus(cam, "gate-9", online=False, offline_since=T0)

    alerter.check([offline], T0 + timedelta(seconds=30))  # not long enough yet
    with core.db.sessions() as s:
        assert s.scalars(select(Alert)).all() == []
    alerter.check([offline], T0 + timedelta(seconds=90))
    alerter.check([offline], T0 + timedelta(seconds=150))  # still offline: no second alert

    headers = bearer(core, "wang.fang", Role.OPERATOR)
    with TestClient(build_api(core, [recording_router()])) as client:
        (active,) = client.get("/api/alerts", params={"active": True}, headers=headers).json()
        assert active["kind"] == "camera_offline" and active["camera_code"] == "gate-9"
        assert active["active"] is True and active["raised_at"] == "2025-03-01T08:01:30+08:00"
        assert "gate-9" in active["message"] and "offline" in active["message"]

        alerter.check([CameraStatus(cam, "gate-9", online=True, fps=25)], T0 + timedelta(minutes=5))

        assert client.get("/api/alerts", params={"active": True}, headers=headers).json() == []
        (cleared,) = client.get("/api/alerts", headers=headers).json()
        assert cleared["cleared_at"] == "2025-03-01T08:05:00+08:00" and cleared["active"] is False
        inspector = bearer(core, "zhao.lei", Role.INSPECTOR)
        assert client.get("/api/alerts", headers=inspector).status_code == 403
    with core.db.sessions() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.actor == "system:alerts")))
    assert actions == ["alert_raised", "alert_cleared"]


def test_offline_time_counted_from_first_report_without_offline_since(core: CoreServices) -> None:
    cam = add_camera(core.db, "gate-10")
    alerter = OfflineAlerter(core.db, core.audit, 60)
    down = CameraStatus(cam, "gate-10", online=False)
    alerter.check([down], T0)
    alerter.check([down], T0 + timedelta(seconds=59))
    with core.db.sessions() as s:
        assert s.scalars(select(Alert)).all() == []
    alerter.check([down], T0 + timedelta(seconds=61))
    with core.db.sessions() as s:
        assert len(s.scalars(select(Alert)).all()) == 1
