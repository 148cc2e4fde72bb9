"""Replay over real HTTP and WebRTC with a real aiortc client that decodes every picture and reads the
frame number burnt into it (frame n was recorded at T0 + n/25 s): a seek shows the frame recorded at the
seek time; two cameras stay within a frame of each other; pause, step, speed and keyframes-only change
what is delivered; a recording gap sends nothing and says "gap"; body-cam videos play on the same clock;
roles and the audit log are respected."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from evidence.models import EvidenceKind
from recorder.segment_files import SpooledSegment
from tests.viewer.replay_client import Received, in_own_loop, replay_client, shown
from tests.viewer.replay_fixtures import (
    FPS,
    FRAME_S,
    GOP,
    T0,
    ReplayNodeFactory,
    bodycam_file,
    recorded_cameras,
    replay_node_factory,
)
from vms.db.models import AuditEvent, Role

__all__ = ["recorded_cameras", "replay_node_factory"]

YARD = "+08:00"


def at(seconds: float) -> str:
    """T0 + seconds in the yard's time zone, as the UI sends it."""
    return (T0 + timedelta(seconds=seconds)).astimezone(ZoneInfo("Asia/Shanghai")).isoformat()


def shown_at(seconds: float) -> str:
    """How state messages write T0 + seconds (yard time zone, milliseconds)."""
    return (
        (T0 + timedelta(seconds=seconds))
        .astimezone(ZoneInfo("Asia/Shanghai"))
        .isoformat(timespec="milliseconds")
    )


def after(frames: list[Received], moment: float) -> list[Received]:
    return [f for f in frames if f.arrived > moment]


@in_own_loop
async def test_a_seek_shows_the_frame_recorded_at_the_seek_time(
    replay_node_factory: ReplayNodeFactory, recorded_cameras: dict[str, list[SpooledSegment]]
) -> None:
    node = replay_node_factory()
    camera = node.add_camera("yard-a", recorded_cameras["yard-a"])
    lane = f"camera:{camera}"
    body = {"lanes": [{"camera_id": camera}], "start": at(12.321)}  # frame 308 (12.32-12.36 s); keyframe 300
    async with replay_client(node.base_url, node.headers(Role.MANAGER), body) as client:
        frames = await client.frames_of(lane, 30)
        assert (frames[0].width, frames[0].height) == (320, 240)
        # The decoder got keyframe 300 .. 307 one RTP tick apart, then 308: the first picture that stays
        # on screen is the one recorded at 12.321 s. (Playing, a frame stays on screen for the rest of its
        # frame period only: the seek times here leave it most of it, so it shows for a display refresh.)
        assert [f.number for f in frames[:9]] == list(range(300, 309))
        first_shown = shown(frames)[0]
        assert first_shown.number == 308
        assert [f.number for f in frames[8:30]] == list(range(308, 330))  # then every frame, in order

        mark = _now()
        client.send(cmd="seek", t=at(21.041), seq=1)  # frame 526 (21.04-21.08 s); keyframe 525
        seeked = await client.reply("seeked", 1)
        assert seeked["position"] == shown_at(21.041)
        await client.until(lambda: len(after(client.frames[lane], mark)) >= 12, "frames after the seek")
        later = [f for f in after(client.frames[lane], mark) if f.number >= 500]  # not those in flight
        assert shown(later)[0].number == 526
        before = max(f.rtp for f in client.frames[lane] if f.number < 500)
        assert later[0].number == 525 and later[0].rtp > before  # the RTP clock never goes back

        state = client.states[-1]
        assert state["lanes"][0]["state"] == "playing" and state["playing"] is True
        assert state["position"].endswith(YARD)


