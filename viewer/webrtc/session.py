"""WHEP sessions: one browser's peer connection to one camera stream, from offer to close.

A session subscribes to the camera's hub (lossy: a slow viewer skips to the next keyframe, the camera
connection is shared), answers the browser's offer with the camera's H.264 and lives until the browser
sends DELETE, its connection fails or closes, it never connects, or the stream ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import OperationError

from ingest.hub import StreamHub
from ingest.subscription import DeliveryMode
from viewer.webrtc.codecs import (
    NegotiatedCodec,
    answer_with_profile,
    camera_profile_level_id,
    check_playable,
    choose_codec,
    preferences,
)
from viewer.webrtc.hubs import StreamName
from viewer.webrtc.ice import rtc_configuration, use_host_addresses
from viewer.webrtc.settings import LiveSettings
from viewer.webrtc.signaling import SDP_ERRORS, InvalidOffer, add_trickle_candidates
from viewer.webrtc.track import HubVideoTrack

log = logging.getLogger("viewer.webrtc")


class StreamUnavailable(Exception):
    """The camera stream cannot be watched right now (not connected yet, offline, too many viewers)."""


@dataclass(frozen=True, slots=True)
class ViewRequest:
    camera_id: int
    stream: StreamName
    owner: str
    """Who asked (the audit actor); only they may end or update the session."""
    offer_sdp: str


@dataclass(eq=False)
class WhepSession:
    id: str
    request: ViewRequest
    pc: RTCPeerConnection
    track: HubVideoTrack
    codec: NegotiatedCodec
    answer_sdp: str
    started_at: float = field(default_factory=time.time)
    _watchdog: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def connected(self) -> bool:
        return self.pc.connectionState == "connected"


class SessionRegistry:
    """The live sessions of this node."""

    def __init__(self) -> None:
        self._sessions: dict[str, WhepSession] = {}
        self._closing: set[asyncio.Future[bool]] = set()

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, session_id: str) -> WhepSession | None:
        return self._sessions.get(session_id)

    def sessions(self) -> list[WhepSession]:
        return list(self._sessions.values())

    async def open(self, hub: StreamHub, request: ViewRequest, settings: LiveSettings) -> WhepSession:
        """Subscribe, negotiate and start a session; raises StreamUnavailable, UnsupportedCodec or
        InvalidOffer."""
        if len(self._sessions) >= settings.max_sessions:
            raise StreamUnavailable(
                f"this server already has {len(self._sessions)} live viewers (the limit); "
                "close some views or raise viewer.max_live_sessions"
            )
        session_id = secrets.token_urlsafe(16)
        subscription = hub.subscribe(
            f"live/{request.camera_id}/{request.stream.value}/{session_id[:6]}", DeliveryMode.LOSSY
        )
        track = HubVideoTrack(subscription)
        pc: RTCPeerConnection | None = None
        try:
            codec = _negotiable_codec(hub, track, request.offer_sdp)
            use_host_addresses(settings)
            pc = RTCPeerConnection(rtc_configuration(settings))
            sender = pc.addTrack(track)
            transceiver = next(t for t in pc.getTransceivers() if t.sender is sender)
            transceiver.setCodecPreferences(preferences(codec))  # before the offer is applied (see docs)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(request.offer_sdp, "offer"))
                await pc.setLocalDescription(await pc.createAnswer())
            except OperationError as exc:
                raise InvalidOffer(f"the offer cannot be answered: {exc}") from None
            except SDP_ERRORS as exc:
                raise InvalidOffer(f"the SDP offer is invalid: {exc or type(exc).__name__}") from None
            answer = answer_with_profile(pc.localDescription.sdp, codec)
        except BaseException:
            track.stop()
            if pc is not None:
                await pc.close()
            raise
        session = WhepSession(session_id, request, pc, track, codec, answer)
        self._sessions[session_id] = session
        self._watch(session, settings.connect_timeout_s)
        log.info(
            "live session %s: camera %d %s for %s, H.264 %s (%s) answered as %s",
            session_id[:6],
            request.camera_id,
            request.stream.value,
            request.owner,
            codec.camera_profile_level_id,
            codec.profile_name,
            codec.answer_profile_level_id,
        )
        if not codec.decodable:
            log.warning(
                "live session %s: the browser offered no H.264 profile that covers the camera's %s; "
                "answered %s, which browsers decode in practice",
                session_id[:6],
                codec.profile_name,
                codec.offered_profile_level_id,
            )
        return session

    async def add_candidates(self, session: WhepSession, sdp_fragment: str) -> None:
        """Trickle ICE: the browser's candidates from an ``application/trickle-ice-sdpfrag`` body."""
        await add_trickle_candidates(session.pc, sdp_fragment)

    async def close(self, session_id: str) -> bool:
        """End a session; False if there is no such session (any more)."""
        session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        if session._watchdog is not None and session._watchdog is not asyncio.current_task():
            session._watchdog.cancel()
        session.track.stop()
        await session.pc.close()
        stats = session.track.stats
        log.info(
            "live session %s ended after %.0f s: %d packets (%d keyframes, %d bytes) sent",
            session_id[:6],
            time.time() - session.started_at,
            stats.packets_sent,
            stats.keyframes_sent,
            stats.bytes_sent,
        )
        return True

    async def close_all(self) -> None:
        for session_id in list(self._sessions):
            await self.close(session_id)

    def _watch(self, session: WhepSession, connect_timeout_s: float) -> None:
        @session.pc.on("connectionstatechange")
        async def _state_changed() -> None:
            if session.pc.connectionState in ("failed", "closed"):
                await self.close(session.id)

        @session.track.on("ended")
        def _track_ended() -> None:
            task = asyncio.ensure_future(self.close(session.id))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

        session._watchdog = asyncio.ensure_future(self._close_unless_connected(session, connect_timeout_s))

    async def _close_unless_connected(self, session: WhepSession, timeout_s: float) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(timeout_s)
            if not session.connected and self.get(session.id) is session:
                log.info("live session %s: the browser never connected; closed", session.id[:6])
                await self.close(session.id)


def _negotiable_codec(hub: StreamHub, track: HubVideoTrack, offer_sdp: str) -> NegotiatedCodec:
    description = track.description
    if description is None:
        raise StreamUnavailable("the camera has not sent a picture yet; it may still be connecting")
    if not hub.live:
        raise StreamUnavailable("the camera is offline; its picture comes back when it reconnects")
    video = description.video
    if video.codec_name != "h264":
        check_playable(video.codec_name)
    plid = camera_profile_level_id(track.parameter_sets.sps, video.profile)
    check_playable(video.codec_name, plid)
    try:
        return choose_codec(offer_sdp, plid)
    except SDP_ERRORS as exc:
        raise InvalidOffer(f"the SDP offer is invalid: {exc or type(exc).__name__}") from None
