"""The headless Chromium that the browser tests and the browser benchmarks drive (Debian's, by default)."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("VMS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-dev-shm-usage",
]
"""The flags WebRTC on loopback needs (no mDNS host candidates, loopback allowed, autoplay)."""
