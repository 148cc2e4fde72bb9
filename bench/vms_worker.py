"""The yard-vms side of ``bench.ingest``, run in its own process so that its rusage is clean.

    python -m bench.vms_worker CONFIG.json RESULT.json

CONFIG: {"cameras": [{"code": ..., "url": ...}], "seconds": 60, "segment_seconds": 10,
"workdir": DIR, "upload": null | {"endpoint", "access_key", "secret_key", "bucket"}}.

It records every camera with the real path (CameraSource -> StreamHub -> Recorder: fMP4 segments in a spool,
then, with ``upload``, into S3 and the SQLite segment index). Without ``upload`` the Recorder's uploader is
never started, so segments stay in the spool (a local-disk-only run, like ffmpeg's). It prints ``STARTED``
when the measured window begins and ``STOPPED`` when it ends, and writes what it measured to RESULT.json.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.hub import StreamHub
from ingest.source import CameraSource
from ingest.status import SourceState
from recorder.models import Segment
from recorder.service import Recorder, RecorderHooks
from vms.config import RecordingConfig
from vms.db import Database
from vms.db.models import Camera
from vms.storage import ObjectStore

SAMPLE_EVERY_S = 5.0
SPOOL_MAX_BYTES = 256 * 1024**3  # never evict during a benchmark
log = logging.getLogger("bench.vms_worker")


@dataclass
class _Collected:
    uploaded: list[dict[str, Any]] = field(default_factory=list)
    storage_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def segment_uploaded(self, segment: Segment, latency_s: float) -> None:
        row = {
            "camera_id": segment.camera_id,
            "object_key": segment.object_key,
            "duration_s": segment.duration_s,
            "size_bytes": segment.size_bytes,
            "latency_s": round(latency_s, 3),
        }
        with self.lock:
            self.uploaded.append(row)

    def storage_error(self, error: Exception) -> None:
        with self.lock:
            self.storage_errors.append(repr(error)[:300])


def _cpu_s() -> tuple[float, float, int]:
    """(user s, system s, context switches) of this process so far, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime, usage.ru_nvcsw + usage.ru_nivcsw


def run(config: dict[str, Any]) -> dict[str, Any]:
    workdir = Path(config["workdir"])
    seconds = float(config["seconds"])
    upload = config.get("upload")
    db = Database(f"sqlite:///{workdir / 'vms.sqlite3'}")
    db.migrate()
    ids: dict[str, int] = {}
    with db.session() as session:
        for camera in config["cameras"]:
            row = Camera(code=camera["code"], main_url=camera["url"])
            session.add(row)
            session.flush()
            ids[camera["code"]] = row.id
    if upload:
        store = ObjectStore(upload["endpoint"], upload["access_key"], upload["secret_key"])
        store.ensure_bucket(upload["bucket"])
        bucket = upload["bucket"]
    else:  # never contacted: the uploader is not started
        store, bucket = ObjectStore("127.0.0.1:9", "unused", "unused-secret"), "unused"
    collected = _Collected()
    recorder = Recorder(
        db=db,
        store=store,
        bucket=bucket,
        spool_dir=workdir / "spool",
        config=RecordingConfig(segment_seconds=config["segment_seconds"], spool_max_bytes=SPOOL_MAX_BYTES),
        hooks=RecorderHooks(
            segment_uploaded=collected.segment_uploaded, storage_error=collected.storage_error
        ),
    )
    if upload:
        recorder.start()

    user0, sys0, switches0 = _cpu_s()
    wall0 = time.monotonic()
    started_at = time.time()
    print("STARTED", flush=True)
    hubs: dict[str, StreamHub] = {}
    sources: dict[str, CameraSource] = {}
    for camera in config["cameras"]:
        code = camera["code"]
        hub = hubs[code] = StreamHub(code)
        recorder.add_camera(ids[code], code, hub)
        source = sources[code] = CameraSource(
            code, camera["url"], hub, use_lean_client=config.get("lean_client", True)
        )
        source.start()

    samples: list[dict[str, Any]] = []
    deadline = wall0 + seconds
    next_sample = wall0 + SAMPLE_EVERY_S
    while (now := time.monotonic()) < deadline:
        time.sleep(max(0.0, min(next_sample, deadline) - now))
        if time.monotonic() >= next_sample:
            next_sample += SAMPLE_EVERY_S
            samples.append(_sample(wall0, sources, hubs, recorder))
    stop_requested = time.monotonic()
    stopped_at = time.time()
    readers: dict[str, int] = {}
    for source in sources.values():
        reader = source.status().reader or "none"
        readers[reader] = readers.get(reader, 0) + 1
    for source in sources.values():
        source.stop()
    hub_stats = {code: [asdict_stats(s) for s in hub.subscription_stats()] for code, hub in hubs.items()}
    recorder.stop(drain_timeout=300)
    user1, sys1, switches1 = _cpu_s()
    wall1 = time.monotonic()
    print("STOPPED", flush=True)

    pending = recorder.spool.pending()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    by_id = {camera_id: code for code, camera_id in ids.items()}
    for entry in collected.uploaded:
        entry["camera"] = by_id.get(entry["camera_id"], "?")
    db.dispose()
    return {
        "started_at": started_at,
        "stopped_at": stopped_at,
        "record_s": stop_requested - wall0,
        "window_s": wall1 - wall0,
        "cpu_user_s": user1 - user0,
        "cpu_sys_s": sys1 - sys0,
        "context_switches": switches1 - switches0,
        "readers": readers,
        "process_cpu_total_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_kb": usage.ru_maxrss,
        "samples": samples,
        "hub_stats": hub_stats,
        "uploaded": collected.uploaded,
        "storage_errors": collected.storage_errors,
        "pending_in_spool": len(pending),
        "spool_dir": str(workdir / "spool"),
    }


def asdict_stats(stats: Any) -> dict[str, Any]:
    return {
        "name": stats.name,
        "queued_packets": stats.queued_packets,
        "delivered_packets": stats.delivered_packets,
        "dropped_packets": stats.dropped_packets,
        "gaps": stats.gaps,
    }


def _sample(
    wall0: float, sources: dict[str, CameraSource], hubs: dict[str, StreamHub], recorder: Recorder
) -> dict[str, Any]:
    fps: dict[str, float] = {}
    online = 0
    for code, source in sources.items():
        status = source.status()
        fps[code] = status.fps
        online += status.state is SourceState.ONLINE
    queued = max(
        (stats.queued_packets for hub in hubs.values() for stats in hub.subscription_stats()), default=0
    )
    return {
        "t": round(time.monotonic() - wall0, 1),
        "online": online,
        "fps": fps,
        "max_queued_packets": queued,
        "spool_pending": len(recorder.spool.pending()),
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = json.loads(Path(sys.argv[1]).read_text())
    result = run(config)
    Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
