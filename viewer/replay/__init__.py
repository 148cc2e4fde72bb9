"""WebRTC replay: recorded camera footage and body-cam videos, several lanes on one clock, H.264 passed
through from object storage without re-encoding.

``viewer.replay.api.replay_router()`` is the router (it needs only the core: database and object store).
See docs/replay.md.
"""