@in_own_loop
async def test_two_cameras_replay_within_one_frame_of_each_other(
    replay_node_factory: ReplayNodeFactory, recorded_cameras: dict[str, list[SpooledSegment]]
) -> None:
    node = replay_node_factory()
    a = node.add_camera("yard-a", recorded_cameras["yard-a"])
    b = node.add_camera("yard-b", recorded_cameras["yard-b"])
    body = {"lanes": [{"camera_id": a}, {"camera_id": b}], "start": at(5.481)}  # frame 137
    async with replay_client(node.base_url, node.headers(Role.REVIEWER), body) as client:
        lanes = client.created["video_lanes"]
        assert lanes == [f"camera:{a}", f"camera:{b}"]
        await client.frames_of(lanes[0], 80)
        await client.frames_of(lanes[1], 80)
        first = [shown(client.frames[lane])[0].number for lane in lanes]
        assert first == [137, 137]
        # For each lane: recording time minus arrival time, over the frames played at the clock's pace.
        # Both lanes follow the one clock: the typical difference is below one frame period.
        offsets = []
        for lane in lanes:
            paced = [f for f in client.frames[lane] if f.number > 140][:60]
            offsets.append(statistics.median(f.number * FRAME_S - f.arrived for f in paced))
        assert abs(offsets[0] - offsets[1]) <= FRAME_S, offsets
        positions = {x["frame_at"][:19] for x in client.states[-1]["lanes"]}
        assert len(positions) == 1  # the state message puts both lanes at the same second


@in_own_loop
async def test_pause_step_speed_and_keyframes_only_change_what_is_delivered(
    replay_node_factory: ReplayNodeFactory, recorded_cameras: dict[str, list[SpooledSegment]]
) -> None:
    node = replay_node_factory()
    camera = node.add_camera("yard-a", recorded_cameras["yard-a"])
    lane = f"camera:{camera}"
    body = {"lanes": [{"camera_id": camera}], "start": at(2.0), "paused": True}  # keyframe 50
    async with replay_client(node.base_url, node.headers(Role.MANAGER), body) as client:
        # (aiortc's receiver hands a frame over only when the next one arrives, so the client decodes
        # one frame behind while paused; the state message's frame_at is the picture a browser shows.)
        await client.until(lambda: client.lane_state(lane).get("frame_at") == shown_at(2.0), "frame 50")
        await asyncio.sleep(0.6)
        assert client.states[-1]["playing"] is False
        assert client.lane_state(lane).get("frame_at") == shown_at(2.0)  # paused: nothing more is sent

        client.send(cmd="step", frames=1, seq=1)
        await client.reply("ack", 1)
        client.send(cmd="step", frames=3, seq=2)
        await client.reply("ack", 2)
        await client.until(lambda: client.lane_state(lane).get("frame_at") == shown_at(2.16), "frame 54")
        frames = await client.frames_of(lane, 4)
        assert [f.number for f in frames] == [50, 51, 52, 53]  # 54 is on screen, the client holds it

        mark = _now()
        client.send(cmd="step", frames=-1, seq=3)  # back one frame: 53 again, decoded from keyframe 50
        await client.until(lambda: client.lane_state(lane).get("frame_at") == shown_at(2.12), "frame 53")
        await client.until(lambda: len(after(client.frames[lane], mark)) >= 4, "the step back")
        assert [f.number for f in after(client.frames[lane], mark)][:4] == [54, 50, 51, 52]
        assert client.states[-1]["playing"] is False

        mark = _now()
        client.send(cmd="speed", rate=2, seq=4)
        client.send(cmd="play", seq=5)
        await client.reply("ack", 5)
        await client.until(lambda: len(after(client.frames[lane], mark)) >= 60, "2x frames")
        fast = after(client.frames[lane], mark)[5:60]
        numbers = [f.number for f in fast]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # every frame at 2x
        ratio = (numbers[-1] - numbers[0]) * FRAME_S / (fast[-1].arrived - fast[0].arrived)
        assert 1.3 < ratio < 3.0, ratio  # recorded seconds per real second (coarse, loaded CI machine)

        mark = _now()
        client.send(cmd="speed", rate=8, seq=6)
        await client.reply("seeked", 6)
        await client.until(lambda: len(after(client.frames[lane], mark)) >= 6, "8x frames")
        received = [f.number for f in after(client.frames[lane], mark)]
        # Frames already in flight when the command arrived (more of them on a loaded machine) come first.
        first_key = next(i for i, n in enumerate(received) if n % GOP == 0)
        keyed = received[first_key:]
        assert len(keyed) >= 3 and all(n % GOP == 0 for n in keyed), received  # keyframes only
        state = client.states[-1]
        assert state["rate"] == 8 and state["keyframes_only"] is True

        client.send(cmd="fly", seq=7)
        error = await client.reply("error", 7)
        assert "unknown command" in error["message"]


