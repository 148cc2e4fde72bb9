"""The body-cam upload page in real headless Chromium: an inspector chooses one of their batches (others are
not offered), drops files, and each goes up over tus in chunks with its SHA-256 computed in the browser; a
broken connection is resumed from where the server got to; the page shows what the server found in each file
(duration, recorded time) or why it refused it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Route, expect

from tests.evidence.media import make_clip
from tests.viewer.replay_fixtures import recorded_cameras  # noqa: F401  (session fixture)
from tests.viewer.review_yard import BATCH, OTHER, PLANNED, ReviewYard, review_yard, script_errors, sign_in
from vms.storage import EmbeddedSeaweed


@pytest.fixture(scope="module")
def yard(seaweed: EmbeddedSeaweed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewYard]:
    with review_yard(seaweed, tmp_path_factory.mktemp("upload-page"), {}) as node:
        yield node


def test_an_inspector_uploads_to_their_batch_and_a_broken_connection_resumes(
    yard: ReviewYard, page: Page, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("bodycam")
    clip = make_clip(folder / "VID_20260303_101500.mp4", seconds=4, creation_time="2026-03-03T02:15:00Z")
    notes = folder / "notes.mp4"
    notes.write_text("这不是视频 this is not a video\n", encoding="utf-8")
    assert clip.stat().st_size > 2 * 64 * 1024  # three chunks of 64 KiB or more

    patches: list[str] = []

    def break_the_second_chunk(route: Route) -> None:
        if route.request.method == "PATCH":
            patches.append(route.request.headers.get("upload-offset", ""))
            if len(patches) == 2:
                route.abort("connectionreset")  # the connection drops in the middle of the upload
                return
        route.continue_()

    page.route("**/api/evidence/uploads/**", break_the_second_chunk)
    sign_in(page, yard, "li.na", "/ui/upload.html?chunk_kb=64")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    options = page.eval_on_selector_all("#batch option", "os => os.map(o => o.value)")
    assert set(options) == {BATCH, PLANNED}  # not OTHER: another inspector's
    assert OTHER not in options
    page.select_option("#batch", PLANNED)
    page.set_input_files("#files", [str(clip), str(notes)])

    done = page.locator(f'#queue li[data-file="{clip.name}"]')
    expect(done).to_have_attribute("data-state", "done", timeout=30_000)
    expect(done.locator(".upload-status")).to_have_text("上传成功")
    expect(done).to_contain_text("0:04")  # what the server found: duration and recorded time (yard clock)
    expect(done).to_contain_text("2026/03/03 10:15:00")
    expect(done).to_contain_text("文件内时间")
    expect(done.locator(".upload-resumes")).to_have_text("已续传 1 次")
    assert patches.count(patches[1]) == 2, patches  # the broken chunk was sent again from the same offset

    refused = page.locator('#queue li[data-file="notes.mp4"]')
    expect(refused).to_have_attribute("data-state", "refused", timeout=30_000)
    expect(refused.locator(".upload-status")).to_contain_text("被拒绝: ")
    expect(page.locator(f'#existing tr[data-file="{clip.name}"]')).to_be_visible()
    expect(page.locator("#existing tr[data-file]")).to_have_count(1)

    with yard.session("li.na") as http:
        items = http.get("/api/evidence", params={"batch": PLANNED}).json()["items"]
    assert [(i["original_filename"], i["sha256"]) for i in items] == [
        (clip.name, hashlib.sha256(clip.read_bytes()).hexdigest())
    ]

    # the same file again is recognized by its SHA-256, without sending it
    page.set_input_files("#files", [str(clip)])
    again = page.locator(f'#queue li[data-file="{clip.name}"]').nth(1)
    expect(again).to_have_attribute("data-state", "duplicate", timeout=30_000)
    expect(again.locator(".upload-status")).to_have_text("已存在（同一文件）")
    assert script_errors(page) == []
