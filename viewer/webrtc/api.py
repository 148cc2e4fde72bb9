"""WHEP endpoints for live view (draft-ietf-wish-whep): POST an SDP offer, get the answer and a session URL.

``POST /api/cameras/{id}/whep?stream=main|sub`` (``Content-Type: application/sdp``) answers 201 with the SDP
answer and ``Location: /api/cameras/{id}/whep/{session}``; ``DELETE`` that URL ends the view, ``PATCH``
with ``application/trickle-ice-sdpfrag`` adds the browser's ICE candidates. Opening a view is audited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from viewer.webrtc.codecs import UnsupportedCodec
from viewer.webrtc.hubs import StreamName, find_hub
from viewer.webrtc.session import SessionRegistry, StreamUnavailable, ViewRequest, WhepSession
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
from vms.db.models import Camera, Role


def webrtc_router(settings: LiveSettings | None = None) -> APIRouter:
    """The live view router. ``settings`` overrides the node configuration's ``viewer`` section (tests)."""
    registry = SessionRegistry()

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        yield
        await registry.close_all()

    router = APIRouter(prefix="/api/cameras", tags=["live"], lifespan=lifespan)

    @router.post("/{camera_id}/whep", status_code=201, response_class=Response)
    async def open_live_view(
        camera_id: int,
        request: Request,
        core: Core,
        stream: StreamName = StreamName.MAIN,
        principal: Principal = require(Permission.LIVE_VIEW),
    ) -> Response:
        """Watch a camera live over WebRTC: the body is the browser's SDP offer, the answer comes back.

        Wall tiles ask for ``stream=sub`` (a camera without one serves its main stream; the
        ``X-VMS-Stream`` header says which), full screen for ``stream=main``. 422 ``unsupported_codec``
        when the browser cannot play the camera's codec (H.265), 503 while the camera is offline."""
        offer = await read_sdp_body(request, SDP_TYPE)
        live = settings or live_settings(core.settings)
        found = find_hub(core.providers, camera_id, stream)
        if found is None:
            if not await run_in_threadpool(_camera_exists, core, camera_id):
                raise ApiError(404, "camera not found")
            raise ApiError(503, "the camera is not running on this node (disabled, or not connected yet)")
        view = ViewRequest(camera_id, found.stream, principal.actor, offer)
        try:
            session = await registry.open(found.hub, view, live)
        except UnsupportedCodec as exc:
            raise ApiError(422, str(exc), code="unsupported_codec", codec=exc.codec) from None
        except StreamUnavailable as exc:
            raise ApiError(503, str(exc)) from None
        except InvalidOffer as exc:
            raise ApiError(400, str(exc)) from None
        try:
            await run_in_threadpool(_audit_view, core, principal, request, session, stream)
        except BaseException:
            await registry.close(session.id)
            raise
        headers = {
            "Location": f"{request.url.path}/{session.id}",
            "X-VMS-Stream": session.request.stream.value,
            "Cache-Control": "no-store",
        }
        links = ice_server_links(live.ice_servers)
        if links:
            headers["Link"] = links
        return Response(session.answer_sdp, status_code=201, media_type=SDP_TYPE, headers=headers)

    @router.patch("/{camera_id}/whep/{session_id}", status_code=204, response_class=Response)
    async def add_live_view_candidates(
        camera_id: int,
        session_id: str,
        request: Request,
        principal: Principal = require(Permission.LIVE_VIEW),
    ) -> Response:
        """Trickle ICE: more of the browser's candidates (``application/trickle-ice-sdpfrag``)."""
        session = _own_session(registry, camera_id, session_id, principal)
        fragment = await read_sdp_body(request, TRICKLE_TYPE)
        try:
            await registry.add_candidates(session, fragment)
        except InvalidOffer as exc:
            raise ApiError(400, str(exc)) from None
        return Response(status_code=204)

    @router.delete("/{camera_id}/whep/{session_id}", response_class=Response)
    async def close_live_view(
        camera_id: int,
        session_id: str,
        principal: Principal = require(Permission.LIVE_VIEW),
    ) -> Response:
        """End a live view (the tile was closed or switched)."""
        _own_session(registry, camera_id, session_id, principal)
        await registry.close(session_id)
        return Response(status_code=200)

    router.state_registry = registry  # type: ignore[attr-defined]  # for tests and status pages
    return router


def session_registry(router: APIRouter) -> SessionRegistry:
    """The sessions of a router made by :func:`webrtc_router`."""
    registry: SessionRegistry = router.state_registry  # type: ignore[attr-defined]
    return registry


def _own_session(
    registry: SessionRegistry, camera_id: int, session_id: str, principal: Principal
) -> WhepSession:
    session = registry.get(session_id)
    if (
        session is None
        or session.request.camera_id != camera_id
        or (session.request.owner != principal.actor and principal.role != Role.ADMIN)
    ):
        raise ApiError(404, "live session not found (it may have ended)")
    return session


def _camera_exists(core: CoreServices, camera_id: int) -> bool:
    with core.db.sessions() as s:
        return s.execute(select(Camera.id).where(Camera.id == camera_id)).first() is not None


def _audit_view(
    core: CoreServices, principal: Principal, request: Request, session: WhepSession, asked: StreamName
) -> None:
    core.audit.record(
        principal.actor,
        "view",
        object_type="camera",
        object_id=session.request.camera_id,
        client=client_address(request),
        detail={
            "live": True,
            "stream": session.request.stream.value,
            "requested_stream": asked.value,
            "session": session.id,
            "codec": "h264",
            "profile_level_id": session.codec.camera_profile_level_id,
        },
    )
