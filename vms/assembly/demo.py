"""``vms demo``: a whole node with embedded defaults, simulated cameras and sample inspection batches."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from vms.config import Settings
from vms.context import CoreServices
from vms.db import utcnow
from vms.db.models import Role, User
from vms.demo.simcam import CameraSpec, SimulatedCameraServer
from vms.yard.actor import Actor
from vms.yard.batch_schema import BatchFields
from vms.yard.batches import BatchService

log = logging.getLogger("vms.demo")

DEMO_SITE = "YARD1"
DEMO_BATCH_IN_PROGRESS = "CN2026-0001"
DEMO_USERS = [
    ("admin", "admin-demo", Role.ADMIN, "系统管理员"),
    ("operator", "operator-demo", Role.OPERATOR, "指挥中心值班员"),
    ("manager", "manager-demo", Role.MANAGER, "科长 王强"),
    ("reviewer", "reviewer-demo", Role.REVIEWER, "复核员 陈静"),
    ("li.na", "inspector-demo", Role.INSPECTOR, "查验员 李娜"),
    ("auditor", "auditor-demo", Role.AUDITOR, "审计员 赵敏"),
]


def demo_cameras(count: int) -> list[CameraSpec]:
    return [
        CameraSpec(
            mount=f"/bay{i // 2 + 1}-cam{i % 2 + 1}",
            width=640,
            height=360,
            fps=25,
            bitrate_kbps=600,
            keyframe_interval=50,
            clock_overlay=True,
        )
        for i in range(count)
    ]


def demo_settings(settings: Settings, server: SimulatedCameraServer) -> Settings:
    """The yard of the demo: one site, a bay per two cameras, the simulated cameras."""
    cameras = []
    bays: dict[str, list[str]] = {}
    for i, spec in enumerate(server.cameras):
        bay = f"B{i // 2 + 1:02d}"
        code = f"{bay}-C{i % 2 + 1}"
        cameras.append(
            {
                "code": code,
                "name": f"{bay} 号查验位 {'北' if i % 2 == 0 else '南'}侧",
                "site": DEMO_SITE,
                "main_url": server.url(spec.mount),
            }
        )
        bays.setdefault(bay, []).append(code)
    sites = [
        {
            "code": DEMO_SITE,
            "name": "一号查验场",
            "bays": [{"code": bay, "name": f"{bay} 查验位", "cameras": codes} for bay, codes in bays.items()],
        }
    ]
    data = settings.model_dump(mode="json")
    data.update(sites=sites, cameras=cameras)
    return Settings.model_validate(data)


def seed_demo_data(core: CoreServices) -> None:
    """Users (one per role) and batches around now; does nothing to what exists already."""
    with core.db.sessions() as s:
        existing = set(s.execute(select(User.username)).scalars())
    for username, password, role, display in DEMO_USERS:
        if username not in existing:
            core.auth.create_user(username, password, role, display)
    now = utcnow()
    service = BatchService(core, Actor("demo", "demo"))
    samples = [
        (
            DEMO_BATCH_IN_PROGRESS,
            "B01",
            now - timedelta(minutes=10),
            now + timedelta(minutes=50),
            "in_progress",
            "冷冻虾仁 1200 箱",
            ["MSKU1234565"],
        ),
        (
            "CN2026-0002",
            "B02",
            now + timedelta(hours=1),
            now + timedelta(hours=2),
            "planned",
            "电子元器件 (集成电路) 80 箱",
            ["TGHU7654321"],
        ),
        (
            "查验-2026-0003",
            "B01",
            now - timedelta(hours=3),
            now - timedelta(hours=2),
            "completed",
            "服装 纺织品 300 件",
            ["CSQU3054383"],
        ),
    ]
    for number, bay, start, end, status, goods, containers in samples:
        fields = BatchFields.model_validate(
            {
                "declaration_no": f"5300{abs(hash(number)) % 10**14:014d}",
                "containers": containers,
                "goods": goods,
                "site": DEMO_SITE,
                "bay": bay,
                "planned_start": start,
                "planned_end": end,
                "actual_start": start if status != "planned" else None,
                "actual_end": end if status == "completed" else None,
                "status": status,
                "inspectors": ["li.na"],
            }
        )
        try:
            service.upsert(number, fields)
        except Exception as exc:  # a sample that does not fit an edited demo database is not fatal
            log.warning("demo batch %s not created: %s", number, exc)


def seed_bodycam_clip(core: CoreServices, batch_number: str, workdir: Path) -> None:
    """A body-cam clip of the batch in progress, as li.na's docking station would upload it, so that the
    batch review page has a body-cam lane. Made with ffmpeg; skipped (with a log line) if that fails."""
    from evidence.batch_access import batch_by_number
    from evidence.intake import Uploaded, accept

    recorded = (utcnow() - timedelta(minutes=3)).astimezone(core.settings.zone)
    path = workdir / f"VID_{recorded:%Y%m%d_%H%M%S}.mp4"
    command = [
        "ffmpeg",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=25",
        "-t",
        "30",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-profile:v",
        "main",
        "-bf",
        "0",
        "-g",
        "50",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        str(path),
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        with core.db.sessions() as s:
            batch = batch_by_number(s, core.settings, batch_number)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        upload = Uploaded(
            path=path,
            filename=path.name,
            sha256=digest,
            size=path.stat().st_size,
            batch=batch,
            uploader="li.na",
            client="demo",
        )
        accept(core, upload)
    except Exception as exc:  # the demo still shows everything else
        log.warning("demo body-cam clip not added: %s", exc)


def run_demo(settings: Settings, cameras: int = 4) -> None:
    from vms.app import create_app, run_http
    from vms.assembly.node import YardNode

    with SimulatedCameraServer(demo_cameras(cameras)) as server:
        node = YardNode(demo_settings(settings, server))
        try:
            core = node.start()
            seed_demo_data(core)
            with tempfile.TemporaryDirectory() as workdir:
                seed_bodycam_clip(core, DEMO_BATCH_IN_PROGRESS, Path(workdir))
            url = f"http://{settings.http.host}:{settings.http.port}"
            print(f"\nyard-vms demo: {cameras} simulated cameras recording into {settings.data_dir}")
            print(f"  open {url}/  and sign in as admin / admin-demo (API docs: {url}/docs)")
            print(
                "  other demo users: operator, manager, reviewer, li.na (inspector), auditor;"
                " passwords are <role>-demo"
            )
            print("  stop with Ctrl-C\n", flush=True)
            run_http(create_app(core, node.metrics), settings.http.host, settings.http.port, "warning")
        finally:
            node.stop()
