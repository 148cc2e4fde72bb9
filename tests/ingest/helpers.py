"""Helpers for ingest tests: wait for a source state, collect hub items, remux them and probe the result."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import av

from ingest.description import StreamDescription
from ingest.output_streams import add_output_stream
from ingest.packet import MediaKind, MediaPacket
from ingest.source import CameraSource
from ingest.status import SourceStatus
from ingest.subscription import HubItem, Subscription


def wait_for_status(
    source: CameraSource, predicate: Callable[[SourceStatus], bool], timeout: float = 20
) -> SourceStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = source.status()
        if predicate(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"source never reached the expected status; last: {status}")
        time.sleep(0.05)


def collect(subscription: Subscription, seconds_of_video: float, timeout: float = 30) -> list[HubItem]:
    """Items until ``seconds_of_video`` of video pts have passed since the first video packet."""
    items: list[HubItem] = []
    first_pts: float | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = subscription.get(timeout=timeout)
        items.append(item)
        if isinstance(item, MediaPacket) and item.kind is MediaKind.VIDEO and item.pts_seconds is not None:
            first_pts = item.pts_seconds if first_pts is None else first_pts
            if item.pts_seconds - first_pts >= seconds_of_video:
                return items
    raise AssertionError(f"got only {len(items)} items in {timeout} s")


def remux_to_mp4(items: list[HubItem], path: Path) -> None:
    """Remux into fragmented MP4 (MOV flavour when the audio is G.711, which the MP4 muxer refuses)."""
    description = next(item for item in items if isinstance(item, StreamDescription))
    g711 = description.audio is not None and description.audio.codec_name.startswith("pcm_")
    with av.open(
        str(path),
        "w",
        format="mov" if g711 else "mp4",
        options={"movflags": "frag_keyframe+empty_moov+default_base_moof"},
    ) as out:
        video = add_output_stream(out, description.video)
        audio = add_output_stream(out, description.audio) if description.audio else None
        for item in items:
            if not isinstance(item, MediaPacket) or item.dts is None:
                continue
            target = video if item.kind is MediaKind.VIDEO else audio
            if target is None:
                continue
            packet = av.Packet(item.data)
            packet.pts, packet.dts, packet.duration = item.pts, item.dts, item.duration
            packet.time_base = item.time_base
            packet.is_keyframe = item.is_keyframe
            packet.stream = target
            out.mux(packet)


def ffprobe_streams(path: Path) -> tuple[list[dict[str, object]], str]:
    """(streams with decoded frame counts, ffprobe's error output) for a media file."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json", str(path)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    streams = json.loads(result.stdout or "{}").get("streams", [])
    return streams, result.stderr.strip()
