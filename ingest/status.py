"""What a camera source reports to the API and UI: state, a reason a person understands, and rates."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SourceState(enum.StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    """Not connected; retrying on its own (see ``reason``)."""
    ERROR = "error"
    """Connected, but what the camera sends cannot be used (or its settings are wrong); still retrying,
    slowly, in case someone fixes the camera."""
    STOPPED = "stopped"


class StatusReason(enum.StrEnum):
    UNREACHABLE = "unreachable"
    """Nothing answers at that address and port."""
    HOST_NOT_FOUND = "host_not_found"
    TIMEOUT = "timeout"
    """Connected, but the camera did not answer or stopped sending."""
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    """The camera answered, but has no stream at that path."""
    NO_VIDEO_TRACK = "no_video_track"
    UNSUPPORTED_CODEC = "unsupported_codec"
    STREAM_ENDED = "stream_ended"
    """The camera closed the stream (restart, reboot, network cut)."""
    INVALID_URL = "invalid_url"
    PROTOCOL_ERROR = "protocol_error"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A snapshot of one camera stream's source. Times are Unix seconds."""

    name: str
    url: str
    """The camera URL with its password redacted."""
    state: SourceState
    since: float
    """When ``state`` last changed."""
    reason: StatusReason | None = None
    message: str = ""
    """One sentence for a person: what is wrong and what to check."""
    fps: float = 0.0
    bitrate_bps: float = 0.0
    last_keyframe_at: float | None = None
    reconnect_count: int = 0
    """How many times the source connected again after losing an online stream."""
    connect_attempts: int = 0
    next_attempt_at: float | None = None
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    audio_codec: str | None = None
    clock_source: str | None = None
    notes: tuple[str, ...] = ()
    reader: str | None = None
    """Which RTSP client reads the stream: ``lean`` (yard-vms's own) or ``ffmpeg``."""
