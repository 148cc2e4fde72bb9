"""The issue's "done when": a 2 GB body-cam video uploads through the real HTTP server and the CLI's tus
client with bounded memory, and is stored byte for byte."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from evidence.api import evidence_routers
from evidence.tus_client import TusUploader, file_sha256
from tests.evidence.conftest import build_world
from tests.evidence.live_server import serving
from tests.evidence.media import ffmpeg
from vms.api.app import build_api
from vms.config import Settings
from vms.context import CoreServices
from vms.storage import ObjectStore

TWO_GB = 2 * 1024**3
MEMORY_GROWTH_LIMIT = 150 * 1024**2


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class PeakRss:
    """Samples this process's resident memory while running."""

    def __init__(self) -> None:
        self.baseline = _rss()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, _rss())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak - self.baseline


def _two_gigabyte_mp4(target: Path) -> None:
    """A valid MP4 of just over 2 GB: a short lossless clip repeated without re-encoding."""
    seed = target.with_name("seed.mp4")
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=25",
        "-t",
        "4",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "0",
        "-g",
        "25",
        str(seed),
    )
    loops = TWO_GB // seed.stat().st_size + 1
    ffmpeg("-stream_loop", str(loops), "-i", str(seed), "-c", "copy", str(target))
    seed.unlink()


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_two_gigabyte_upload_with_bounded_memory(
    settings_factory: Callable[..., Settings],
    object_store: ObjectStore,
    new_bucket_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    video = tmp_path / "VID_20261126_080000.mp4"
    _two_gigabyte_mp4(video)
    assert video.stat().st_size > TWO_GB
    bucket = new_bucket_name("ev")
    object_store.ensure_bucket(bucket, object_lock=True)
    settings = settings_factory(
        database={"url": f"sqlite:///{tmp_path / 'big.sqlite3'}"},
        storage={"evidence_bucket": bucket},
        evidence={"max_upload_bytes": 3 * 1024**3},
    )
    core = CoreServices.create(settings, store=object_store)
    app = build_api(core, extra_routers=evidence_routers())
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        world = build_world(core, client)
    expected = file_sha256(video)
    with serving(app) as url:
        uploader = TusUploader(url, world.as_("li.na"), chunk_size=256 * 1024**2)
        memory = PeakRss()
        started = time.monotonic()
        result = uploader.upload(video, "查验-001")
        growth = memory.stop()
        uploader.close()
    print(f"2 GB upload: {time.monotonic() - started:.0f} s, peak RSS growth {growth / 1024**2:.0f} MiB")
    assert result.outcome == "uploaded", result.message
    assert growth < MEMORY_GROWTH_LIMIT
    with TestClient(app) as client:
        item = client.get(f"/api/evidence/{result.item_id}", headers=world.as_("reviewer")).json()
    assert item["sha256"] == expected and item["size_bytes"] == video.stat().st_size
    stored = hashlib.sha256()
    with object_store.open_read(bucket, item["object_key"], version_id=item["version_id"]) as reader:
        for block in reader:
            stored.update(block)
    assert stored.hexdigest() == expected
    assert list((Path(settings.data_dir) / "evidence-staging").iterdir()) == []
    core.db.dispose()
