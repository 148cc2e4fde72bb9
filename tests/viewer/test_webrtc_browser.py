"""Headless Chromium (Debian's, driven by Playwright) plays a High-profile camera over WHEP: the answer
carries a profile that decodes it, and the browser's own decoder reports frames at the camera's resolution."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from tests.fixtures.cameras import CameraFactory
from vms.db.models import Role

# One headless Chromium per test session, shared with the UI tests (two sync Playwrights cannot coexist).

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.viewer.conftest import LiveNodeFactory

HIGH_DECODERS = {"64", "4d"}  # profile_idc of High, and of Main (the fallback Chromium 156 needs)

OPEN_VIEW = """
async ({url, token}) => {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  pc.addTransceiver('video', {direction: 'recvonly'});
  const video = document.createElement('video');
  video.muted = true; video.autoplay = true; video.playsInline = true;
  document.body.appendChild(video);
  window.video = video;
  pc.ontrack = (event) => { video.srcObject = new MediaStream([event.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    setTimeout(resolve, 3000);
  });
  const response = await fetch(url, {
    method: 'POST',
    headers: {'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + token},
    body: pc.localDescription.sdp,
  });
  const body = await response.text();
  if (response.status !== 201) return {status: response.status, body};
  await pc.setRemoteDescription({type: 'answer', sdp: body});
  return {status: 201, body, location: response.headers.get('Location')};
}
"""

VIDEO_STATS = """
async () => {
  const report = await window.pc.getStats();
  let inbound = null, codec = null;
  report.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') inbound = s; });
  if (inbound && inbound.codecId) codec = report.get(inbound.codecId);
  return {
    framesDecoded: inbound ? (inbound.framesDecoded || 0) : 0,
    width: inbound ? inbound.frameWidth : null,
    height: inbound ? inbound.frameHeight : null,
    mimeType: codec ? codec.mimeType : null,
    fmtp: codec ? codec.sdpFmtpLine : null,
    connection: window.pc.connectionState,
  };
}
"""


def test_chromium_decodes_a_high_profile_camera_over_whep(
    live_node_factory: LiveNodeFactory, camera_factory: CameraFactory, page: Page
) -> None:
    camera = camera_factory(profile="high", width=640, height=360)
    node = live_node_factory({"bay-1": (camera.url(), None)})
    node.wait_for_picture("bay-1")
    token = node.headers(Role.OPERATOR)["Authorization"].removeprefix("Bearer ")
    page.goto(f"{node.base_url}/api/health")  # any page of the app: the fetch is same-origin

    opened: dict[str, Any] = page.evaluate(OPEN_VIEW, {"url": node.whep_url("bay-1"), "token": token})
    assert opened["status"] == 201, opened["body"]
    # Chromium 156 offers no High (64xxxx) entry: the camera's High stream is answered with the browser's
    # High entry if it has one, else its Main entry (4d), on which it decodes High streams.
    assert _announced_profile(opened["body"]) in HIGH_DECODERS

    stats = _wait_for_stats(page, lambda s: s["framesDecoded"] >= 25)
    assert stats["connection"] == "connected"
    assert (stats["width"], stats["height"]) == (640, 360)
    assert stats["mimeType"] == "video/H264"
    assert _announced_profile(stats["fmtp"]) in HIGH_DECODERS
    first = stats["framesDecoded"]
    later = _wait_for_stats(page, lambda s: s["framesDecoded"] > first + 10)
    assert later["framesDecoded"] > first
    assert page.evaluate("() => [window.video.videoWidth, window.video.videoHeight]") == [640, 360]

    # Closing the tile: DELETE the session URL.
    status = page.evaluate(
        """async ({url, token}) => (await fetch(url, {method: 'DELETE',
             headers: {'Authorization': 'Bearer ' + token}})).status""",
        {"url": f"{node.base_url}{opened['location']}", "token": token},
    )
    assert status == 200
    deadline = time.monotonic() + 10
    while len(node.registry) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(node.registry) == 0


def _announced_profile(sdp: str) -> str:
    match = re.search(r"profile-level-id=([0-9a-fA-F]{2})", sdp)
    assert match is not None, sdp
    return match.group(1).lower()


def _wait_for_stats(page: Page, done: Any, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        stats = page.evaluate(VIDEO_STATS)
        if done(stats):
            return stats
        time.sleep(0.2)
    raise AssertionError(f"the browser did not decode enough frames in {timeout} s: {stats}")
