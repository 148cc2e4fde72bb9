"""The RTSP control exchange of one camera connection: OPTIONS, DESCRIBE, SETUP (TCP interleaved), PLAY.

The handshake is blocking, bounded by one deadline, and runs in the camera's own thread; once playing,
the socket is handed to an ``RtspReactor`` that reads the media of many cameras in one thread.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from ingest.rtsp.auth import authorization
from ingest.rtsp.messages import RtspProtocolError, RtspResponse, encode_request, parse_response
from ingest.rtsp.sdp import MediaDescription, parse_sdp

DEFAULT_SESSION_TIMEOUT_S = 60.0
_INTERLEAVED = re.compile(r"interleaved=(\d+)(?:-(\d+))?", re.IGNORECASE)
_SESSION_TIMEOUT = re.compile(r"timeout=(\d+)", re.IGNORECASE)


class RtspStatusError(Exception):
    """The camera answered a request with an error status."""

    def __init__(self, method: str, response: RtspResponse) -> None:
        super().__init__(f"{method} answered {response.status} {response.reason}")
        self.method = method
        self.status = response.status
        self.reason = response.reason


@dataclass(frozen=True, slots=True)
class PlayingTrack:
    """A media track set up on the connection: its RTP arrives on ``channel``, its RTCP on ``channel + 1``."""

    media: MediaDescription
    channel: int


class RtspClient:
    """One RTSP/TCP control connection. Not thread-safe: the handshake runs in one thread, then
    ``keepalive_request`` and ``teardown`` are called by whoever owns the connection."""

    def __init__(self, url: str, username: str | None, password: str | None, timeout_s: float) -> None:
        parts = urlsplit(url)
        self.url = _without_credentials(parts)
        self._host = parts.hostname or ""
        self._port = parts.port or 554
        self._username = username
        self._password = password or ""
        self._timeout_s = timeout_s
        self._deadline = 0.0
        self._sock: socket.socket | None = None
        self._buffer = bytearray()
        self._cseq = 0
        self._challenges: list[str] = []
        self._nonce_count = 0
        self._session: str | None = None
        self.session_timeout_s = DEFAULT_SESSION_TIMEOUT_S
        self._public_methods: set[str] = set()
        self._base_url = self.url
        self.tracks: list[PlayingTrack] = []

    # ---- handshake ----------------------------------------------------------------------------------

    def describe(self) -> list[MediaDescription]:
        """Connect and ask for the session description; returns its media sections."""
        self._deadline = time.monotonic() + self._timeout_s
        self._sock = socket.create_connection((self._host, self._port), timeout=self._timeout_s)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        options = self._request("OPTIONS", self.url)
        self._public_methods = {m.strip().upper() for m in (options.header("Public") or "").split(",")}
        answer = self._request("DESCRIBE", self.url, [("Accept", "application/sdp")])
        self._base_url = answer.header("Content-Base") or answer.header("Content-Location") or self.url
        return parse_sdp(answer.body.decode("utf-8", errors="replace"), self._base_url)

    def setup(self, media: MediaDescription) -> PlayingTrack:
        channel = 2 * len(self.tracks)
        headers = [("Transport", f"RTP/AVP/TCP;unicast;interleaved={channel}-{channel + 1}")]
        answer = self._request("SETUP", media.control, headers)
        session = answer.header("Session")
        if session is None:
            raise RtspProtocolError("the camera answered SETUP without a Session header")
        self._session = session.split(";", 1)[0].strip()
        timeout = _SESSION_TIMEOUT.search(session)
        if timeout is not None and int(timeout.group(1)) > 0:
            self.session_timeout_s = float(timeout.group(1))
        transport = answer.header("Transport") or ""
        if "TCP" not in transport.upper():
            raise RtspProtocolError(f"the camera refused RTP over TCP (it answered {transport[:80]!r})")
        chosen = _INTERLEAVED.search(transport)
        track = PlayingTrack(media, int(chosen.group(1)) if chosen else channel)
        self.tracks.append(track)
        return track

    def play(self) -> bytes:
        """Start the stream; returns media bytes that arrived with the answer (the reactor reads on)."""
        self._request("PLAY", self._base_url, [("Range", "npt=0.000-")])
        leftover = bytes(self._buffer)
        self._buffer.clear()
        assert self._sock is not None
        self._sock.setblocking(False)
        return leftover

    @property
    def sock(self) -> socket.socket:
        assert self._sock is not None, "describe() first"
        return self._sock

    # ---- while playing --------------------------------------------------------------------------------

    def keepalive_request(self) -> bytes:
        """A request that keeps the session alive (GET_PARAMETER when the camera offers it)."""
        method = "GET_PARAMETER" if "GET_PARAMETER" in self._public_methods else "OPTIONS"
        return self._encode(method, self._base_url, [])

    def teardown(self) -> None:
        """Say goodbye (best effort, no waiting for the answer) and close the socket."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            if self._session is not None:
                sock.setblocking(True)
                sock.settimeout(0.5)
                sock.sendall(self._encode("TEARDOWN", self._base_url, []))
        except OSError:
            pass
        finally:
            sock.close()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    # ---- internals ------------------------------------------------------------------------------------

    def _request(self, method: str, url: str, headers: list[tuple[str, str]] | None = None) -> RtspResponse:
        extra = headers or []
        response = self._exchange(self._encode(method, url, extra))
        if response.status == 401 and self._username is not None:
            already_tried = bool(self._challenges)
            self._challenges = response.all_headers("WWW-Authenticate")
            stale = any("stale=true" in c.replace(" ", "").lower() for c in self._challenges)
            if not already_tried or stale:
                self._nonce_count = 0
                response = self._exchange(self._encode(method, url, extra))
        if response.status >= 300:
            raise RtspStatusError(method, response)
        return response

    def _encode(self, method: str, url: str, headers: list[tuple[str, str]]) -> bytes:
        self._cseq += 1
        headers = list(headers)
        if self._session is not None:
            headers.append(("Session", self._session))
        if self._challenges and self._username is not None:
            self._nonce_count += 1
            value = authorization(
                method, url, self._challenges, self._username, self._password, self._nonce_count
            )
            if value is not None:
                headers.append(("Authorization", value))
        return encode_request(method, url, self._cseq, headers)

    def _exchange(self, request: bytes) -> RtspResponse:
        sock = self.sock
        sock.settimeout(max(0.05, self._deadline - time.monotonic()))
        sock.sendall(request)
        expected = self._cseq
        while True:
            parsed = self._next_response()
            if parsed is not None:
                if parsed.cseq in (None, expected):
                    return parsed
                continue  # a late answer to an earlier request
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the camera did not answer in time")
            sock.settimeout(remaining)
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("the camera closed the connection during the handshake")
            self._buffer += chunk

    def _next_response(self) -> RtspResponse | None:
        while self._buffer[:1] == b"$":  # media before PLAY's answer: nothing to do with it yet
            if len(self._buffer) < 4:
                return None
            end = 4 + int.from_bytes(self._buffer[2:4], "big")
            if len(self._buffer) < end:
                return None
            del self._buffer[:end]
        parsed = parse_response(self._buffer)
        if parsed is None:
            return None
        response, end = parsed
        del self._buffer[:end]
        return response


def _without_credentials(parts: SplitResult) -> str:
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))
