"""Synced replay in real headless Chromium (viewer/web/replay.js against viewer/replay, docs/replay.md).

On the batch review page a click on the timeline replays every covering camera and the body-cam video from
that moment over one WebRTC connection (each lane's video decodes), the lanes' states follow the footage (a
camera in its recording gap says so, one whose recording ended says so), and pause stops the clock. On the
desk viewer a camera's replay opens next to its live view, its timeline showing what was recorded, and a
click replays it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect

from recorder.segment_files import SpooledSegment
from tests.evidence.media import make_clip
from tests.viewer.replay_fixtures import recorded_cameras  # noqa: F401  (session fixture)
from tests.viewer.review_yard import BATCH, ReviewYard, review_yard, script_errors, sign_in, yard_time
from vms.storage import EmbeddedSeaweed

VIDEO_WAIT_MS = 45_000


@pytest.fixture(scope="module")
def yard(
    seaweed: EmbeddedSeaweed,
    tmp_path_factory: pytest.TempPathFactory,
    recorded_cameras: dict[str, list[SpooledSegment]],  # noqa: F811
) -> Iterator[ReviewYard]:
    root = tmp_path_factory.mktemp("replay-page")
    with review_yard(seaweed, root, recorded_cameras) as node:
        clip = make_clip(root / "VID_20260301_083008.mp4", seconds=6, creation_time="2026-03-01T00:30:08Z")
        node.upload("li.na", BATCH, clip)
        yield node


def click_timeline(page: Page, timeline: str, when: datetime) -> None:
    """Click the timeline ``timeline`` (a selector) at the moment ``when``, on its first lane."""
    box = page.locator(f"{timeline} svg.tl-svg").bounding_box()
    assert box is not None
    start = int(page.get_attribute(timeline, "data-view-start") or 0)
    end = int(page.get_attribute(timeline, "data-view-end") or 0)
    x = (when.timestamp() * 1000 - start) / (end - start) * box["width"]
    assert 0 <= x <= box["width"], (when, start, end)
    page.mouse.click(box["x"] + x, box["y"] + 22 + 13)


def decoding(page: Page, tile: str) -> None:
    """The lane's video decodes more frames than a moment ago."""
    page.wait_for_function(f"+document.querySelector('{tile}').dataset.frames > 0", timeout=VIDEO_WAIT_MS)
    before = int(page.get_attribute(tile, "data-frames") or 0)
    page.wait_for_function(
        f"+document.querySelector('{tile}').dataset.frames > {before + 5}", timeout=VIDEO_WAIT_MS
    )


def test_a_click_on_the_batch_timeline_replays_every_lane_in_step(yard: ReviewYard, page: Page) -> None:
    a, b = yard.camera_ids["yard-a"], yard.camera_ids["yard-b"]
    sign_in(page, yard, "rev", f"/ui/review.html?id={yard.batch_ids[BATCH]}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    tiles = page.locator("#player .rp-tile")
    expect(tiles).to_have_count(3)
    expect(page.locator("#player")).to_have_attribute("data-running", "false")

    click_timeline(page, "#timeline", yard_time(10))
    expect(page.locator("#player")).to_have_attribute("data-running", "true", timeout=VIDEO_WAIT_MS)
    for key in (f"cam-{a}", f"cam-{b}"):
        decoding(page, f'#player .rp-tile[data-lane="{key}"]')
        expect(page.locator(f'#player .rp-tile[data-lane="{key}"]')).to_have_attribute(
            "data-state", "playing"
        )
    item_tile = page.locator('#player .rp-tile[data-lane^="item-"]')
    expect(item_tile).to_have_attribute("data-state", "playing", timeout=VIDEO_WAIT_MS)
    expect(page.locator("#player .rp-position")).to_contain_text("2026/03/01 08:30:")
    expect(page.locator(f'#timeline .tl-label[data-lane="cam-{a}"]')).to_have_attribute(
        "data-state", "playing"
    )

    page.click("#player .rp-play")  # pause
    expect(page.locator("#player")).to_have_attribute("data-playing", "false")

    click_timeline(page, "#timeline", yard_time(45))  # yard-a is in its 10 s gap, yard-b's recording ended
    expect(page.locator(f'#player .rp-tile[data-lane="cam-{a}"]')).to_have_attribute(
        "data-state", "gap", timeout=VIDEO_WAIT_MS
    )
    expect(page.locator(f'#player .rp-tile[data-lane="cam-{a}"] .rp-overlay')).to_contain_text(
        "下一段 08:30:50"
    )
    expect(page.locator(f'#player .rp-tile[data-lane="cam-{b}"]')).to_have_attribute("data-state", "ended")
    expect(page.locator("#player .rp-position")).to_contain_text(
        "08:30:4"
    )  # a pixel of the timeline is ~0.7 s
    assert script_errors(page) == []


def test_the_desk_replays_a_camera_next_to_its_live_view(yard: ReviewYard, page: Page) -> None:
    a = yard.camera_ids["yard-a"]
    sign_in(page, yard, "boss", f"/ui/desk.html#cams={a}&replay={int(yard_time(10).timestamp() * 1000)}")
    expect(page.locator(f'#grid .tile[data-camera-id="{a}"]')).to_be_visible()  # live, beside the replay
    expect(page.locator("#desk-replay")).to_be_visible()
    expect(page.locator("#replay-toggle")).to_be_visible()
    expect(page.locator("#desk-replay")).to_have_attribute("data-loaded", "2")  # two recorded ranges in view
    expect(page.locator("#desk-replay .tl-zoom.on")).to_have_text("小时")
    click_timeline(page, "#desk-replay .timeline", yard_time(20))
    decoding(page, f'#desk-replay .rp-tile[data-lane="cam-{a}"]')
    expect(page.locator(f'#desk-replay .rp-tile[data-lane="cam-{a}"]')).to_have_attribute(
        "data-state", "playing"
    )
    page.click("#replay-toggle")
    expect(page.locator("#desk-replay")).to_be_hidden()
    assert script_errors(page) == []
