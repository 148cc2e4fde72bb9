"""The batch search and batch review pages in real headless Chromium against a node with recorded footage and
body-cam files (tests/viewer/review_yard.py).

A reviewer finds batches by number, bay and yard date; an inspector's search lists only their batches; the
review page lists the bay's cameras (with their gaps on the timeline, the inspection window marked) and the
body-cam files with their chain of custody; a reviewer puts the batch on hold and releases it; a reviewer
exports the evidence package, sees its progress and the node's verdict, downloads it, and `vms verify`
accepts the file.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from evidence.signing import InstallationKey
from recorder.segment_files import SpooledSegment
from tests.evidence.media import make_clip, make_jpeg
from tests.viewer.replay_fixtures import recorded_cameras  # noqa: F401  (session fixture)
from tests.viewer.review_yard import BATCH, OTHER, PLANNED, ReviewYard, review_yard, script_errors, sign_in
from vms.storage import EmbeddedSeaweed

VMS = Path(sys.executable).with_name("vms")


@pytest.fixture(scope="module")
def yard(
    seaweed: EmbeddedSeaweed,
    tmp_path_factory: pytest.TempPathFactory,
    recorded_cameras: dict[str, list[SpooledSegment]],  # noqa: F811
) -> Iterator[ReviewYard]:
    root = tmp_path_factory.mktemp("review-pages")
    with review_yard(seaweed, root, recorded_cameras) as node:
        clip = make_clip(root / "VID_20260301_083010.mp4", seconds=6, creation_time="2026-03-01T00:30:10Z")
        photo = make_jpeg(root / "IMG_0001.jpg", taken="2026:03:01 08:30:30")
        node.upload("li.na", BATCH, clip)
        node.upload("li.na", BATCH, photo)
        yield node


def rows(page: Page) -> list[str]:
    page.wait_for_function("document.querySelector('#count').textContent !== ''")
    numbers: list[str] = page.eval_on_selector_all("#results tr", "rs => rs.map(r => r.dataset.number)")
    return numbers


def test_batch_search_by_number_bay_and_yard_date(yard: ReviewYard, page: Page) -> None:
    sign_in(page, yard, "rev", "/ui/batches.html")
    expect(page.locator("#results tr")).to_have_count(3)
    assert set(rows(page)) == {BATCH, OTHER, PLANNED}
    expect(page.locator("#shell nav")).to_contain_text("批次查询")

    page.fill("#f-number", "R-000")  # a part of the number
    page.select_option("#f-bay", "B02")
    page.click("#do-search")
    expect(page.locator("#results tr")).to_have_count(1)
    expect(page.locator("#results tr")).to_contain_text(PLANNED)
    expect(page.locator("#results tr")).to_contain_text("二号查验位")

    page.click("#reset-search")
    page.fill("#f-from", "2026-03-01")  # a yard day: 2026-03-01 00:00 to 24:00 Asia/Shanghai
    page.fill("#f-to", "2026-03-01")
    page.click("#do-search")
    expect(page.locator("#results tr")).to_have_count(1)
    row = page.locator("#results tr").first
    expect(row).to_contain_text(BATCH)
    expect(row).to_contain_text("2026/03/01 08:30:05")  # the actual start, in yard time
    expect(row).to_contain_text("已完成")
    assert "from=2026-03-01" in page.url  # the search is in the address

    page.fill("#f-container", "tghu7654321")
    page.fill("#f-from", "")
    page.fill("#f-to", "")
    page.click("#do-search")
    expect(page.locator("#results tr")).to_have_count(1)
    expect(page.locator("#results tr")).to_contain_text(OTHER)


def test_an_inspector_finds_only_their_batches(yard: ReviewYard, page: Page) -> None:
    sign_in(page, yard, "li.na", "/ui/batches.html")
    expect(page.locator("#results tr")).to_have_count(2)
    assert set(rows(page)) == {BATCH, PLANNED}
    expect(page.locator("#shell nav")).to_contain_text("执法记录仪上传")
    expect(page.locator(f'#results tr[data-number="{BATCH}"] a.upload-link')).to_be_visible()
    page.fill("#f-inspector", "wang.wei")
    page.click("#do-search")
    expect(page.locator("#count")).to_have_text("没有符合条件的批次。")
    # another inspector's batch is not found, even by its address
    page.goto(f"{yard.url}/ui/review.html?id={yard.batch_ids[OTHER]}")
    expect(page.locator("#review-error")).to_have_text("找不到该批次，或您无权查看。")


def test_the_review_page_lists_cameras_body_cam_files_and_custody(yard: ReviewYard, page: Page) -> None:
    sign_in(page, yard, "rev", f"/ui/review.html?id={yard.batch_ids[BATCH]}")
    expect(page.locator("#batch-number")).to_have_text(BATCH)
    expect(page.locator('#batch-data dd[data-field="containers"]')).to_have_text("MSKU1234565")
    expect(page.locator('#batch-data dd[data-field="actual"]')).to_contain_text("2026/03/01 08:30:05")
    cameras = page.locator("#cameras tr")
    expect(cameras).to_have_count(2)
    expect(cameras.nth(0)).to_contain_text("北门 1 号 (yard-a)")
    expect(cameras.nth(1)).to_contain_text("北门 2 号 (yard-b)")
    items = page.locator("#items tr")
    expect(items).to_have_count(2)
    expect(page.locator('#items tr[data-file="VID_20260301_083010.mp4"]')).to_contain_text("0:06")
    expect(page.locator('#items tr[data-file="VID_20260301_083010.mp4"]')).to_contain_text(
        "2026/03/01 08:30:10"
    )
    expect(page.locator('#items tr[data-file="IMG_0001.jpg"]')).to_contain_text("照片")
    # the timeline: a lane per camera and per body-cam video, yard-a's 10 s gap, the inspection window
    labels = page.locator("#timeline .tl-label")
    expect(labels).to_have_count(3)
    expect(labels.nth(2)).to_contain_text("VID_20260301_083010.mp4")
    lane_a = page.locator(f'#timeline g.tl-lane[data-lane="cam-{yard.camera_ids["yard-a"]}"]')
    assert lane_a.locator("rect.tl-range-bar").count() == 2
    assert lane_a.locator("rect.tl-gap").count() >= 1
    expect(page.locator("#timeline rect.tl-window")).to_have_count(1)
    # custody: both uploads, by the inspector, with an intact audit chain
    expect(page.locator('#custody tr[data-action="evidence.upload"]')).to_have_count(2)
    expect(page.locator("#custody")).to_contain_text("li.na")
    expect(page.locator("#chain-state")).to_have_text("审计链完整")
    page.click("#lang")  # the page in English
    expect(page.locator("#dispute-state")).to_have_text("Not disputed")
    expect(page.locator("#timeline .tl-zoom.on")).to_have_text("All")
    assert script_errors(page) == []


def test_a_reviewer_holds_and_releases_the_batch(yard: ReviewYard, page: Page) -> None:
    sign_in(page, yard, "rev", f"/ui/review.html?id={yard.batch_ids[BATCH]}")
    expect(page.locator("#dispute-state")).to_have_text("无争议")
    page.click("#hold-button")
    expect(page.locator("#hold-message")).to_have_text("请填写原因。")
    page.fill("#hold-reason", "货主对查验结果有异议")
    page.click("#hold-button")
    expect(page.locator("#hold-message")).to_have_text("已标记争议，证据已保全。")
    expect(page.locator("#dispute-state")).to_have_text("争议中 · 证据已保全")
    expect(page.locator("#items .hold-flag .badge")).to_have_count(2)
    expect(page.locator('#custody tr[data-action="evidence.hold"]')).to_have_count(2)

    page.fill("#hold-reason", "复核完毕")
    page.click("#hold-button")
    expect(page.locator("#hold-message")).to_have_text("已解除保全。")
    expect(page.locator("#dispute-state")).to_have_text("无争议")
    expect(page.locator("#items .hold-flag .badge")).to_have_count(0)


def test_a_manager_may_replay_but_not_hold_or_export(yard: ReviewYard, page: Page) -> None:
    sign_in(page, yard, "boss", f"/ui/review.html?id={yard.batch_ids[BATCH]}")
    expect(page.locator("#cameras tr")).to_have_count(2)
    expect(page.locator("#replay-section")).to_be_visible()
    expect(page.locator("#hold-form")).to_be_hidden()
    expect(page.locator("#export-section")).to_be_hidden()


def test_a_reviewer_exports_a_package_that_vms_verify_accepts(
    yard: ReviewYard, page: Page, tmp_path: Path
) -> None:
    sign_in(page, yard, "rev", f"/ui/review.html?id={yard.batch_ids[BATCH]}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.click("#export-button")
    result = page.locator("#export-result")
    page.wait_for_function(
        "document.querySelector('#export-result').dataset.state !== 'running'", timeout=90_000
    )
    assert result.get_attribute("data-state") == "ready", page.inner_text("#export-section")
    expect(result).to_have_attribute("data-verified", "true")
    expect(result).to_contain_text("已签名，校验通过")
    expect(page.locator("#export-text")).to_contain_text("证据包已生成")
    with page.expect_download() as info:
        page.click("#package-download")
    package = tmp_path / "package.zip"
    info.value.save_as(package)
    key = tmp_path / "installation.pem"  # the node's key, obtained apart from the package
    key.write_bytes(InstallationKey.for_settings(yard.core.settings).public_key_pem)
    verified = subprocess.run(
        [str(VMS), "verify", str(package), "--public-key", str(key)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert script_errors(page) == []
