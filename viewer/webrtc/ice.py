"""ICE for live view: the STUN/TURN servers aiortc uses and the host addresses it offers.

aioice offers every interface address except 127.0.0.1 and asks Google's STUN server when given no ICE
servers at all. Here the configured servers are used (none: host candidates only, nothing leaves the
LAN), and the host addresses are the configured ones (or the detected ones) plus loopback if wanted.
aioice has one process-wide function for host addresses; :func:`use_host_addresses` replaces it.
"""

from __future__ import annotations

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

from viewer.webrtc.settings import LiveSettings

LOOPBACK = "127.0.0.1"
_detect_host_addresses = aioice.ice.get_host_addresses


def rtc_configuration(settings: LiveSettings) -> RTCConfiguration:
    """aiortc's configuration: the configured servers, never aiortc's default public STUN server."""
    servers = [
        RTCIceServer(urls=list(server.urls), username=server.username, credential=server.credential)
        for server in settings.ice_servers
    ]
    return RTCConfiguration(iceServers=servers)


def use_host_addresses(settings: LiveSettings) -> None:
    """Make aioice offer the configured host addresses (process-wide; idempotent)."""
    fixed = list(settings.ice_host_addresses)
    loopback = settings.ice_loopback

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = fixed or _detect_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        addresses = [a for a in addresses if use_ipv6 or ":" not in a]
        if loopback and use_ipv4 and LOOPBACK not in addresses:
            addresses.append(LOOPBACK)
        return addresses

    aioice.ice.get_host_addresses = host_addresses
