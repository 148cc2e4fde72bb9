"""Live view settings, read from the ``viewer`` section of the node's configuration when it has one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IceServer:
    """A STUN or TURN server handed to aiortc (``stun:host:port``, ``turn:host:port?transport=udp|tcp``,
    ``turns:host:port``)."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True, slots=True)
class LiveSettings:
    ice_servers: tuple[IceServer, ...] = ()
    """STUN/TURN servers; empty: host candidates only (loopback and LAN)."""
    ice_host_addresses: tuple[str, ...] = ()
    """If set, the only addresses offered as host candidates (e.g. the LAN address browsers reach);
    empty: every address of the machine's interfaces."""
    ice_loopback: bool = True
    """Also offer 127.0.0.1 (a browser on the server itself)."""
    max_sessions: int = 64
    connect_timeout_s: float = 30.0
    """A session whose browser has not connected by then is closed."""


def live_settings(settings: object) -> LiveSettings:
    """The ``viewer`` section of ``settings`` (``vms.config.Settings``), or the defaults while it has none."""
    section = getattr(settings, "viewer", None)
    if section is None:
        return LiveSettings()
    defaults = LiveSettings()
    return LiveSettings(
        ice_servers=tuple(_ice_server(server) for server in getattr(section, "ice_servers", ()) or ()),
        ice_host_addresses=tuple(getattr(section, "ice_host_addresses", ()) or ()),
        ice_loopback=bool(getattr(section, "ice_loopback", defaults.ice_loopback)),
        max_sessions=int(getattr(section, "max_live_sessions", defaults.max_sessions)),
        connect_timeout_s=float(getattr(section, "live_connect_timeout_seconds", defaults.connect_timeout_s)),
    )


def _ice_server(server: object) -> IceServer:
    urls = getattr(server, "urls", ())
    return IceServer(
        urls=(urls,) if isinstance(urls, str) else tuple(_strings(urls)),
        username=getattr(server, "username", None),
        credential=getattr(server, "credential", None),
    )


def _strings(values: Iterable[object]) -> list[str]:
    return [str(value) for value in values]
