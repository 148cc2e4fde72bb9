"""Replay routes: create a session of lanes on one clock, connect it over WebRTC, end it.

``POST /api/replay`` (JSON) creates the session and says which lanes need a video transceiver;
``POST /api/replay/{id}/whep`` (``application/sdp``) answers the browser's offer; ``PATCH`` that URL
trickles ICE candidates; ``GET /api/replay/{id}`` is the state; ``DELETE /api/replay/{id}`` ends it.
Permission ``replay:view``; creating a session is audited (action ``replay``). See docs/replay.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from evidence.items import audit_access
from viewer.replay.clock import MAX_RATE, MIN_RATE
from viewer.replay.lanes import LaneRefused, LaneRequest, ResolvedLane, resolve_lane
from viewer.replay.session import ReplayRegistry, ReplaySession, SessionsFull
from viewer.replay.source import epoch
from viewer.webrtc.codecs import UnsupportedCodec
from viewer.webrtc.settings import LiveSettings, live_settings
from viewer.webrtc.signaling import (
    SDP_TYPE,
    TRICKLE_TYPE,
    InvalidOffer,
    ice_server_links,
    read_sdp_body,
)
from vms.api.deps import Core, client_address, require
from vms.api.errors import ApiError
from vms.auth import Permission, Principal
from vms.context import CoreServices
from vms.db.models import Role

MAX_LANES = 16
TIME_HINT = "use ISO 8601 with an offset, e.g. 2025-03-01T08:30:00+08:00 or 2025-03-01T00:30:00Z"


class LaneRef(BaseModel):
    camera_id: int | None = Field(None, description="a camera's id: its recorded main stream")
    evidence_item_id: int | None = Field(None, description="a body-cam video item's id")

    @model_validator(mode="after")
    def _one(self) -> LaneRef:
        if (self.camera_id is None) == (self.evidence_item_id is None):
            raise ValueError("give exactly one of camera_id or evidence_item_id")
        return self


class ReplayCreate(BaseModel):
    lanes: list[LaneRef] = Field(..., description="what to replay, in the order the UI shows it")
    start: str = Field(..., description="ISO 8601 with offset: the wall time to start from")
    rate: float = Field(1.0, description=f"{MIN_RATE:g} to {MAX_RATE:g}; above 4 keyframes only")
    paused: bool = Field(False, description="start paused on the picture at start")
    batch_id: int | None = Field(None, description="the batch under review, for the audit log")


def replay_router(settings: LiveSettings | None = None) -> APIRouter:
    """The replay router. ``settings`` overrides the node configuration's ``viewer`` section (tests)."""
    registry = ReplayRegistry()

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        yield
        await registry.close_all()

    router = APIRouter(prefix="/api/replay", tags=["replay"], lifespan=lifespan)

    @router.post("", status_code=201)
    async def create_replay(
        body: ReplayCreate,
        request: Request,
        core: Core,
        principal: Principal = require(Permission.REPLAY_VIEW),
    ) -> dict[str, Any]:
        """Create a replay of cameras and body-cam videos on one clock from ``start``. Answers which lanes
        need a video transceiver (``video_lanes``, in order) and where to send the SDP offer (``whep``)."""
        start = _parse_time(body.start)
        if not body.lanes:
            raise ApiError(422, "give at least one lane (a camera_id or an evidence_item_id)")
        if len(body.lanes) > MAX_LANES:
            raise ApiError(422, f"a replay may have at most {MAX_LANES} lanes")
        if not MIN_RATE <= body.rate <= MAX_RATE:
            raise ApiError(422, f"rate must be from {MIN_RATE:g} to {MAX_RATE:g}")
        requests = [LaneRequest(lane.camera_id, lane.evidence_item_id) for lane in body.lanes]
        if len(set(requests)) != len(requests):
            raise ApiError(422, "a lane is listed twice")
        lanes = await run_in_threadpool(_resolve_all, core, principal, requests, start)
        live = settings or live_settings(core.settings)
        try:
            session = registry.create(
                principal.actor,
                lanes,
                epoch(start),
                rate=body.rate,
                playing=not body.paused,
                zone=core.settings.zone,
                settings=live,
            )
        except SessionsFull as exc:
            for lane in lanes:
                lane.source.close()
            raise ApiError(503, str(exc)) from None
        try:
            await run_in_threadpool(_audit, core, principal, request, session, body)
        except BaseException:
            await registry.close(session.id)
            raise
        return _created(session, request, live)

    @router.post("/{session_id}/whep", status_code=201, response_class=Response)
    async def connect_replay(
        session_id: str, request: Request, principal: Principal = require(Permission.REPLAY_VIEW)
    ) -> Response:
        """The browser's SDP offer (one recvonly video m-line per entry of ``video_lanes``, in order, and a
        data channel named ``control``); answers with the SDP answer."""
        session = _own_session(registry, session_id, principal)
        offer = await read_sdp_body(request, SDP_TYPE)
        live = settings or live_settings(request.app.state.core.settings)
        try:
            answer = await session.negotiate(offer, live)
        except UnsupportedCodec as exc:
            await registry.close(session_id)
            raise ApiError(422, str(exc), code="unsupported_codec", codec=exc.codec) from None
        except InvalidOffer as exc:
            await registry.close(session_id)
            raise ApiError(400, str(exc)) from None
        registry.watch(session)
        headers = {
            "Location": request.url.path,
            "Cache-Control": "no-store",
            "X-VMS-Lanes": _lane_mids(session),
        }
        links = ice_server_links(live.ice_servers)
        if links:
            headers["Link"] = links
        return Response(answer, status_code=201, media_type=SDP_TYPE, headers=headers)

    @router.patch("/{session_id}/whep", status_code=204, response_class=Response)
    async def add_replay_candidates(
        session_id: str, request: Request, principal: Principal = require(Permission.REPLAY_VIEW)
    ) -> Response:
        """Trickle ICE: more of the browser's candidates (``application/trickle-ice-sdpfrag``)."""
        session = _own_session(registry, session_id, principal)
        fragment = await read_sdp_body(request, TRICKLE_TYPE)
        try:
            await session.add_candidates(fragment)
        except InvalidOffer as exc:
            raise ApiError(400, str(exc)) from None
        return Response(status_code=204)

    @router.get("/{session_id}")
    async def replay_state(
        session_id: str, principal: Principal = require(Permission.REPLAY_VIEW)
    ) -> dict[str, Any]:
        """The session's state: the same object as the data channel's state messages."""
        return _own_session(registry, session_id, principal).state()

    @router.delete("/{session_id}", response_class=Response)
    async def close_replay(
        session_id: str, principal: Principal = require(Permission.REPLAY_VIEW)
    ) -> Response:
        """End a replay (the page was closed or the lanes changed)."""
        _own_session(registry, session_id, principal)
        await registry.close(session_id)
        return Response(status_code=200)

    router.state_registry = registry  # type: ignore[attr-defined]  # for tests and status pages
    return router


