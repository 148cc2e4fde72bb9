"""How live view finds a camera's stream hubs: a lookup the app assembly registers in ``core.providers``.

The assembly owns the cameras' connections; live view only subscribes to their hubs, so every viewer of a
camera stream is fed from the one camera connection::

    core.providers[STREAM_HUBS_PROVIDER] = lambda camera_id, stream: ...  # StreamHub | None
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

from ingest.hub import StreamHub

STREAM_HUBS_PROVIDER = "stream_hubs"


class StreamName(enum.StrEnum):
    MAIN = "main"
    """Full resolution: full-screen and single views."""
    SUB = "sub"
    """The camera's low-resolution stream: wall tiles."""


class StreamHubLookup(Protocol):
    def __call__(self, camera_id: int, stream: str, /) -> StreamHub | None:
        """The hub of that camera stream, or None if the camera (or that stream of it) is not running."""
        ...


@dataclass(frozen=True, slots=True)
class FoundHub:
    hub: StreamHub
    stream: StreamName
    """The stream actually used: a camera without a sub stream serves its main one."""


def find_hub(providers: dict[str, Any], camera_id: int, stream: StreamName) -> FoundHub | None:
    lookup: StreamHubLookup | None = providers.get(STREAM_HUBS_PROVIDER)
    if lookup is None:
        return None
    hub = lookup(camera_id, stream.value)
    if hub is not None:
        return FoundHub(hub, stream)
    if stream is StreamName.SUB:
        main = lookup(camera_id, StreamName.MAIN.value)
        if main is not None:
            return FoundHub(main, StreamName.MAIN)
    return None
