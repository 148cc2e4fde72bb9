"""What live view and replay share about WHEP signaling: refusing a bad offer, and trickle ICE."""

from __future__ import annotations

from aiortc import RTCPeerConnection
from aiortc.exceptions import InvalidAccessError, InvalidStateError
from aiortc.sdp import candidate_from_sdp
from fastapi import Request

from viewer.webrtc.settings import IceServer
from vms.api.errors import ApiError

SDP_TYPE = "application/sdp"
TRICKLE_TYPE = "application/trickle-ice-sdpfrag"
MAX_SDP_BYTES = 64 * 1024

SDP_ERRORS = (ValueError, AssertionError, IndexError, KeyError, InvalidAccessError, InvalidStateError)
"""What aiortc raises on SDP it cannot use."""


class InvalidOffer(Exception):
    """The request's SDP is not an offer this server can answer."""


async def add_trickle_candidates(pc: RTCPeerConnection, sdp_fragment: str) -> None:
    """The browser's ICE candidates from an ``application/trickle-ice-sdpfrag`` body."""
    mid: str | None = None
    for raw in sdp_fragment.splitlines():
        line = raw.strip()
        if line.startswith("a=mid:"):
            mid = line[6:]
        elif line.startswith("a=candidate:"):
            try:
                candidate = candidate_from_sdp(line[12:])
            except SDP_ERRORS as exc:
                raise InvalidOffer(f"bad ICE candidate {line!r}: {exc}") from None
            candidate.sdpMid = mid
            candidate.sdpMLineIndex = 0 if mid is None else None
            await pc.addIceCandidate(candidate)
        elif line == "a=end-of-candidates":
            await pc.addIceCandidate(None)


async def read_sdp_body(request: Request, content_type: str) -> str:
    """The SDP (or trickle fragment) of a WHEP request, refused with a clear error when it is not one."""
    sent_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if sent_type != content_type:
        raise ApiError(415, f"send the body as {content_type} (got {sent_type or 'no content type'})")
    body = await request.body()
    if len(body) > MAX_SDP_BYTES:
        raise ApiError(413, f"the SDP is larger than {MAX_SDP_BYTES} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the SDP is not UTF-8 text") from None


def ice_server_links(servers: tuple[IceServer, ...]) -> str:
    """WHEP ``Link`` headers (rel="ice-server") so the browser uses the same STUN/TURN servers."""
    links = []
    for server in servers:
        for url in server.urls:
            link = f'<{url}>; rel="ice-server"'
            if server.username is not None:
                link += f'; username="{server.username}"; credential="{server.credential or ""}"'
                link += '; credential-type="password"'
            links.append(link)
    return ", ".join(links)
