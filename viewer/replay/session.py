"""Replay sessions: several lanes (cameras, body-cam videos) on one playback clock, one peer connection
with a video track per lane and the browser's ``control`` data channel.

A session is created first (lanes resolved, nothing read yet), then negotiated with the browser's offer:
one recvonly video m-line per playable lane, in lane order, and a data channel. It then seeks to its
start and plays (or stays paused) under the browser's commands, sending a state message four times a
second. It ends on DELETE, when the peer connection fails or closes, when the browser never connects,
and on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InvalidStateError, OperationError
from aiortc.sdp import SessionDescription

from viewer.replay.clock import PlaybackClock
from viewer.replay.control import BadCommand, Command, parse_command, reply
from viewer.replay.lanes import ResolvedLane
from viewer.replay.reader import LaneReader
from viewer.replay.source import epoch, from_epoch
from viewer.replay.track import ReplayTrack
from viewer.webrtc.codecs import NegotiatedCodec, answer_with_profile, choose_codec, preferences
from viewer.webrtc.ice import rtc_configuration, use_host_addresses
from viewer.webrtc.settings import LiveSettings
from viewer.webrtc.signaling import SDP_ERRORS, InvalidOffer, add_trickle_candidates

log = logging.getLogger("viewer.replay")

CONTROL_CHANNEL = "control"
STATE_INTERVAL_S = 0.25
SEEK_READY_TIMEOUT_S = 5.0
"""After a seek, the clock waits at most this long (once connected) for slow lanes' first pictures."""
STEP_WAIT_S = 2.0


class SessionsFull(Exception):
    """The node has as many replay sessions as it allows."""


@dataclass(eq=False)
class Lane:
    resolved: ResolvedLane
    track: ReplayTrack | None = None
    mid: str | None = None
    codec: NegotiatedCodec | None = None

    @property
    def id(self) -> str:
        return self.resolved.id


