"""A node for the batch search, review, upload and replay pages in the browser: core services on SQLite with
the session's real SeaweedFS (object-lock buckets), the yard from configuration (site Y1, bay B01 with
cameras ``yard-a`` and ``yard-b``), recorded footage of both cameras (numbered frames, see replay_fixtures)
indexed and linked to the batches like a camera's recording, users of each role, batches of two inspectors,
and every part's API plus the replay router, served by uvicorn on a free 127.0.0.1 port.

Footage: ``yard-a`` from T0 (08:30:00 yard time) to T0+40 s and T0+50 s to T0+70 s (a 10 s gap), ``yard-b``
from T0 to T0+40 s.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from evidence import holds as evidence_holds
from recorder.holds import LegalHolds, install_hooks
from recorder.index import NewSegment, SegmentIndex
from recorder.linking import BatchLinker
from recorder.models import StreamKind
from recorder.segment_files import SpooledSegment
from tests.fixtures.seaweed import SEAWEED_ACCESS_KEY, SEAWEED_SECRET_KEY
from tests.viewer.conftest import LOOPBACK_ONLY
from tests.viewer.replay_fixtures import T0, serve
from viewer.replay.api import replay_router
from vms.api.app import build_api
from vms.app import part_routers
from vms.config import load_settings
from vms.context import CoreServices
from vms.db.models import Camera, Role
from vms.storage import EmbeddedSeaweed
from vms.yard.actor import Actor
from vms.yard.batch_schema import BatchFields
from vms.yard.batches import BatchService
from vms.yard.config_sync import sync_config

PASSWORD = "correct-horse-9"
ZONE = "Asia/Shanghai"
USERS = [
    ("rev", Role.REVIEWER, "复核员 陈静"),
    ("boss", Role.MANAGER, "科长 王强"),
    ("li.na", Role.INSPECTOR, "查验员 李娜"),
    ("wang.wei", Role.INSPECTOR, "查验员 王伟"),
]
BATCH = "查验-R-0001"  # Y1/B01 around the footage, li.na's
OTHER = "查验-R-0002"  # Y1/B01 another day, wang.wei's
PLANNED = "CN-R-0003"  # Y1/B02, li.na's, planned


@dataclass
class ReviewYard:
    url: str
    core: CoreServices
    camera_ids: dict[str, int] = field(default_factory=dict)
    batch_ids: dict[str, int] = field(default_factory=dict)

    @contextlib.contextmanager
    def session(self, user: str) -> Iterator[httpx.Client]:
        """An HTTP client signed in as ``user`` (cookie session, like the browser)."""
        with httpx.Client(base_url=self.url, headers={"X-Requested-With": "vms"}, timeout=30) as client:
            r = client.post("/api/auth/login", json={"username": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            yield client

    def upload(self, user: str, batch: str, path: Path) -> int:
        """Upload a file over tus as ``user``; returns the evidence item id."""

        def b64(text: str) -> str:
            return base64.b64encode(text.encode()).decode()

        data = path.read_bytes()
        meta = f"filename {b64(path.name)},batch {b64(batch)},sha256 {b64(hashlib.sha256(data).hexdigest())}"
        tus = {"Tus-Resumable": "1.0.0"}
        with self.session(user) as http:
            r = http.post(
                "/api/evidence/uploads",
                headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": meta},
            )
            assert r.status_code == 201, r.text
            if "evidence-item-id" not in r.headers:
                r = http.patch(
                    r.headers["location"],
                    content=data,
                    headers={
                        **tus,
                        "Upload-Offset": "0",
                        "Content-Type": "application/offset+octet-stream",
                    },
                )
                assert r.status_code == 204, r.text
            return int(r.headers["evidence-item-id"])


def _batch(core: CoreServices, number: str, **fields: Any) -> int:
    view = BatchService(core, Actor("test")).upsert(number, BatchFields.model_validate(fields))
    result: Any = view[0] if isinstance(view, tuple) else view
    return int(result.id)


@contextlib.contextmanager
def review_yard(
    seaweed: EmbeddedSeaweed, root: Path, footage: dict[str, list[SpooledSegment]]
) -> Iterator[ReviewYard]:
    suffix = re.sub(r"[^a-z0-9]", "", root.name.lower())[-10:]
    recordings, evidence = f"rv-rec-{suffix}", f"rv-evi-{suffix}"
    settings = load_settings(
        None,
        data_dir=str(root / "data"),
        timezone=ZONE,
        default_language="zh",
        storage={
            "endpoint": seaweed.endpoint,
            "access_key": SEAWEED_ACCESS_KEY,
            "secret_key": SEAWEED_SECRET_KEY,
            "recordings_bucket": recordings,
            "evidence_bucket": evidence,
        },
        evidence={"max_upload_bytes": 50 * 1024 * 1024},
        sites=[
            {
                "code": "Y1",
                "name": "一号查验场",
                "bays": [
                    {"code": "B01", "name": "一号查验位", "cameras": ["yard-a", "yard-b"]},
                    {"code": "B02", "name": "二号查验位", "cameras": []},
                ],
            }
        ],
        cameras=[
            {"code": "yard-a", "name": "北门 1 号", "site": "Y1", "main_url": "rtsp://127.0.0.1:9/a"},
            {"code": "yard-b", "name": "北门 2 号", "site": "Y1", "main_url": "rtsp://127.0.0.1:9/b"},
        ],
    )
    store = seaweed.object_store()
    store.ensure_bucket(recordings, object_lock=True)
    store.ensure_bucket(evidence, object_lock=True)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    core = CoreServices.create(settings, store)
    sync_config(core)
    evidence_holds.register(core)
    linker = BatchLinker(core.db, settings.recording.batch_margin_seconds)
    install_hooks(core.providers, linker, LegalHolds(core.db, store, core.audit))
    for name, role, display in USERS:
        core.auth.create_user(name, PASSWORD, role, display)
    from sqlalchemy import select

    with core.db.sessions() as s:
        ids = {code: cid for cid, code in s.execute(select(Camera.id, Camera.code))}
    index = SegmentIndex(core.db)
    for code, segments in footage.items():
        for seg in segments:
            key = f"{ids[code]}/{seg.header.uid}.mp4"
            store.put_file(recordings, key, seg.media_path, content_type="video/mp4")
            index.insert_segment(
                NewSegment(
                    camera_id=ids[code],
                    stream=StreamKind.MAIN,
                    start_at=seg.start_at,
                    end_at=seg.end_at,
                    clock_source=seg.header.clock_source,
                    bucket=recordings,
                    object_key=key,
                    size_bytes=seg.size_bytes,
                    sha256=seg.sha256,
                    video_codec=seg.header.video_codec,
                    width=seg.header.width,
                    height=seg.header.height,
                )
            )
    yard = ReviewYard(url="", core=core, camera_ids=ids)
    common = {"site": "Y1", "goods": "冷冻带鱼 800 箱", "declaration_no": "422020260000123456"}
    yard.batch_ids[BATCH] = _batch(
        core,
        BATCH,
        **common,
        bay="B01",
        containers=["MSKU1234565"],
        planned_start=T0,
        planned_end=T0 + timedelta(seconds=80),
        actual_start=T0 + timedelta(seconds=5),
        actual_end=T0 + timedelta(seconds=65),
        status="completed",
        inspectors=["li.na"],
    )
    day_before = T0 - timedelta(days=1)
    yard.batch_ids[OTHER] = _batch(
        core,
        OTHER,
        site="Y1",
        bay="B01",
        goods="电子元器件 80 箱",
        declaration_no="422020260000999999",
        containers=["TGHU7654321"],
        planned_start=day_before,
        planned_end=day_before + timedelta(hours=1),
        status="planned",
        inspectors=["wang.wei"],
    )
    yard.batch_ids[PLANNED] = _batch(
        core,
        PLANNED,
        site="Y1",
        bay="B02",
        goods="服装 300 件",
        containers=["CSQU3054383"],
        planned_start=T0 + timedelta(days=2),
        planned_end=T0 + timedelta(days=2, hours=1),
        status="planned",
        inspectors=["li.na"],
    )
    app = build_api(core, extra_routers=[replay_router(LOOPBACK_ONLY), *part_routers()])
    server, thread, port = serve(app)
    yard.url = f"http://127.0.0.1:{port}"
    try:
        yield yard
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        core.db.dispose()


def sign_in(page: Page, yard: ReviewYard, user: str, path: str) -> None:
    """Open ``path`` signed out, sign in through the form, and land on ``path``."""
    page.goto(yard.url + path)
    expect(page.locator("#login")).to_be_visible()
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#signin")
    page.wait_for_url(re.compile(re.escape(path.split("?")[0])))


def yard_time(seconds: float) -> datetime:
    """T0 + seconds."""
    return T0 + timedelta(seconds=seconds)


def script_errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions other than failed requests (expected: 401 before sign-in, the
    live view of cameras that are not streaming, the refused upload)."""
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    return [e for e in errors if "Failed to load resource" not in e]
