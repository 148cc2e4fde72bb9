"""Headless Chromium (Debian's, driven by Playwright) replays a recorded camera: the picture on screen after
opening the replay at T, and after a seek over the data channel, is the frame recorded at that time (the
frame number burnt into the picture is read back from the <video> element through a canvas)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from recorder.segment_files import SpooledSegment
from tests.viewer.replay_fixtures import (
    BITS,
    HEIGHT,
    T0,
    WIDTH,
    ReplayNodeFactory,
    block_origin,
    recorded_cameras,
    replay_node_factory,
)
from vms.db.models import Role

pytest_plugins = ["tests.fixtures.browser"]
__all__ = ["recorded_cameras", "replay_node_factory"]

if TYPE_CHECKING:
    from playwright.sync_api import Page

OPEN_REPLAY = """
async ({token, body}) => {
  const headers = {'Authorization': 'Bearer ' + token};
  const created = await fetch('/api/replay', {method: 'POST',
    headers: {...headers, 'Content-Type': 'application/json'}, body: JSON.stringify(body)});
  const info = await created.json();
  if (created.status !== 201) return {status: created.status, info};
  const pc = new RTCPeerConnection();
  window.pc = pc;
  window.messages = [];
  const video = document.createElement('video');
  video.muted = true; video.autoplay = true; video.playsInline = true;
  document.body.appendChild(video);
  window.video = video;
  for (const lane of info.video_lanes) pc.addTransceiver('video', {direction: 'recvonly'});
  const channel = pc.createDataChannel('control');
  window.channel = channel;
  channel.onmessage = (event) => window.messages.push(JSON.parse(event.data));
  pc.ontrack = (event) => { video.srcObject = new MediaStream([event.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    setTimeout(resolve, 3000);
  });
  const answer = await fetch(info.whep, {method: 'POST',
    headers: {...headers, 'Content-Type': 'application/sdp'}, body: pc.localDescription.sdp});
  const sdp = await answer.text();
  if (answer.status !== 201) return {status: answer.status, sdp};
  await pc.setRemoteDescription({type: 'answer', sdp});
  return {status: 201, info, lanes: answer.headers.get('X-VMS-Lanes')};
}
"""

READ_PICTURE = """
({blocks, width, height}) => {
  const video = window.video;
  if (!video || video.videoWidth === 0) return null;
  const canvas = document.createElement('canvas');
  canvas.width = width; canvas.height = height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(video, 0, 0, width, height);
  let number = 0;
  blocks.forEach(([x, y], bit) => {
    const pixel = ctx.getImageData(x, y, 1, 1).data;
    if ((pixel[0] + pixel[1] + pixel[2]) / 3 > 128) number |= (1 << bit);
  });
  return number;
}
"""

DECODED = """
async () => {
  let decoded = 0;
  (await window.pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') decoded = s.framesDecoded || 0;
  });
  return decoded;
}
"""


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).astimezone(ZoneInfo("Asia/Shanghai")).isoformat()


def test_chromium_shows_the_frame_recorded_at_the_replay_and_seek_times(
    replay_node_factory: ReplayNodeFactory, recorded_cameras: dict[str, list[SpooledSegment]], page: Page
) -> None:
    node = replay_node_factory()
    camera = node.add_camera("yard-a", recorded_cameras["yard-a"])
    token = node.headers(Role.REVIEWER)["Authorization"].removeprefix("Bearer ")
    page.goto(f"{node.base_url}/api/health")  # any page of the app: the fetches are same-origin
    blocks = [[x + 24, y + 24] for x, y in (block_origin(bit) for bit in range(BITS))]
    reading = {"blocks": blocks, "width": WIDTH, "height": HEIGHT}

    body = {"lanes": [{"camera_id": camera}], "start": at(12.35), "paused": True}  # frame 308
    opened: dict[str, Any] = page.evaluate(OPEN_REPLAY, {"token": token, "body": body})
    assert opened["status"] == 201, opened
    assert _steady_picture(page, reading) == 308

    page.evaluate("(t) => window.channel.send(JSON.stringify({cmd: 'seek', t, seq: 1}))", at(21.07))
    _wait(page, "() => window.messages.some((m) => m.type === 'seeked' && m.seq === 1)")
    assert _steady_picture(page, reading, not_=308) == 526  # 21.04 .. 21.08 s

    decoded = page.evaluate(DECODED)
    page.evaluate("() => window.channel.send(JSON.stringify({cmd: 'play', seq: 2}))")
    _wait(page, f"async () => (await ({DECODED})()) > {decoded + 20}")
    assert page.evaluate(READ_PICTURE, reading) > 526


def _steady_picture(
    page: Page, reading: dict[str, Any], not_: int | None = None, timeout: float = 20.0
) -> int:
    """The number on screen once the same one has been read a few times in a row (the catch-up frames
    before it, if ever painted, do not stay)."""
    deadline = time.monotonic() + timeout
    seen: list[int | None] = []
    while time.monotonic() < deadline:
        seen.append(page.evaluate(READ_PICTURE, reading))
        last = seen[-3:]
        if len(last) == 3 and last[0] is not None and len(set(last)) == 1 and last[0] != not_:
            return int(last[0])
        time.sleep(0.15)
    raise AssertionError(f"no steady picture: read {seen[-10:]}")


def _wait(page: Page, predicate: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(predicate):
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {predicate}")
