"""WebRTC live view: camera H.264 passed from the stream hubs to browsers without re-encoding (WHEP).

``viewer.webrtc.api.webrtc_router()`` is the router; the assembly registers the hub lookup
(``viewer.webrtc.hubs.STREAM_HUBS_PROVIDER``). See docs/live-view.md.
"""