@dataclass(eq=False)
class ReplaySession:
    id: str
    owner: str
    lanes: list[Lane]
    start: float
    zone: tzinfo
    clock: PlaybackClock
    pc: RTCPeerConnection | None = None
    answer_sdp: str = ""
    channel: RTCDataChannel | None = None
    created_at: float = field(default_factory=time.monotonic)
    connected_at: float | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set, repr=False)
    _seek_command: Command | None = field(default=None, repr=False)
    _ready: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    closed: bool = False

    @property
    def video_lanes(self) -> list[Lane]:
        return [lane for lane in self.lanes if lane.resolved.playable]

    # ---- negotiation -----------------------------------------------------------------------------------

    async def negotiate(self, offer_sdp: str, settings: LiveSettings) -> str:
        """Answer the browser's offer (one recvonly video m-line per playable lane, in order, and a data
        channel); raises InvalidOffer."""
        if self.pc is not None:
            raise InvalidOffer("this replay session is already connected; create a new one")
        video_lines, has_channel = _offer_shape(offer_sdp)
        wanted = len(self.video_lanes)
        if video_lines < wanted:
            raise InvalidOffer(
                f"the offer has {video_lines} video m-lines but this replay has {wanted} lanes with video: "
                "add one recvonly video transceiver per lane, in the order of video_lanes"
            )
        if not has_channel:
            raise InvalidOffer(f"the offer has no data channel: create one named {CONTROL_CHANNEL!r}")
        use_host_addresses(settings)
        pc = RTCPeerConnection(rtc_configuration(settings))
        self.pc = pc
        try:
            for lane in self.video_lanes:
                codec = choose_codec(offer_sdp, lane.resolved.profile_level_id)
                reader = LaneReader(lane.resolved.source, f"{self.id[:6]}/{lane.id}")
                lane.track = ReplayTrack(reader, self.clock, self._ready.set)
                lane.codec = codec
                sender = pc.addTrack(lane.track)
                transceiver = next(t for t in pc.getTransceivers() if t.sender is sender)
                transceiver.setCodecPreferences(preferences(codec))  # before the offer is applied
            self._watch_channel(pc)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
                await pc.setLocalDescription(await pc.createAnswer())
            except OperationError as exc:
                raise InvalidOffer(f"the offer cannot be answered: {exc}") from None
            for lane in self.video_lanes:
                transceiver = next(t for t in pc.getTransceivers() if t.sender.track is lane.track)
                lane.mid = transceiver.mid
            self.answer_sdp = _answer_with_lane_profiles(pc.localDescription.sdp, self.video_lanes)
        except SDP_ERRORS as exc:
            await self.close()
            raise InvalidOffer(f"the SDP offer is invalid: {exc or type(exc).__name__}") from None
        except BaseException:
            await self.close()
            raise
        self.seek(self.start)
        self._spawn(self._send_states())
        return self.answer_sdp

    async def add_candidates(self, sdp_fragment: str) -> None:
        """Trickle ICE: the browser's candidates from an ``application/trickle-ice-sdpfrag`` body."""
        if self.pc is None:
            raise InvalidOffer("send the offer first")
        await add_trickle_candidates(self.pc, sdp_fragment)

    # ---- commands --------------------------------------------------------------------------------------

    def seek(self, position: float, command: Command | None = None) -> None:
        generation = self.clock.seek(position)
        self._seek_command = command
        for lane in self.video_lanes:
            assert lane.track is not None
            lane.track.restart(position, generation)
        self._spawn(self._release_when_ready(generation))

    async def command(self, text: str | bytes) -> None:
        """Run one data channel message and answer it."""
        try:
            command = parse_command(text)
        except BadCommand as exc:
            self._send(
                reply("error", None, message=str(exc), **({} if exc.seq is None else {"seq": exc.seq}))
            )
            return
        try:
            await self._run(command)
        except (BadCommand, ValueError) as exc:
            self._send(reply("error", command, message=str(exc)))
            return
        if command.cmd != "seek":
            self._send(reply("ack", command))
        self._send(self.state_message())

    async def _run(self, command: Command) -> None:
        clock = self.clock
        if command.cmd == "play":
            clock.play()
        elif command.cmd == "pause":
            clock.pause()
        elif command.cmd == "seek":
            assert command.t is not None
            self.seek(epoch(command.t), command)
        elif command.cmd == "speed":
            assert command.rate is not None
            was_keyframes_only = clock.keyframes_only
            clock.set_rate(command.rate)
            if clock.keyframes_only != was_keyframes_only:
                self.seek(clock.position(), command)  # every frame <-> keyframes only: read again from here
        elif command.cmd == "step":
            await self._step(command.frames)

    async def _step(self, frames: int) -> None:
        self.clock.pause()
        if frames < 0:
            shown = [
                (lane.track.progress.shown_at, lane.track.progress.shown_duration)
                for lane in self.video_lanes
                if lane.track is not None and lane.track.progress.shown_at is not None
            ]
            if shown:
                at, duration = max(shown)
                self.seek(at - (abs(frames) - 1) * duration - 0.001)
            return
        for _ in range(frames):
            target = await self._next_pending()
            if target is None:
                return
            self.clock.step_to(target)
            await self._until_sent(target)

    async def _next_pending(self) -> float | None:
        deadline = time.monotonic() + STEP_WAIT_S
        while time.monotonic() < deadline:
            pending = [
                lane.track.progress.pending_send_at
                for lane in self.video_lanes
                if lane.track is not None and lane.track.progress.pending_send_at is not None
            ]
            if pending:
                return min(pending)
            if all(_finished(lane) for lane in self.video_lanes):
                return None
            await asyncio.sleep(0.01)
        return None

    async def _until_sent(self, target: float) -> None:
        deadline = time.monotonic() + STEP_WAIT_S
        while time.monotonic() < deadline:
            waiting = [
                lane
                for lane in self.video_lanes
                if lane.track is not None
                and lane.track.progress.pending_send_at is not None
                and lane.track.progress.pending_send_at <= target
            ]
            if not waiting:
                return
            await asyncio.sleep(0.005)

    # ---- state -----------------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        clock = self.clock
        position = clock.position()
        lanes = [self._lane_state(lane, position) for lane in self.lanes]
        return {
            "type": "state",
            "position": self.iso(position),
            "position_ms": round(position * 1000),
            "rate": clock.rate,
            "playing": clock.playing,
            "seeking": clock.holding,
            "keyframes_only": clock.keyframes_only,
            "ended": bool(lanes)
            and all(lane["state"] in ("ended", "unsupported", "error") for lane in lanes),
            "lanes": lanes,
        }

    def state_message(self) -> str:
        return reply("state", None, **{k: v for k, v in self.state().items() if k != "type"})

    def _lane_state(self, lane: Lane, position: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": lane.id,
            "mid": lane.mid,
            "frame_at": None,
            "next": None,
            "message": None,
        }
        resolved = lane.resolved
        if not resolved.playable:
            return {**out, "state": "unsupported", "message": resolved.unsupported_reason}
        progress = lane.track.progress if lane.track is not None else None
        if progress is not None and progress.shown_at is not None:
            out["frame_at"] = self.iso(progress.shown_at)
        if progress is None or not progress.ready:
            return {**out, "state": "loading"}
        if progress.error is not None:
            return {**out, "state": "error", "message": progress.error}
        spans = resolved.source.spans
        span = spans.at(position)
        if span is not None and not span.playable:
            return {**out, "state": "unsupported", "message": f"{span.codec} footage cannot be replayed here"}
        if span is not None:
            return {**out, "state": "playing"}
        following = spans.next_after(position)
        if following is not None:
            return {**out, "state": "gap", "next": self.iso(following.start)}
        if spans.exhausted or progress.ended or position < spans.complete_until:
            return {**out, "state": "ended"}
        return {**out, "state": "loading"}

    def iso(self, value: float) -> str:
        return from_epoch(value).astimezone(self.zone).isoformat(timespec="milliseconds")

    # ---- background ------------------------------------------------------------------------------------

    async def _release_when_ready(self, generation: int) -> None:
        waited_since: float | None = None
        while generation == self.clock.generation and not self.closed:
            if all(_ready_for(lane, generation) for lane in self.video_lanes):
                break
            if self.connected_at is not None:
                waited_since = waited_since or time.monotonic()
                if time.monotonic() - waited_since > SEEK_READY_TIMEOUT_S:
                    log.info("replay %s: slow lanes did not deliver in time; playing on", self.id[:6])
                    break
            self._ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout=0.1)
        if generation != self.clock.generation or self.closed:
            return
        self.clock.release(generation)
        command, self._seek_command = self._seek_command, None
        self._send(reply("seeked", command, position=self.iso(self.clock.position()), generation=generation))
        self._send(self.state_message())

    async def _send_states(self) -> None:
        while not self.closed:
            if self.clock.running and self.state()["ended"]:
                self.clock.pause()
            self._send(self.state_message())
            await asyncio.sleep(STATE_INTERVAL_S)

    def _watch_channel(self, pc: RTCPeerConnection) -> None:
        @pc.on("datachannel")
        def _on_channel(channel: RTCDataChannel) -> None:
            if channel.label != CONTROL_CHANNEL and self.channel is not None:
                return
            self.channel = channel

            @channel.on("message")
            def _on_message(message: str | bytes) -> None:
                self._spawn(self.command(message))

        @pc.on("connectionstatechange")
        def _on_state() -> None:
            if pc.connectionState == "connected" and self.connected_at is None:
                self.connected_at = time.monotonic()

    def _send(self, message: str) -> None:
        channel = self.channel
        if channel is not None and channel.readyState == "open":
            with contextlib.suppress(InvalidStateError, ConnectionError):
                channel.send(message)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        for lane in self.lanes:
            if lane.track is not None:
                lane.track.stop()
            else:
                lane.resolved.source.close()
        if self.pc is not None:
            await self.pc.close()