def replay_registry(router: APIRouter) -> ReplayRegistry:
    """The sessions of a router made by :func:`replay_router`."""
    registry: ReplayRegistry = router.state_registry  # type: ignore[attr-defined]
    return registry


def _parse_time(text: str) -> datetime:
    cleaned = text.strip()
    if len(cleaned) > 6 and cleaned[-6] == " " and cleaned[-3] == ":":
        cleaned = cleaned[:-6] + "+" + cleaned[-5:]  # a '+' read as a space
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ApiError(422, f"start: {text!r} is not a time ({TIME_HINT})") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ApiError(422, f"start: {text!r} has no time zone offset ({TIME_HINT})")
    return value


def _resolve_all(
    core: CoreServices, principal: Principal, requests: list[LaneRequest], start: datetime
) -> list[ResolvedLane]:
    lanes: list[ResolvedLane] = []
    try:
        for lane_request in requests:
            lanes.append(resolve_lane(core, principal, lane_request, start))
    except LaneRefused as exc:
        for lane in lanes:
            lane.source.close()
        raise ApiError(exc.status, str(exc)) from None
    return lanes


def _own_session(registry: ReplayRegistry, session_id: str, principal: Principal) -> ReplaySession:
    session = registry.get(session_id)
    if session is None or (session.owner != principal.actor and principal.role != Role.ADMIN):
        raise ApiError(404, "replay session not found (it may have ended)")
    return session


def _created(session: ReplaySession, request: Request, live: LiveSettings) -> dict[str, Any]:
    state = session.state()
    lanes_out = []
    for lane, lane_state in zip(session.lanes, state["lanes"], strict=True):
        resolved = lane.resolved
        lanes_out.append(
            {
                "id": lane.id,
                "kind": resolved.kind,
                "label": resolved.label,
                "camera_id": resolved.camera_id,
                "camera_code": resolved.camera_code,
                "evidence_item_id": resolved.evidence_item_id,
                "batch_id": resolved.batch_id,
                "recorded_start": session.iso(epoch(resolved.recorded_start))
                if resolved.recorded_start
                else None,
                "recorded_end": session.iso(epoch(resolved.recorded_end)) if resolved.recorded_end else None,
                "rotation": resolved.rotation,
                "codec": resolved.codec,
                "profile_level_id": resolved.profile_level_id if resolved.codec == "h264" else None,
                "playable": resolved.playable,
                "message": resolved.unsupported_reason,
                "spans": [
                    {"start": session.iso(s.start), "end": session.iso(s.end), "playable": s.playable}
                    for s in resolved.source.spans.spans()
                ],
                "state": lane_state["state"] if resolved.playable else "unsupported",
            }
        )
    base = request.url.path.rstrip("/")
    return {
        "id": session.id,
        "start": session.iso(session.start),
        "rate": session.clock.rate,
        "paused": not session.clock.playing,
        "lanes": lanes_out,
        "video_lanes": [lane.id for lane in session.video_lanes],
        "whep": f"{base}/{session.id}/whep",
        "url": f"{base}/{session.id}",
        "control_channel": "control",
        "connect_within_s": live.connect_timeout_s,
        "ice_servers": [
            {"urls": list(server.urls), "username": server.username, "credential": server.credential}
            for server in live.ice_servers
        ],
    }


def _lane_mids(session: ReplaySession) -> str:
    return ",".join(f"{lane.id}={lane.mid}" for lane in session.video_lanes)


def _audit(
    core: CoreServices, principal: Principal, request: Request, session: ReplaySession, body: ReplayCreate
) -> None:
    client = client_address(request)
    lanes = [lane.resolved for lane in session.lanes]
    core.audit.record(
        principal.actor,
        "replay",
        object_type="replay",
        object_id=session.id,
        client=client,
        detail={
            "start": body.start,
            "rate": body.rate,
            "batch_id": body.batch_id,
            "lanes": [lane.audit_view() for lane in lanes],
        },
    )
    for lane in lanes:
        if lane.evidence_item_id is not None:
            audit_access(
                core,
                principal.actor,
                client,
                lane.evidence_item_id,
                "evidence.replay",
                session=session.id,
                start=body.start,
            )
