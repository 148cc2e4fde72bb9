"""WHEP live view over real HTTP with a real aiortc client: a real simulated camera's H.264 reaches the
viewer untouched and decodes; the camera's profile is negotiated; H.265 and offline cameras say so; roles
and the audit log are respected; every viewer shares the one camera connection."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import av
import httpx
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from sqlalchemy import select

from tests.fixtures.cameras import CameraFactory
from viewer.webrtc.codecs import answered_profile_level_id, profile_level_id_from_sps, register_h264_profiles
from viewer.webrtc.h264 import ParameterSets
from vms.db.models import AuditEvent, Role

if TYPE_CHECKING:
    from tests.viewer.conftest import LiveNodeFactory

FRAMES = 10
T = TypeVar("T")


def in_own_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test in a thread with its own event loop: the browser tests keep a sync Playwright
    (and with it an event loop) open in the main thread for the whole session."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, test(*args, **kwargs)).result(timeout=110)

    return run


@dataclass
class Viewer:
    pc: RTCPeerConnection
    answer: str
    location: str
    stream: str
    track: asyncio.Future[MediaStreamTrack]
    decoded: int = 0
    rtp_times: list[int] = field(default_factory=list)

    async def frames(self, count: int, timeout: float = 20.0) -> list[av.VideoFrame]:
        track = await asyncio.wait_for(self.track, timeout)
        out: list[av.VideoFrame] = []
        async with asyncio.timeout(timeout):
            while len(out) < count:
                frame = await track.recv()
                assert isinstance(frame, av.VideoFrame)
                out.append(frame)
                self.decoded += 1
                self.rtp_times.append(frame.pts or 0)
        return out


@contextlib.asynccontextmanager
async def viewer(url: str, headers: dict[str, str]) -> AsyncIterator[Viewer]:
    """A browser stand-in: offers to receive video, POSTs the offer to ``url``, DELETEs the session after."""
    register_h264_profiles()  # offer Main/High too, as browsers do
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def _on_track(received: MediaStreamTrack) -> None:
        if not track.done():
            track.set_result(received)

    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            url, content=pc.localDescription.sdp, headers={**headers, "Content-Type": "application/sdp"}
        )
        assert response.status_code == 201, response.text
        assert response.headers["content-type"].startswith("application/sdp")
        await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
        location = str(httpx.URL(url).join(response.headers["location"]))
        try:
            yield Viewer(pc, response.text, location, response.headers["x-vms-stream"], track)
        finally:
            await http.delete(location, headers=headers)
            await pc.close()


@in_own_loop
async def test_a_viewer_decodes_the_cameras_picture_and_the_view_is_audited(
    live_node_factory: LiveNodeFactory, camera_factory: CameraFactory
) -> None:
    camera = camera_factory(width=320, height=240, keyframe_interval=50)
    node = live_node_factory({"gate-1": (camera.url(), None)})
    node.wait_for_picture("gate-1")
    operator = node.headers(Role.OPERATOR)

    async with viewer(node.whep_url("gate-1"), operator) as view:
        frames = await view.frames(FRAMES)
        assert {(f.width, f.height) for f in frames} == {(320, 240)}
        assert view.stream == "main"
        assert len(node.registry) == 1
        session = node.registry.sessions()[0]
        assert session.track.stats.keyframes_sent >= 1  # started from the cached GOP's keyframe

    with node.core.db.sessions() as s:
        views = list(s.execute(select(AuditEvent).where(AuditEvent.action == "view")).scalars())
    assert len(views) == 1
    assert views[0].actor == "operator"
    assert views[0].object_type == "camera" and views[0].object_id == str(node.camera_ids["gate-1"])
    assert views[0].client == "127.0.0.1"
    assert views[0].detail["stream"] == "main"
    await _until(lambda: len(node.registry) == 0, "the session to close after DELETE")
    assert len(node.hub("gate-1").subscription_stats()) == 0


@in_own_loop
async def test_the_cameras_high_profile_is_negotiated_and_sps_pps_reach_the_viewer(
    live_node_factory: LiveNodeFactory, camera_factory: CameraFactory
) -> None:
    # High profile, SPS/PPS announced in the SDP (keyframe repair itself is covered in test_webrtc_units).
    camera = camera_factory(profile="high", sps_pps_in_band=False, width=352, height=288)
    node = live_node_factory({"gate-2": (camera.url(), None)})
    node.wait_for_picture("gate-2")
    description = node.hub("gate-2").description
    assert description is not None
    camera_plid = profile_level_id_from_sps(ParameterSets.from_extradata(description.video.extradata).sps)
    assert camera_plid is not None and camera_plid.startswith("64")

    async with viewer(node.whep_url("gate-2"), node.headers(Role.MANAGER)) as view:
        assert answered_profile_level_id(view.answer) == camera_plid
        frames = await view.frames(FRAMES)
        assert {(f.width, f.height) for f in frames} == {(352, 288)}
        session = node.registry.sessions()[0]
        assert session.codec.exact and session.codec.profile_name == "High"


@in_own_loop
async def test_wall_tiles_get_the_sub_stream_and_all_viewers_share_the_camera_connection(
    live_node_factory: LiveNodeFactory, camera_factory: CameraFactory
) -> None:
    main = camera_factory(mount="/main", width=480, height=272)
    sub = camera_factory(mount="/sub", width=240, height=136)
    node = live_node_factory({"yard-3": (main.url(), sub.url())})
    node.wait_for_picture("yard-3", "main")
    node.wait_for_picture("yard-3", "sub")
    operator = node.headers(Role.OPERATOR)

    async with (
        viewer(node.whep_url("yard-3", "sub"), operator) as tile_a,
        viewer(node.whep_url("yard-3", "sub"), node.headers(Role.MANAGER)) as tile_b,
        viewer(node.whep_url("yard-3", "main"), operator) as full_screen,
    ):
        tiles = await asyncio.gather(tile_a.frames(FRAMES), tile_b.frames(FRAMES))
        big = await full_screen.frames(FRAMES)
        assert (tile_a.stream, tile_b.stream, full_screen.stream) == ("sub", "sub", "main")
        assert {(f.width, f.height) for frames in tiles for f in frames} == {(240, 136)}
        assert {(f.width, f.height) for f in big} == {(480, 272)}
        # One source per camera stream; every viewer is a subscriber of its hub.
        assert len(node.sources) == 2
        assert len(node.hub("yard-3", "sub").subscription_stats()) == 2
        assert len(node.hub("yard-3", "main").subscription_stats()) == 1


@in_own_loop
async def test_h265_offline_and_unknown_cameras_get_clear_errors(
    live_node_factory: LiveNodeFactory, camera_factory: CameraFactory
) -> None:
    hevc = camera_factory(codec="h265")
    node = live_node_factory({"hevc-1": (hevc.url(), None), "dead-1": ("rtsp://127.0.0.1:9/nothing", None)})
    node.wait_for_picture("hevc-1")
    operator = {**node.headers(Role.OPERATOR), "Content-Type": "application/sdp"}
    offer = await _offer_sdp()
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(node.whep_url("hevc-1"), content=offer, headers=operator)
        assert response.status_code == 422
        body = response.json()
        assert body["error"] == "unsupported_codec"
        assert "H.265" in body["detail"] and "browser" in body["detail"]

        response = await http.post(node.whep_url("dead-1"), content=offer, headers=operator)
        assert response.status_code == 503
        assert "camera" in response.json()["detail"]

        response = await http.post(f"{node.base_url}/api/cameras/999/whep", content=offer, headers=operator)
        assert response.status_code == 404

        response = await http.post(
            node.whep_url("hevc-1"), content=offer, headers={**operator, "Content-Type": "text/plain"}
        )
        assert response.status_code == 415
    assert len(node.registry) == 0
    assert len(node.hub("hevc-1").subscription_stats()) == 0


@in_own_loop
async def test_only_roles_with_live_view_may_watch_and_only_the_owner_may_end_a_view(
    live_node_factory: LiveNodeFactory, camera_factory: CameraFactory
) -> None:
    camera = camera_factory()
    node = live_node_factory({"gate-4": (camera.url(), None)})
    node.wait_for_picture("gate-4")
    offer = await _offer_sdp()
    sdp = {"Content-Type": "application/sdp"}
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(node.whep_url("gate-4"), content=offer, headers=sdp)
        assert response.status_code == 401
        inspector = {**node.headers(Role.INSPECTOR), **sdp}
        response = await http.post(node.whep_url("gate-4"), content=offer, headers=inspector)
        assert response.status_code == 403
        operator = {**node.headers(Role.OPERATOR), **sdp}
        response = await http.post(node.whep_url("gate-4"), content=offer, headers=operator)
        assert response.status_code == 201, response.text
        location = f"{node.base_url}{response.headers['location']}"

        manager = node.headers(Role.MANAGER)
        assert (await http.delete(location, headers=manager)).status_code == 404
        assert len(node.registry) == 1
        assert (await http.delete(location, headers=node.headers(Role.OPERATOR))).status_code == 200
        assert len(node.registry) == 0
        assert (await http.delete(location, headers=node.headers(Role.OPERATOR))).status_code == 404


async def _offer_sdp() -> str:
    register_h264_profiles()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def _until(predicate: object, what: str, timeout: float = 10.0) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)
    del what


pytestmark = pytest.mark.timeout(120)


@in_own_loop
async def test_the_picture_continues_after_the_camera_reconnects_and_a_vanished_viewer_is_cleaned_up(
    live_node_factory: LiveNodeFactory, camera_factory: CameraFactory
) -> None:
    camera = camera_factory(width=320, height=240)
    node = live_node_factory({"gate-5": (camera.url(), None)})
    node.wait_for_picture("gate-5")
    hub = node.hub("gate-5")
    view_cm = viewer(node.whep_url("gate-5"), node.headers(Role.OPERATOR))
    view = await view_cm.__aenter__()
    try:
        await view.frames(FRAMES)
        first_epoch = hub.description.epoch if hub.description else 0
        camera.stop()  # the camera restarts: a new RTSP connection, new timestamps, a new hub epoch
        await _until(lambda: not hub.live, "the camera to drop", timeout=15)
        camera.start()
        await _until(
            lambda: hub.live and hub.description is not None and hub.description.epoch > first_epoch,
            "the camera to come back",
            timeout=20,
        )
        stats = node.registry.sessions()[0].track.stats
        sent_before_reconnect = stats.packets_sent
        while view.decoded <= sent_before_reconnect + FRAMES:  # frames of the new connection decoded
            frames = await view.frames(1)
            assert (frames[0].width, frames[0].height) == (320, 240)
        assert stats.epochs == 2
        steps = [(b - a) % 2**32 for a, b in zip(view.rtp_times, view.rtp_times[1:], strict=False)]
        assert all(0 < step < 2**31 for step in steps), "RTP time went backwards across the reconnect"
        # The browser goes away without DELETE (tab closed): the server closes the session by itself.
        await view.pc.close()
        await _until(lambda: len(node.registry) == 0, "the vanished viewer's session to close", timeout=40)
        assert hub.subscription_stats() == []
    finally:
        await view_cm.__aexit__(None, None, None)
