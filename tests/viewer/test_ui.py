"""The web UI in real headless Chromium against a whole node (simulated cameras, recorder, live view).

Users sign in through the form; the live wall decodes WebRTC video in every tile (getStats framesDecoded
grows), a camera stopped and started again comes back in its tile on its own, full screen switches a tile
to the main stream, layouts are kept per user, an inspector is told the wall is not for them, the desk
viewer shows a bay's cameras from the tree, and the Chinese UI renders (a screenshot is kept in tmp_path).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from fastapi import APIRouter
from playwright.sync_api import Page, expect

from tests.fixtures.seaweed import SEAWEED_ACCESS_KEY, SEAWEED_SECRET_KEY
from viewer.routes import viewer_routers
from vms.api.app import build_api
from vms.app import part_routers
from vms.assembly.node import YardNode
from vms.config import load_settings
from vms.db import utcnow
from vms.db.models import Role
from vms.demo.simcam import CameraSpec, SimulatedCamera, SimulatedCameraServer
from vms.storage import EmbeddedSeaweed
from vms.yard.actor import Actor
from vms.yard.batch_schema import BatchFields
from vms.yard.batches import BatchService

# The session's Chromium; harmless once tests/conftest.py registers the plugin too.

PASSWORD = "correct-horse-9"
USERS = [
    ("op", Role.OPERATOR, "值班员 张伟"),
    ("op2", Role.OPERATOR, "值班员 刘洋"),
    ("boss", Role.MANAGER, "科长 王强"),
    ("insp", Role.INSPECTOR, "查验员 李娜"),
]
ZONE = "Asia/Shanghai"
# Small, cheap streams: 2 cores are shared by everything in CI.
SPEC = CameraSpec(width=320, height=240, fps=15, bitrate_kbps=200, keyframe_interval=15)
BATCH_NUMBER = "查验-UI-0001"
LIVE_WAIT_MS = 45_000


@dataclass
class Yard:
    url: str
    node: YardNode
    cameras: SimulatedCameraServer  # A (with a sub stream), B, C, D
    lone: SimulatedCamera  # E, on its own server: stopped and restarted by a test
    ids: dict[str, int]
    batch_end: Any


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # pragma: no cover - uvicorn < 0.29
        pass


def _with_live_view(routers: list[APIRouter], node: YardNode) -> list[APIRouter]:
    """The part routers plus the viewer's and live view's, until the assembly includes them itself."""
    for router in viewer_routers():
        if router not in routers:
            routers.append(router)
    if not any(getattr(r, "path", "").endswith("/whep") for router in routers for r in router.routes):
        from viewer.webrtc.api import webrtc_router

        routers.append(webrtc_router())
    from viewer.webrtc.hubs import STREAM_HUBS_PROVIDER

    def hubs(camera_id: int, stream: str) -> Any:
        streams = node.fleet.get(camera_id) if node.fleet is not None else None
        if streams is None:
            return None
        return streams.main if stream == "main" else streams.sub

    assert node.core is not None
    node.core.providers.setdefault(STREAM_HUBS_PROVIDER, hubs)
    return routers


@pytest.fixture(scope="module")
def yard(seaweed: EmbeddedSeaweed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Yard]:
    specs = [replace(SPEC, mount=m) for m in ("/a", "/a-sub", "/b", "/c", "/d")]
    server = SimulatedCameraServer(cameras=specs).start()
    lone = SimulatedCamera(replace(SPEC, mount="/e")).start()
    data = tmp_path_factory.mktemp("ui-node")
    suffix = data.name.replace("_", "-").lower()[-12:]
    cams = [
        {
            "code": "A",
            "name": "北门 1 号",
            "site": "Y1",
            "main_url": server.url("/a"),
            "sub_url": server.url("/a-sub"),
        },
        {"code": "B", "name": "北门 2 号", "site": "Y1", "main_url": server.url("/b")},
        {"code": "C", "name": "南侧 查验台", "site": "Y1", "main_url": server.url("/c")},
        {"code": "D", "name": "南侧 叉车通道", "site": "Y1", "main_url": server.url("/d")},
        {"code": "E", "name": "东门 卡口", "site": "Y1", "main_url": lone.url()},
    ]
    settings = load_settings(
        None,
        data_dir=str(data),
        timezone=ZONE,
        default_language="zh",
        storage={
            "endpoint": seaweed.endpoint,
            "access_key": SEAWEED_ACCESS_KEY,
            "secret_key": SEAWEED_SECRET_KEY,
            "recordings_bucket": f"ui-rec-{suffix}",
            "evidence_bucket": f"ui-evi-{suffix}",
        },
        sites=[
            {
                "code": "Y1",
                "name": "一号查验场",
                "bays": [
                    {"code": "B01", "name": "一号查验位", "cameras": ["A", "B"]},
                    {"code": "B02", "name": "二号查验位", "cameras": ["C", "D", "E"]},
                ],
            }
        ],
        cameras=cams,
    )
    node = YardNode(settings)
    core = node.start()
    for name, role, display in USERS:
        core.auth.create_user(name, PASSWORD, role, display)
    now = utcnow()
    end = now + timedelta(hours=1)
    BatchService(core, Actor("test")).upsert(
        BATCH_NUMBER,
        BatchFields.model_validate(
            {
                "site": "Y1",
                "bay": "B01",
                "goods": "冷冻带鱼 800 箱",
                "containers": ["MSKU1234565"],
                "planned_start": now - timedelta(minutes=5),
                "planned_end": end,
                "actual_start": now - timedelta(minutes=5),
                "status": "in_progress",
                "inspectors": ["insp"],
            }
        ),
    )
    app = build_api(core, extra_routers=_with_live_view(part_routers(node.metrics), node))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    http = _Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=http.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not http.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the HTTP server did not start"
        time.sleep(0.05)
    from sqlalchemy import select

    from vms.db.models import Camera

    with core.db.sessions() as s:
        ids = {code: cid for cid, code in s.execute(select(Camera.id, Camera.code))}
    try:
        yield Yard(f"http://127.0.0.1:{port}", node, server, lone, ids, end)
    finally:
        http.should_exit = True
        thread.join(timeout=15)
        node.stop()
        lone.close()
        server.close()


# --- helpers -----------------------------------------------------------------------------------------------


def sign_in(page: Page, yard: Yard, user: str, path: str = "/") -> None:
    """Open ``path`` signed out (the sign-in page comes), sign in through the form, land where it leads."""
    page.goto(yard.url + path)
    expect(page.locator("#login")).to_be_visible()
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#signin")
    page.wait_for_url(re.compile(r"/ui/(?!login)"))


def tile(page: Page, camera_id: int) -> Any:
    return page.locator(f'.tile[data-camera-id="{camera_id}"]')


def wait_live_and_growing(page: Page, selector: str, timeout: float = LIVE_WAIT_MS) -> None:
    """Every tile matching ``selector`` is live and decodes more frames than a moment ago."""
    page.wait_for_function(
        """sel => { const ts = [...document.querySelectorAll(sel)];
                   return ts.length > 0
                     && ts.every(t => t.dataset.status === 'live' && +t.dataset.connFrames > 0); }""",
        arg=selector,
        timeout=timeout,
    )
    before = page.eval_on_selector_all(selector, "ts => ts.map(t => +t.dataset.frames)")
    page.wait_for_function(
        """([sel, before]) => [...document.querySelectorAll(sel)]
             .every((t, i) => +t.dataset.frames > before[i] + 5)""",
        arg=[selector, before],
        timeout=timeout,
    )
    sizes = page.eval_on_selector_all(selector, "ts => ts.map(t => t.querySelector('video').videoWidth)")
    assert all(w > 0 for w in sizes), sizes


def real_errors(page: Page) -> list[str]:
    """Console errors other than the expected failed requests (401 before sign-in, 503 while offline)."""
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    return [e for e in errors if "Failed to load resource" not in e]


# --- tests -------------------------------------------------------------------------------------------------


def test_sign_in_and_out_through_the_form(yard: Yard, page: Page) -> None:
    page.goto(yard.url + "/")
    expect(page).to_have_url(re.compile(r"/ui/login\.html"))
    page.fill("#username", "op")
    page.fill("#password", "wrong-password-1")
    page.click("#signin")
    expect(page.locator("#login-error")).to_contain_text("登录失败")

    page.fill("#password", PASSWORD)
    page.click("#signin")
    expect(page).to_have_url(re.compile(r"/ui/wall\.html"))  # an operator's home is the live wall
    expect(page.locator("#who")).to_have_text("值班员 张伟 · 指挥中心值班员")
    page.click("#logout")
    expect(page).to_have_url(re.compile(r"/ui/login\.html"))
    page.goto(yard.url + "/ui/wall.html")  # signed out: back to the sign-in page, then back to the wall
    expect(page).to_have_url(re.compile(r"/ui/login\.html\?next="))
    page.fill("#username", "op")
    page.fill("#password", PASSWORD)
    page.click("#signin")
    expect(page).to_have_url(yard.url + "/ui/wall.html")

    page.click("#logout")
    expect(page).to_have_url(re.compile(r"/ui/login\.html"))
    page.goto(yard.url + "/ui/login.html?next=//elsewhere.example/x")  # only pages of this site
    page.fill("#username", "op")
    page.fill("#password", PASSWORD)
    page.click("#signin")
    expect(page).to_have_url(yard.url + "/ui/wall.html")
    assert real_errors(page) == []


def test_a_four_tile_wall_decodes_video_in_every_tile(yard: Yard, page: Page) -> None:
    sign_in(page, yard, "op")
    page.click('#grid-buttons button[data-grid="4"]')
    tiles = page.locator("#grid .tile")
    expect(tiles).to_have_count(4)

    # A first wall shows the first cameras; empty it, then put the cameras into the tiles (pick a tile,
    # then a camera in the list).
    for index in range(4):
        if tiles.nth(index).get_attribute("data-camera-id"):
            tiles.nth(index).locator(".tile-clear").click()
        expect(tiles.nth(index)).to_have_attribute("data-status", "empty")
    expect(tiles.first.locator(".tile-empty")).to_have_text("空闲画面 — 选择摄像机")
    for index, code in enumerate("ABCD"):
        tiles.nth(index).click()
        page.click(f'#camera-list li[data-code="{code}"]')
        expect(tiles.nth(index)).to_have_attribute("data-camera-id", str(yard.ids[code]))
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")

    wait_live_and_growing(page, "#grid .tile")
    a = tile(page, yard.ids["A"])
    expect(a.locator(".tile-name")).to_have_text("北门 1 号")
    expect(a.locator(".tile-bay")).to_have_text("一号查验场 / 一号查验位")
    expect(a.locator(".tile-status")).to_have_text("直播")
    end = yard.batch_end.astimezone(ZoneInfo(ZONE)).strftime("%H:%M:%S")  # shown in the yard's time zone
    expect(a.locator(".tile-batch")).to_have_text(f"正在查验: {BATCH_NUMBER} · 冷冻带鱼 800 箱 · 至 {end}")
    expect(tile(page, yard.ids["C"]).locator(".tile-batch")).to_have_text("当前无查验")

    # The layout is the user's: it comes back after a reload and is not another operator's.
    page.reload()
    expect(page.locator("#grid .tile")).to_have_count(4)
    ids = page.eval_on_selector_all("#grid .tile", "ts => ts.map(t => +t.dataset.cameraId)")
    assert ids == [yard.ids[c] for c in "ABCD"]
    saved = page.request.get(yard.url + "/api/viewer/layouts").json()["items"]
    assert [(x["grid"], [t["camera_id"] for t in x["tiles"]]) for x in saved] == [(4, ids)]
    assert real_errors(page) == []


def test_full_screen_plays_the_main_stream(yard: Yard, page: Page) -> None:
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/whep" in r.url else None)
    sign_in(page, yard, "boss", f"/ui/desk.html#cams={yard.ids['A']}")
    a = tile(page, yard.ids["A"])
    wait_live_and_growing(page, f'.tile[data-camera-id="{yard.ids["A"]}"]')
    assert any(u.endswith(f"/api/cameras/{yard.ids['A']}/whep?stream=sub") for u in posts), posts

    a.locator(".tile-fs").click()
    page.wait_for_function(
        "() => document.fullscreenElement && document.fullscreenElement.classList.contains('tile')"
    )
    wait_live_and_growing(page, f'.tile[data-camera-id="{yard.ids["A"]}"]')
    assert posts[-1].endswith(f"/api/cameras/{yard.ids['A']}/whep?stream=main"), posts
    page.keyboard.press("Escape")


def test_a_camera_stopped_and_started_again_comes_back_in_its_tile(
    yard: Yard, page: Page, tmp_path: Path
) -> None:
    sign_in(page, yard, "op2")
    page.click('#grid-buttons button[data-grid="1"]')
    only = page.locator("#grid .tile")
    expect(only).to_have_count(1)
    only.click()
    page.click('#camera-list li[data-code="E"]')
    selector = f'.tile[data-camera-id="{yard.ids["E"]}"]'
    wait_live_and_growing(page, selector)

    yard.lone.stop()
    e = tile(page, yard.ids["E"])
    expect(e).to_have_attribute("data-status", re.compile("reconnecting|offline"), timeout=30_000)
    expect(e.locator(".tile-status")).to_have_text(re.compile("重连中|离线"))
    # the recorder notices too: the tile then says why
    expect(e).to_have_attribute("data-status", "offline", timeout=30_000)
    expect(e.locator(".tile-status")).to_contain_text("离线 · ")
    page.screenshot(path=str(tmp_path / "wall-offline.png"))

    yard.lone.start()
    wait_live_and_growing(page, selector, timeout=90_000)
    expect(e.locator(".tile-status")).to_have_text("直播")


def test_an_inspector_cannot_open_the_live_wall(yard: Yard, page: Page) -> None:
    sign_in(page, yard, "insp")
    expect(page).to_have_url(re.compile(r"/ui/upload\.html"))  # an inspector starts at body-cam upload
    expect(page.locator("nav")).not_to_contain_text("实时监控墙")
    page.goto(yard.url + "/ui/wall.html")
    expect(page.locator("#forbidden")).to_contain_text("您的角色（查验员）无权查看此页面。")
    expect(page.locator("video")).to_have_count(0)
    page.goto(yard.url + "/ui/desk.html")
    expect(page.locator("#forbidden")).to_be_visible()
    assert page.request.get(yard.url + "/api/viewer/layouts").status == 403


def test_the_chinese_ui_renders_in_the_desk_viewer(yard: Yard, page: Page, tmp_path: Path) -> None:
    sign_in(page, yard, "boss")
    expect(page).to_have_url(re.compile(r"/ui/desk\.html"))  # a manager's home is the desktop viewer
    expect(page.locator("nav")).to_have_text(re.compile("实时监控墙.*桌面查看.*系统状态"))
    tree = page.locator("#tree")
    expect(tree).to_contain_text("一号查验场")
    expect(tree).to_contain_text(f"正在查验 {BATCH_NUMBER}")

    tree.get_by_role("button", name="一号查验位").click()  # a bay: all its cameras
    expect(page.locator("#grid .tile")).to_have_count(2)
    wait_live_and_growing(page, "#grid .tile")
    expect(page.locator("#bay-info")).to_contain_text("冷冻带鱼 800 箱")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    expect(page.locator("#clock")).to_contain_text("场站时间")
    shot = tmp_path / "desk-zh.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    page.click("#lang")
    expect(page.locator("nav")).to_have_text(re.compile("Live wall.*Desk viewer.*System status"))
    expect(page.locator("#logout")).to_have_text("Sign out")
    expect(tile(page, yard.ids["A"]).locator(".tile-status")).to_have_text("Live")
    page.click("#lang")
    expect(page.locator("#logout")).to_have_text("退出")
    assert real_errors(page) == []
