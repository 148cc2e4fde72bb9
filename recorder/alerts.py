"""Camera offline alerts: raised when a camera stays offline too long, cleared when it is back.

:meth:`OfflineAlerter.check` is called periodically by the assembly with the cameras' statuses. Each
raise and clear is an :class:`~vms.db.models.Alert` row change plus an audit event (actor
``system:alerts``). Messages are English; the UI translates by ``kind``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select

from recorder.metrics import CameraStatus
from vms.audit import AuditLog
from vms.db import Database, utcnow
from vms.db.models import Alert

log = logging.getLogger("recorder.alerts")

CAMERA_OFFLINE = "camera_offline"
ALERTS_ACTOR = "system:alerts"


class OfflineAlerter:
    """Turns camera statuses into ``camera_offline`` alerts."""

    def __init__(self, db: Database, audit: AuditLog, offline_alert_seconds: float) -> None:
        self._db = db
        self._audit = audit
        self._threshold = timedelta(seconds=offline_alert_seconds)
        self._first_seen_offline: dict[int, datetime] = {}

    def check(self, statuses: Iterable[CameraStatus], now: datetime | None = None) -> None:
        """Raise alerts for cameras offline longer than the threshold; clear those that are back online."""
        now = now or utcnow()
        statuses = list(statuses)
        with self._db.sessions() as s:
            open_alerts = {
                a.camera_id: a
                for a in s.scalars(
                    select(Alert).where(Alert.kind == CAMERA_OFFLINE, Alert.cleared_at.is_(None))
                )
            }
        for status in statuses:
            alert = open_alerts.get(status.camera_id)
            if status.online:
                self._first_seen_offline.pop(status.camera_id, None)
                if alert is not None:
                    self._clear(alert, status, now)
                continue
            since = status.offline_since or self._first_seen_offline.setdefault(status.camera_id, now)
            if alert is None and now - since >= self._threshold:
                self._raise(status, since, now)

    def _raise(self, status: CameraStatus, since: datetime, now: datetime) -> None:
        minutes = (now - since).total_seconds() / 60
        message = (
            f"Camera {status.code} has been offline since {since.isoformat(timespec='seconds')} "
            f"({minutes:.0f} min): no video is being recorded from it."
        )
        with self._db.session() as s:
            alert = Alert(kind=CAMERA_OFFLINE, camera_id=status.camera_id, message=message, raised_at=now)
            s.add(alert)
            s.flush()
            alert_id = alert.id
        log.warning("%s", message)
        self._audit.record(
            ALERTS_ACTOR,
            "alert_raised",
            object_type="camera",
            object_id=status.code,
            detail={"alert_id": alert_id, "kind": CAMERA_OFFLINE, "offline_since": since.isoformat()},
        )

    def _clear(self, alert: Alert, status: CameraStatus, now: datetime) -> None:
        with self._db.session() as s:
            row = s.get(Alert, alert.id)
            if row is None or row.cleared_at is not None:
                return
            row.cleared_at = now
        self._audit.record(
            ALERTS_ACTOR,
            "alert_cleared",
            object_type="camera",
            object_id=status.code,
            detail={"alert_id": alert.id, "kind": CAMERA_OFFLINE},
        )