def _ready_for(lane: Lane, generation: int) -> bool:
    return lane.track is None or (lane.track.progress.generation == generation and lane.track.progress.ready)


def _finished(lane: Lane) -> bool:
    progress = lane.track.progress if lane.track is not None else None
    return progress is None or progress.ended or progress.error is not None


def _offer_shape(offer_sdp: str) -> tuple[int, bool]:
    try:
        media = SessionDescription.parse(offer_sdp).media
    except SDP_ERRORS as exc:
        raise InvalidOffer(f"the SDP offer is invalid: {exc or type(exc).__name__}") from None
    return sum(1 for m in media if m.kind == "video"), any(m.kind == "application" for m in media)


def _answer_with_lane_profiles(answer_sdp: str, lanes: list[Lane]) -> str:
    """The answer with each video m-section's ``profile-level-id`` set for its own lane."""
    by_mid = {lane.mid: lane.codec for lane in lanes if lane.codec is not None}
    sections = re.split(r"(?=^m=)", answer_sdp, flags=re.MULTILINE)
    out = []
    for section in sections:
        found = re.search(r"^a=mid:(\S+)", section, flags=re.MULTILINE)
        codec = by_mid.get(found.group(1)) if found else None
        out.append(answer_with_profile(section, codec) if codec is not None else section)
    return "".join(out)


class ReplayRegistry:
    """The replay sessions of this node."""

    def __init__(self) -> None:
        self._sessions: dict[str, ReplaySession] = {}
        self._closing: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, session_id: str) -> ReplaySession | None:
        return self._sessions.get(session_id)

    def sessions(self) -> list[ReplaySession]:
        return list(self._sessions.values())

    def create(
        self,
        owner: str,
        lanes: list[ResolvedLane],
        start: float,
        *,
        rate: float,
        playing: bool,
        zone: tzinfo,
        settings: LiveSettings,
    ) -> ReplaySession:
        if len(self._sessions) >= settings.max_sessions:
            raise SessionsFull(
                f"this server already has {len(self._sessions)} replay sessions (the limit); close some"
            )
        session = ReplaySession(
            id=secrets.token_urlsafe(16),
            owner=owner,
            lanes=[Lane(resolved) for resolved in lanes],
            start=start,
            zone=zone,
            clock=PlaybackClock(start, rate=rate, playing=playing),
        )
        self._sessions[session.id] = session
        self._spawn(self._close_unless_connected(session, settings.connect_timeout_s))
        return session

    def watch(self, session: ReplaySession) -> None:
        """Close the session when its peer connection fails or closes (call after negotiating)."""
        pc = session.pc
        assert pc is not None

        @pc.on("connectionstatechange")
        async def _state_changed() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close(session.id)

    async def close(self, session_id: str) -> bool:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        await session.close()
        sent = sum(lane.track.progress.frames_sent for lane in session.lanes if lane.track is not None)
        log.info(
            "replay %s of %s ended after %.0f s (%d frames in the last run)",
            session_id[:6],
            session.owner,
            time.monotonic() - session.created_at,
            sent,
        )
        return True

    async def close_all(self) -> None:
        for session_id in list(self._sessions):
            await self.close(session_id)

    async def _close_unless_connected(self, session: ReplaySession, timeout_s: float) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(timeout_s)
            if session.connected_at is None and self.get(session.id) is session:
                log.info("replay %s: the browser never connected; closed", session.id[:6])
                await self.close(session.id)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