@in_own_loop
async def test_a_recording_gap_sends_nothing_and_says_gap(
    replay_node_factory: ReplayNodeFactory, recorded_cameras: dict[str, list[SpooledSegment]]
) -> None:
    node = replay_node_factory()
    camera = node.add_camera("yard-a", recorded_cameras["yard-a"])  # recorded 0-40 s and 50-70 s
    lane = f"camera:{camera}"
    body = {"lanes": [{"camera_id": camera}], "start": at(39.0), "rate": 4}
    async with replay_client(node.base_url, node.headers(Role.MANAGER), body) as client:
        spans = client.created["lanes"][0]["spans"]
        assert (
            [(s["start"][:19], s["end"][:19]) for s in spans][:2]
            == [
                (at(30)[:19], at(40)[:19]),  # the recording known from the start on (segment of 30-40 s)
                (at(50)[:19], at(70)[:19]),
            ]
        )
        await client.until(
            lambda: any(f.number >= 50 * FPS + 10 for f in client.frames[lane]), "the footage after the gap"
        )
        numbers = [f.number for f in client.frames[lane]]
        assert numbers[: numbers.index(50 * FPS)] == list(range(39 * FPS, 40 * FPS))
        assert numbers.count(40 * FPS - 1) == 1  # the last picture before the gap is not repeated
        gap_states = [s["lanes"][0] for s in client.states if at(40)[:19] < s["position"][:19] < at(50)[:19]]
        assert gap_states, "no state message during the gap"
        assert {s["state"] for s in gap_states} == {"gap"}
        assert {s["next"][:19] for s in gap_states} == {at(50)[:19]}


@in_own_loop
async def test_body_cam_videos_play_on_the_same_clock_and_h265_is_reported(
    replay_node_factory: ReplayNodeFactory, recorded_cameras: dict[str, list[SpooledSegment]], tmp_path: Path
) -> None:
    node = replay_node_factory()
    camera = node.add_camera("yard-b", recorded_cameras["yard-b"])
    h264 = node.add_item("VID_0001.mp4", bodycam_file(tmp_path / "a.mp4", "h264"), T0 + timedelta(seconds=20))
    h265 = node.add_item("VID_0002.mp4", bodycam_file(tmp_path / "b.mp4", "hevc"), T0 + timedelta(seconds=20))
    photo = node.add_item("IMG_0003.mp4", bodycam_file(tmp_path / "c.mp4", "h264", 1), T0, EvidenceKind.PHOTO)
    manager = node.headers(Role.MANAGER)
    async with httpx.AsyncClient(base_url=node.base_url) as http:
        refused = await http.post(
            "/api/replay", json={"lanes": [{"evidence_item_id": photo}], "start": at(0)}, headers=manager
        )
        assert refused.status_code == 422 and "photo" in refused.json()["detail"]

    lanes = [{"camera_id": camera}, {"evidence_item_id": h264}, {"evidence_item_id": h265}]
    body = {"lanes": lanes, "start": at(19.0), "batch_id": 1}
    async with replay_client(node.base_url, manager, body) as client:
        created = {lane["id"]: lane for lane in client.created["lanes"]}
        assert created[f"evidence:{h265}"]["playable"] is False
        assert created[f"evidence:{h265}"]["state"] == "unsupported"
        assert "H.265" in created[f"evidence:{h265}"]["message"]
        assert client.created["video_lanes"] == [f"camera:{camera}", f"evidence:{h264}"]
        await client.until(lambda: bool(client.states), "a state message")
        early = client.lane_state(f"evidence:{h264}")
        assert early["state"] == "gap" and early["next"][:19] == at(20)[:19]  # before the body-cam started
        frames = await client.frames_of(f"evidence:{h264}", 20)
        assert {(f.width, f.height) for f in frames} == {(320, 240)}
        await client.until(
            lambda: client.lane_state(f"evidence:{h264}").get("state") == "playing",
            "the body-cam lane playing",
        )
        assert client.lane_state(f"evidence:{h265}")["state"] == "unsupported"
        camera_frames = [f for f in client.frames[f"camera:{camera}"] if f.arrived >= frames[0].arrived]
        assert camera_frames and camera_frames[0].number >= 20 * FPS - 2  # the camera was at 20 s too
    with node.core.db.sessions() as s:
        custody = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.replay")))
    assert {e.object_id for e in custody} == {str(h264), str(h265)}  # in each item's chain of custody


