"""Reading evidence: lists scoped to inspectors, downloads (ranges), poster/preview, custody, relinking,
device clock offsets."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.evidence.conftest import EvidenceWorld, upload_file


def test_inspectors_see_only_their_batches(world: EvidenceWorld, media: dict[str, Path]) -> None:
    mine = upload_file(world, "li.na", media["mp4"])
    theirs = upload_file(world, "wang.wei", media["mkv"], batch="查验-002")
    listed = world.client.get("/api/evidence", headers=world.as_("li.na")).json()
    assert [i["id"] for i in listed["items"]] == [mine]
    assert world.client.get(f"/api/evidence/{theirs}", headers=world.as_("li.na")).status_code == 404
    assert world.client.get("/api/evidence?batch=查验-002", headers=world.as_("li.na")).status_code == 404
    everything = world.client.get("/api/evidence", headers=world.as_("manager")).json()
    assert everything["total"] == 2
    by_batch = world.client.get("/api/evidence", params={"batch": "查验-002"}, headers=world.as_("reviewer"))
    assert [i["id"] for i in by_batch.json()["items"]] == [theirs]


def test_download_whole_and_range_are_audited(world: EvidenceWorld, media: dict[str, Path]) -> None:
    data = media["avi"].read_bytes()
    item_id = upload_file(world, "li.na", media["avi"])
    r = world.client.get(f"/api/evidence/{item_id}/download", headers=world.as_("reviewer"))
    assert r.status_code == 200 and r.content == data
    assert "FILE261126-143015.avi" in r.headers["content-disposition"]
    part = world.client.get(
        f"/api/evidence/{item_id}/download", headers={**world.as_("reviewer"), "Range": "bytes=100-199"}
    )
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    bad = world.client.get(
        f"/api/evidence/{item_id}/download", headers={**world.as_("reviewer"), "Range": f"bytes={len(data)}-"}
    )
    assert bad.status_code == 416
    poster = world.client.get(f"/api/evidence/{item_id}/poster", headers=world.as_("reviewer"))
    assert poster.status_code == 200 and poster.content[:3] == b"\xff\xd8\xff"
    preview = world.client.get(f"/api/evidence/{item_id}/preview", headers=world.as_("reviewer"))
    assert preview.status_code == 200 and b"ftyp" in preview.content[:16]
    custody = world.client.get(f"/api/evidence/{item_id}/custody", headers=world.as_("reviewer")).json()
    actions = [e["action"] for e in custody["events"]]
    assert actions == ["evidence.upload", "evidence.download", "evidence.download", "evidence.preview"]
    assert custody["events"][1]["actor"] == "reviewer" and custody["audit_chain_ok"] is True
    assert custody["events"][2]["detail"]["range"] == "100-199"


def test_custody_page_is_printable(world: EvidenceWorld, media: dict[str, Path]) -> None:
    item_id = upload_file(world, "li.na", media["photo"])
    for url in (f"/api/evidence/{item_id}/custody?format=html", f"/api/evidence/{item_id}/custody.html"):
        page = world.client.get(url, headers=world.as_("reviewer"))
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "证据保管链 Chain of custody" in page.text and "上传 Upload" in page.text
        assert "查验-001" in page.text and "li.na" in page.text
        assert "CST" in page.text  # yard time zone (Asia/Shanghai)


def test_relink_by_reviewer_with_reason(world: EvidenceWorld, media: dict[str, Path]) -> None:
    item_id = upload_file(world, "li.na", media["mov"])
    body = {"batch": "查验-002", "reason": "上传到了错误的批次"}
    assert (
        world.client.post(
            f"/api/evidence/{item_id}/relink", json=body, headers=world.as_("li.na")
        ).status_code
        == 403
    )
    r = world.client.post(f"/api/evidence/{item_id}/relink", json=body, headers=world.as_("reviewer"))
    assert r.status_code == 200 and r.json()["batch_number"] == "查验-002"
    assert (
        world.client.post(
            f"/api/evidence/{item_id}/relink", json=body, headers=world.as_("reviewer")
        ).status_code
        == 409
    )
    assert (
        world.client.post(
            f"/api/evidence/{item_id}/relink", json={"batch": "查验-001"}, headers=world.as_("reviewer")
        ).status_code
        == 422
    )
    custody = world.client.get(f"/api/evidence/{item_id}/custody", headers=world.as_("reviewer")).json()
    relink = next(e for e in custody["events"] if e["action"] == "evidence.relink")
    assert relink["detail"]["reason"] == "上传到了错误的批次" and relink["detail"]["from_batch"] == "查验-001"


def test_device_clock_offset_retimes_items(world: EvidenceWorld, media: dict[str, Path]) -> None:
    item_id = upload_file(world, "li.na", media["mp4"])  # serial BC-0042, tagged 06:30:15 UTC
    body = {"offset_s": -125.5, "note": "对时：比场站钟快 125.5 秒"}
    assert (
        world.client.put(
            "/api/evidence/devices/BC-0042/clock", json=body, headers=world.as_("li.na")
        ).status_code
        == 403
    )
    r = world.client.put("/api/evidence/devices/BC-0042/clock", json=body, headers=world.as_("reviewer"))
    assert r.status_code == 200 and r.json()["items_retimed"] == 1
    item = world.client.get(f"/api/evidence/{item_id}", headers=world.as_("reviewer")).json()
    assert datetime.fromisoformat(item["recorded_start"]) == datetime.fromisoformat(
        "2026-11-26T06:28:09.500+00:00"
    )
    assert item["clock_offset_s"] == -125.5
    devices = world.client.get("/api/evidence/devices", headers=world.as_("manager")).json()
    assert devices[0]["device_serial"] == "BC-0042" and devices[0]["set_by"] == "reviewer"
