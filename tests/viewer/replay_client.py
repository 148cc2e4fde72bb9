"""A browser stand-in for replay tests: a real aiortc peer over real HTTP that decodes every lane's video,
reads the frame number each picture shows, and keeps the data channel's messages."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import av
import httpx
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from tests.viewer.replay_fixtures import read_number
from viewer.webrtc.codecs import register_h264_profiles


def in_own_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test in a thread with its own event loop (the browser tests keep a sync Playwright,
    and with it an event loop, in the main thread for the whole session)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, test(*args, **kwargs)).result(timeout=120)

    return run


VISIBLE_TICKS = 90000 // 60
"""A frame followed within less than this (one 60 Hz display refresh, in RTP ticks) is never on screen."""


@dataclass(frozen=True)
class Received:
    number: int
    rtp: int
    arrived: float
    width: int
    height: int


@dataclass
class ReplayClient:
    created: dict[str, Any]
    pc: RTCPeerConnection
    channel: RTCDataChannel
    frames: dict[str, list[Received]] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    answer: str = ""
    lane_mids: str = ""
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == "state"]

    def send(self, **command: Any) -> None:
        self.channel.send(json.dumps(command))

    async def until(self, predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)

    async def frames_of(self, lane: str, count: int, timeout: float = 20.0) -> list[Received]:
        await self.until(lambda: len(self.frames[lane]) >= count, f"{count} frames on {lane}", timeout)
        return self.frames[lane]

    async def reply(self, kind: str, seq: int, timeout: float = 20.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((m for m in self.messages if m.get("type") == kind and m.get("seq") == seq), None)

        await self.until(lambda: found() is not None, f"a {kind} reply to #{seq}", timeout)
        result = found()
        assert result is not None
        return result

    def lane_state(self, lane: str) -> dict[str, Any]:
        """The lane in the latest state message (empty before the first one)."""
        states = self.states
        return next((x for x in states[-1]["lanes"] if x["id"] == lane), {}) if states else {}


def shown(frames: list[Received]) -> list[Received]:
    """The frames a player keeps on screen for a visible time: those not followed at once (catch-up
    frames after a seek are sent one RTP tick apart, right before the frame of the seek time)."""
    out = [a for a, b in itertools.pairwise(frames) if b.rtp - a.rtp >= VISIBLE_TICKS]
    return out + frames[-1:]


@contextlib.asynccontextmanager
async def replay_client(
    base_url: str, headers: dict[str, str], body: dict[str, Any]
) -> AsyncIterator[ReplayClient]:
    register_h264_profiles()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        created = await http.post("/api/replay", json=body, headers=headers)
        assert created.status_code == 201, created.text
        info = created.json()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        for _ in info["video_lanes"]:
            pc.addTransceiver("video", direction="recvonly")
        channel = pc.createDataChannel("control")
        client = ReplayClient(info, pc, channel, frames={lane: [] for lane in info["video_lanes"]})

        @channel.on("message")
        def _on_message(message: str) -> None:
            client.messages.append(json.loads(message))

        tracks: dict[str, MediaStreamTrack] = {}

        @pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            transceiver = next(t for t in pc.getTransceivers() if t.receiver.track is track)
            tracks[str(transceiver.mid)] = track

        await pc.setLocalDescription(await pc.createOffer())
        answer = await http.post(
            info["whep"],
            content=pc.localDescription.sdp,
            headers={**headers, "Content-Type": "application/sdp"},
        )
        assert answer.status_code == 201, answer.text
        client.answer = answer.text
        client.lane_mids = answer.headers["x-vms-lanes"]
        await pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
        mids = dict(pair.split("=") for pair in client.lane_mids.split(","))
        await client.until(lambda: len(tracks) == len(mids), "the lanes' tracks")
        for lane, mid in mids.items():
            client._tasks.append(asyncio.ensure_future(_consume(tracks[mid], client.frames[lane])))
        await client.until(lambda: channel.readyState == "open", "the data channel")
        try:
            yield client
        finally:
            for task in client._tasks:
                task.cancel()
            await http.delete(info["url"], headers=headers)
            await pc.close()


async def _consume(track: MediaStreamTrack, out: list[Received]) -> None:
    with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
        while True:
            frame = await track.recv()
            assert isinstance(frame, av.VideoFrame)
            out.append(
                Received(read_number(frame), frame.pts or 0, time.monotonic(), frame.width, frame.height)
            )