@in_own_loop
async def test_replay_is_authenticated_allowed_by_role_and_audited(
    replay_node_factory: ReplayNodeFactory, recorded_cameras: dict[str, list[SpooledSegment]]
) -> None:
    node = replay_node_factory()
    camera = node.add_camera("yard-a", recorded_cameras["yard-a"])
    body = {"lanes": [{"camera_id": camera}], "start": at(1), "batch_id": 7}
    async with httpx.AsyncClient(base_url=node.base_url) as http:
        assert (await http.post("/api/replay", json=body)).status_code == 401
        for role in (Role.INSPECTOR, Role.OPERATOR, Role.AUDITOR):
            assert (await http.post("/api/replay", json=body, headers=node.headers(role))).status_code == 403
        created = {}
        for role in (Role.MANAGER, Role.REVIEWER):
            response = await http.post("/api/replay", json=body, headers=node.headers(role))
            assert response.status_code == 201, response.text
            created[role] = response.json()
        # a session belongs to whoever opened it
        other = await http.delete(created[Role.MANAGER]["url"], headers=node.headers(Role.REVIEWER))
        assert other.status_code == 404
        state = await http.get(created[Role.MANAGER]["url"], headers=node.headers(Role.MANAGER))
        assert state.status_code == 200 and state.json()["lanes"][0]["id"] == f"camera:{camera}"
        few_lines = await http.post(
            created[Role.MANAGER]["whep"],
            content="v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
            headers={**node.headers(Role.MANAGER), "Content-Type": "application/sdp"},
        )
        assert few_lines.status_code == 400 and "video" in few_lines.json()["detail"]
        for role in (Role.MANAGER, Role.REVIEWER):
            await http.delete(created[role]["url"], headers=node.headers(role))
        missing = await http.post(
            "/api/replay", json={**body, "lanes": [{"camera_id": 999}]}, headers=node.headers(Role.MANAGER)
        )
        assert missing.status_code == 404
        bad_time = await http.post(
            "/api/replay", json={**body, "start": "2026-03-01 08:30"}, headers=node.headers(Role.MANAGER)
        )
        assert bad_time.status_code == 422 and "offset" in bad_time.json()["detail"]
    with node.core.db.sessions() as s:
        events = list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == "replay").order_by(AuditEvent.seq))
        )
    assert [e.actor for e in events] == ["manager", "reviewer"]
    assert events[0].object_type == "replay" and events[0].object_id == created[Role.MANAGER]["id"]
    assert events[0].client == "127.0.0.1"
    assert events[0].detail["lanes"] == [{"camera_id": camera, "camera_code": "yard-a"}]
    assert events[0].detail["start"] == at(1) and events[0].detail["batch_id"] == 7
    await asyncio.sleep(0)
    assert len(node.registry) == 0


def _now() -> float:
    return time.monotonic()
