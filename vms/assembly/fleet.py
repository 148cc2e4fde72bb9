"""The node's cameras: a stream hub and an RTSP source per camera stream, kept in step with the database."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ingest.hub import StreamHub
from ingest.source import CameraSource
from ingest.status import SourceStatus
from vms.context import CoreServices
from vms.db.models import Camera

log = logging.getLogger("vms.fleet")


@dataclass(frozen=True)
class CameraEndpoint:
    """What a source needs to connect; a change means the source must be restarted."""

    url: str
    username: str | None
    password: str | None


@dataclass
class CameraStreams:
    camera_id: int
    code: str
    main: StreamHub
    main_source: CameraSource
    main_endpoint: CameraEndpoint
    sub: StreamHub | None = None
    sub_source: CameraSource | None = None
    sub_endpoint: CameraEndpoint | None = None
    listeners: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for source in (self.main_source, self.sub_source):
            if source is not None:
                source.stop()
        for hub in (self.main, self.sub):
            if hub is not None:
                hub.close()


class CameraFleet:
    """Starts, restarts and stops camera sources as cameras are added, changed or removed.

    ``on_added(streams)`` / ``on_removed(streams)`` callbacks let the recorder follow the fleet.
    """

    def __init__(self, core: CoreServices) -> None:
        self._core = core
        self._lock = threading.Lock()
        self._cameras: dict[int, CameraStreams] = {}
        self.on_added: list[Callable[[CameraStreams], None]] = []
        self.on_removed: list[Callable[[CameraStreams], None]] = []

    def sync_all(self) -> None:
        with self._core.db.sessions() as s:
            ids = set(s.execute(select(Camera.id)).scalars())
        for camera_id in ids | set(self._cameras):
            self.sync(camera_id)

    def sync(self, camera_id: int) -> None:
        """Bring one camera's sources in line with its database row."""
        with self._core.db.sessions() as s:
            cam = s.get(Camera, camera_id)
            wanted = self._endpoints(cam) if cam is not None and cam.enabled else None
            code = cam.code if cam is not None else ""
        with self._lock:
            current = self._cameras.get(camera_id)
            if (
                current is not None
                and wanted is not None
                and wanted
                == (
                    current.main_endpoint,
                    current.sub_endpoint,
                )
            ):
                return
            if current is not None:
                del self._cameras[camera_id]
        if current is not None:
            for callback in self.on_removed:
                callback(current)
            current.stop()
        if wanted is None:
            return
        streams = self._start(camera_id, code, *wanted)
        with self._lock:
            self._cameras[camera_id] = streams
        for callback in self.on_added:
            callback(streams)

    def _endpoints(self, cam: Camera) -> tuple[CameraEndpoint, CameraEndpoint | None]:
        password = self._core.secrets.decrypt(cam.password_encrypted)
        main = CameraEndpoint(cam.main_url, cam.username, password)
        sub = CameraEndpoint(cam.sub_url, cam.username, password) if cam.sub_url else None
        return main, sub

    def _start(
        self, camera_id: int, code: str, main: CameraEndpoint, sub: CameraEndpoint | None
    ) -> CameraStreams:
        lean = self._core.settings.recording.rtsp_client == "lean"
        main_hub = StreamHub(f"{code}/main")
        main_source = CameraSource(
            f"{code}/main", main.url, main_hub, main.username, main.password, use_lean_client=lean
        )
        streams = CameraStreams(camera_id, code, main_hub, main_source, main)
        if sub is not None:
            streams.sub = StreamHub(f"{code}/sub")
            streams.sub_source = CameraSource(
                f"{code}/sub", sub.url, streams.sub, sub.username, sub.password, use_lean_client=lean
            )
            streams.sub_endpoint = sub
        main_source.start()
        if streams.sub_source is not None:
            streams.sub_source.start()
        log.info("camera %s: sources started", code)
        return streams

    def get(self, camera_id: int) -> CameraStreams | None:
        with self._lock:
            return self._cameras.get(camera_id)

    def hub_of(self, camera_id: int, stream: str) -> StreamHub | None:
        """The hub of a camera's ``main`` or ``sub`` stream (None: no such camera or stream)."""
        streams = self.get(camera_id)
        if streams is None:
            return None
        return streams.main if stream == "main" else streams.sub

    def statuses(self) -> dict[int, SourceStatus]:
        with self._lock:
            cams = list(self._cameras.values())
        return {c.camera_id: c.main_source.status() for c in cams}

    def status_of(self, camera_id: int) -> dict[str, Any] | None:
        """The API's view of a camera's live state (main stream, plus the sub stream if any)."""
        streams = self.get(camera_id)
        if streams is None:
            return None
        out = status_dict(streams.main_source.status())
        if streams.sub_source is not None:
            out["sub"] = status_dict(streams.sub_source.status())
        return out

    def stop(self) -> None:
        with self._lock:
            cams = list(self._cameras.values())
            self._cameras.clear()
        for streams in cams:
            for callback in self.on_removed:
                callback(streams)
            streams.stop()


def status_dict(status: SourceStatus) -> dict[str, Any]:
    out = dataclasses.asdict(status)
    out["state"] = status.state.value
    out["reason"] = status.reason.value if status.reason else None
    out["reason_message"] = status.message
    out["notes"] = list(status.notes)
    return out
