"""RTSP URL checks, credentials insertion and redaction for logs and status pages."""

from __future__ import annotations

from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

RTSP_SCHEMES = ("rtsp", "rtsps")
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322}


class RtspUrlError(ValueError):
    """An RTSP URL is not usable; the message says what to fix."""


def validate_rtsp_url(url: str) -> SplitResult:
    """Check scheme (rtsp/rtsps), host and port; return the parsed URL or raise ``RtspUrlError``."""
    text = url.strip() if isinstance(url, str) else ""
    if not text:
        raise RtspUrlError("the camera URL is empty; expected e.g. rtsp://192.0.2.10:554/stream1")
    if any(char.isspace() for char in text):
        raise RtspUrlError(f"the camera URL {redact_rtsp_url(text)!r} contains spaces; percent-encode them")
    parts = urlsplit(text)
    shown = redact_rtsp_url(text)
    if parts.scheme.lower() not in RTSP_SCHEMES:
        got = f"'{parts.scheme}://'" if parts.scheme else "no scheme"
        raise RtspUrlError(f"the camera URL {shown!r} must start with rtsp:// or rtsps:// (got {got})")
    if not parts.hostname:
        raise RtspUrlError(f"the camera URL {shown!r} has no host; expected rtsp://HOST[:PORT]/PATH")
    try:
        port = parts.port
    except ValueError:
        message = f"the camera URL {shown!r} has an invalid port; use a number from 1 to 65535"
        raise RtspUrlError(message) from None
    if port == 0:
        raise RtspUrlError(f"the camera URL {shown!r} has port 0; use a number from 1 to 65535")
    return parts


def build_rtsp_url(url: str, username: str | None = None, password: str | None = None) -> str:
    """The camera URL with the given credentials percent-encoded into it (so ``@ : /`` in them work).

    Credentials already in ``url`` are replaced when ``username`` is given and kept otherwise.
    """
    parts = validate_rtsp_url(url)
    if not username:
        if password:
            raise RtspUrlError("a camera password was given without a username")
        return urlunsplit(parts)
    host = _host_port(parts)
    userinfo = quote(username, safe="")
    if password is not None:
        userinfo += ":" + quote(password, safe="")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def url_credentials(url: str) -> tuple[str | None, str | None]:
    """Decoded (username, password) embedded in a URL, or (None, None)."""
    parts = urlsplit(url)
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return username, password


def redact_rtsp_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (the username stays, to help diagnose); never raises."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    username = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{username}:***@{host}" if username else f"***@{host}"))


def _host_port(parts: SplitResult) -> str:
    return parts.netloc.rpartition("@")[2]
