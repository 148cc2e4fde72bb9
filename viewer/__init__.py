"""Viewing: WebRTC live and replay (H.264 passed through), the live wall, desktop viewer and batch review pages.

Not built yet: see the live-view and replay issues."""
