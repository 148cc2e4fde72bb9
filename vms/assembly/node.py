"""A running yard-vms node: storage, core services, the camera fleet, the recorder and background jobs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from evidence import holds as evidence_holds
from evidence import retention as evidence_retention
from evidence.uploads import upload_service
from ingest.status import SourceState
from recorder.alerts import OfflineAlerter
from recorder.holds import LegalHolds, install_hooks
from recorder.linking import BatchLinker
from recorder.metrics import CameraStatus, RecorderMetrics, recorder_hooks
from recorder.models import StreamKind
from recorder.retention import RetentionSweeper
from recorder.segment_files import SpooledSegment
from recorder.service import Recorder
from viewer.webrtc.hubs import STREAM_HUBS_PROVIDER
from vms.assembly.fleet import CameraFleet, CameraStreams
from vms.assembly.storage import NodeStorage
from vms.config import Settings
from vms.context import CoreServices
from vms.yard.config_sync import sync_config
from vms.yard.hooks import CAMERA_CHANGED, hook_list

log = logging.getLogger("vms.node")

RETENTION_INTERVAL_S = 3600.0
ALERT_INTERVAL_S = 5.0


class YardNode:
    """Everything one ``vms serve`` runs, started and stopped in order."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.storage = NodeStorage(settings)
        self._stop = threading.Event()
        self._jobs: list[threading.Thread] = []
        self.core: CoreServices | None = None
        self.fleet: CameraFleet | None = None
        self.recorder: Recorder | None = None
        self.metrics: RecorderMetrics | None = None
        self.linker: BatchLinker | None = None

    def start(self) -> CoreServices:
        Path(self.settings.data_dir).mkdir(parents=True, exist_ok=True)
        store = self.storage.start()
        core = self.core = CoreServices.create(self.settings, store)
        report = sync_config(core)
        log.info("configuration applied: %s", report)

        fleet = self.fleet = CameraFleet(core)
        core.providers["camera_status"] = fleet.status_of
        core.providers[STREAM_HUBS_PROVIDER] = fleet.hub_of
        metrics = self.metrics = RecorderMetrics(lambda: _camera_statuses(fleet))
        linker = self.linker = BatchLinker(core.db, self.settings.recording.batch_margin_seconds)
        install_hooks(core.providers, linker, LegalHolds(core.db, store, core.audit))
        hook_list(core.providers, CAMERA_CHANGED).append(fleet.sync)

        hooks = recorder_hooks(metrics, self._camera_code, on_segment=linker.link_segment)
        count_eviction = hooks.segment_evicted
        hooks.segment_evicted = lambda spooled: self._segment_evicted(spooled, count_eviction)
        recorder = self.recorder = Recorder(
            db=core.db,
            store=store,
            bucket=self.settings.storage.recordings_bucket,
            spool_dir=Path(self.settings.data_dir) / "spool",
            config=self.settings.recording,
            is_linked=linker.is_linked,
            hooks=hooks,
        )
        recovery = recorder.start()
        log.info("spool recovered: %s", recovery)
        fleet.on_added.append(
            lambda streams: _ignore(recorder.add_camera(streams.camera_id, streams.code, streams.main))
        )
        fleet.on_removed.append(lambda streams: recorder.remove_camera(streams.camera_id, StreamKind.MAIN))
        fleet.sync_all()

        evidence_holds.register(core)
        uploads = upload_service(core)
        sweeper = RetentionSweeper(core.db, store, core.audit, self.settings.recording)
        alerter = OfflineAlerter(core.db, core.audit, self.settings.recording.offline_alert_seconds)
        self._every(RETENTION_INTERVAL_S, "retention", lambda: sweeper.sweep())
        self._every(RETENTION_INTERVAL_S, "evidence-retention", lambda: evidence_retention.sweep(core))
        self._every(RETENTION_INTERVAL_S, "expired-uploads", uploads.sweep_expired)
        self._every(ALERT_INTERVAL_S, "offline-alerts", lambda: alerter.check(_camera_statuses(fleet)))
        return core

    def _camera_code(self, camera_id: int) -> str:
        streams = self.fleet.get(camera_id) if self.fleet is not None else None
        return streams.code if streams is not None else str(camera_id)

    def _segment_evicted(
        self, spooled: SpooledSegment, count: Callable[[SpooledSegment], None] | None
    ) -> None:
        """A full spool dropped footage before upload: counted, and written to the audit log."""
        if count is not None:
            count(spooled)
        if self.core is not None:
            header = spooled.header
            self.core.audit.record(
                "system:recorder",
                "spool_evicted",
                object_type="camera",
                object_id=header.camera_code,
                detail={"start": header.start_at, "end": spooled.end_at, "bytes": spooled.size_bytes},
            )

    def _every(self, seconds: float, name: str, job: Callable[[], object]) -> None:
        def loop() -> None:
            while not self._stop.wait(seconds):
                try:
                    job()
                except Exception:
                    log.exception("background job %s failed", name)

        thread = threading.Thread(target=loop, name=f"job-{name}", daemon=True)
        thread.start()
        self._jobs.append(thread)

    def stop(self) -> None:
        self._stop.set()
        if self.fleet is not None:
            self.fleet.stop()
        if self.recorder is not None:
            self.recorder.stop()
        for job in self._jobs:
            job.join(timeout=5)
        if self.core is not None:
            self.core.db.dispose()
        self.storage.stop()


def _camera_statuses(fleet: CameraFleet) -> list[CameraStatus]:
    out = []
    for camera_id, status in fleet.statuses().items():
        streams = fleet.get(camera_id)
        online = status.state is SourceState.ONLINE
        out.append(
            CameraStatus(
                camera_id=camera_id,
                code=streams.code if streams else str(camera_id),
                online=online,
                fps=status.fps,
                bitrate_bps=status.bitrate_bps,
                reconnects=status.reconnect_count,
                offline_since=None if online else datetime.fromtimestamp(status.since, UTC),
            )
        )
    return out


def _ignore(_: object) -> None:
    return None


__all__ = ["CameraStreams", "YardNode"]
