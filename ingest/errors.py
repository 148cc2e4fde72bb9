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
    """Explain why opening ``shown_url`` (already redacted) with FFmpeg failed."""
    status = _HTTP_STATUSES.get(type(error))
    if status is None and isinstance(error, av.error.HTTPServerError):
        status = 500
    if status is not None:
        return answered_problem(status, shown_url)
    if isinstance(error, (av.error.InvalidDataError, av.error.ExitError)):
        return connection_problem(TimeoutError(), shown_url)
    return connection_problem(error, shown_url)


def answered_problem(status: int, shown_url: str, answer: str = "") -> SourceProblem:
    """The camera answered the RTSP request with an error ``status`` (``answer``: what it said)."""
    if status == 401:
        return SourceProblem(
            StatusReason.UNAUTHORIZED,
            f"the camera refused the username/password for {shown_url}; check the credentials",
            SourceState.ERROR,
        )
    if status == 403:
        return SourceProblem(
            StatusReason.UNAUTHORIZED,
            f"the camera forbids access to {shown_url} for this user; check its user permissions",
            SourceState.ERROR,
        )
    if status == 404:
        return SourceProblem(
            StatusReason.NOT_FOUND,
            f"the camera has no stream at {shown_url}; check the path in the URL",
            SourceState.ERROR,
        )
    said = f" ({answer})" if answer else ""
    return SourceProblem(
        StatusReason.PROTOCOL_ERROR,
        f"the camera at {shown_url} answered with an error{said}; it may be starting up or overloaded",
    )


def connection_problem(error: Exception, shown_url: str) -> SourceProblem:
    """Reaching ``shown_url`` failed below the RTSP level, or what came back was not RTSP."""
    if isinstance(error, ConnectionRefusedError):
        return SourceProblem(
            StatusReason.UNREACHABLE,
            f"nothing accepts connections at {shown_url}; is the camera on, and are host and port right?",
        )
    if isinstance(error, TimeoutError):
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


_HTTP_STATUSES: dict[type[Exception], int] = {
    av.error.HTTPUnauthorizedError: 401,
    av.error.HTTPForbiddenError: 403,
    av.error.HTTPNotFoundError: 404,
}


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
