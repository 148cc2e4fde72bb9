"""RTSP/1.0 requests and responses as they travel on the control connection."""

from __future__ import annotations

from dataclasses import dataclass, field

HEADER_END = b"\r\n\r\n"
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024


class RtspProtocolError(Exception):
    """The peer sent something that is not RTSP; the message says what."""


@dataclass(frozen=True, slots=True)
class RtspResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def all_headers(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    @property
    def cseq(self) -> int | None:
        value = self.header("CSeq")
        return int(value) if value is not None and value.strip().isdigit() else None


def encode_request(method: str, url: str, cseq: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"{method} {url} RTSP/1.0", f"CSeq: {cseq}", "User-Agent: yard-vms"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def parse_response(data: bytes | bytearray, start: int = 0) -> tuple[RtspResponse, int] | None:
    """Parse one response beginning at ``start``: (response, end offset), or ``None`` if incomplete."""
    header_end = data.find(HEADER_END, start)
    if header_end < 0:
        if len(data) - start > MAX_HEADER_BYTES:
            raise RtspProtocolError("the camera sent an RTSP header larger than 64 KiB")
        return None
    text = bytes(data[start:header_end]).decode("utf-8", errors="replace")
    status_line, *header_lines = text.split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("RTSP/") or not parts[1].isdigit():
        raise RtspProtocolError(f"the camera's answer is not RTSP: {status_line[:80]!r}")
    headers: list[tuple[str, str]] = []
    for line in header_lines:
        name, colon, value = line.partition(":")
        if colon:
            headers.append((name.strip(), value.strip()))
    response = RtspResponse(int(parts[1]), parts[2] if len(parts) > 2 else "", headers)
    length_text = response.header("Content-Length") or "0"
    if not length_text.isdigit() or int(length_text) > MAX_BODY_BYTES:
        raise RtspProtocolError(f"the camera sent an unusable Content-Length: {length_text[:40]!r}")
    body_start = header_end + len(HEADER_END)
    body_end = body_start + int(length_text)
    if len(data) < body_end:
        return None
    return (
        RtspResponse(response.status, response.reason, headers, bytes(data[body_start:body_end])),
        body_end,
    )
