"""Turn connection failures into a reason code and a sentence a person can act on."""

from __future__ import annotations

from dataclasses import dataclass

import av.error

from ingest.status import SourceState, StatusReason


@dataclass(frozen=True, slots=True)
class SourceProblem(Exception):
    """Why a camera stream could not be used; ``state`` is OFFLINE (try again soon) or ERROR."""

    reason: StatusReason
    message: str
    state: SourceState = SourceState.OFFLINE

    def __str__(self) -> str:
        return self.message


def classify_open_error(error: Exception, shown_url: str) -> SourceProblem:
    """Explain why opening ``shown_url`` (already redacted) failed."""
    if isinstance(error, av.error.HTTPUnauthorizedError):
        return SourceProblem(
            StatusReason.UNAUTHORIZED,
            f"the camera refused the username/password for {shown_url}; check the credentials",
            SourceState.ERROR,
        )
    if isinstance(error, av.error.HTTPForbiddenError):
        return SourceProblem(
            StatusReason.UNAUTHORIZED,
            f"the camera forbids access to {shown_url} for this user; check its user permissions",
            SourceState.ERROR,
        )
    if isinstance(error, av.error.HTTPNotFoundError):
        return SourceProblem(
            StatusReason.NOT_FOUND,
            f"the camera has no stream at {shown_url}; check the path in the URL",
            SourceState.ERROR,
        )
    if isinstance(error, av.error.HTTPServerError):
        return SourceProblem(
            StatusReason.PROTOCOL_ERROR,
            f"the camera at {shown_url} answered with a server error; it may be starting up or overloaded",
        )
    if isinstance(error, ConnectionRefusedError):
        return SourceProblem(
            StatusReason.UNREACHABLE,
            f"nothing accepts connections at {shown_url}; is the camera on, and are host and port right?",
        )
    if isinstance(error, (TimeoutError, av.error.InvalidDataError, av.error.ExitError)):
        return SourceProblem(
            StatusReason.TIMEOUT,
            f"no usable RTSP answer from {shown_url} in time; the camera may be busy or it is not RTSP",
        )
    if isinstance(error, OSError):
        return SourceProblem(
            StatusReason.UNREACHABLE,
            f"cannot reach the camera at {shown_url} ({error.strerror or error}); check network and address",
        )
    return SourceProblem(StatusReason.PROTOCOL_ERROR, f"cannot open {shown_url}: {error}")


def classify_read_error(error: Exception, shown_url: str) -> SourceProblem:
    """Explain why reading an open stream failed."""
    if isinstance(error, (TimeoutError, av.error.ExitError)):
        return SourceProblem(
            StatusReason.TIMEOUT, f"the camera at {shown_url} stopped sending data; reconnecting"
        )
    if isinstance(error, EOFError):
        return SourceProblem(StatusReason.STREAM_ENDED, f"the camera at {shown_url} ended the stream")
    message = f"the connection to the camera at {shown_url} broke ({error}); reconnecting"
    return SourceProblem(StatusReason.STREAM_ENDED, message)
