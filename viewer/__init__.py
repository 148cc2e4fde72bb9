"""Viewing: the web UI served by the app; WebRTC live and replay (H.264 passed through), the live wall,
desktop viewer and batch review pages.

For now it serves the status page; live view and replay come with their issues."""
