"""Batch import from CSV and JSON: per-row results, Chinese content, local times, all-or-nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vms.context import CoreServices
from vms.yard.actor import Actor
from vms.yard.batch_import import ImportFileError, import_batches
from vms.yard.batch_schema import BatchQuery
from vms.yard.batches import BatchService
from vms.yard.sites import BayFields, SiteFields, SiteService

ACTOR = Actor("cli:test", "cli")
CSV = (
    "number,site,bay,goods,containers,planned_start,planned_end,inspectors\n"
    "青岛-001,QD,B1,冷冻带鱼,ABCU1234567;MSKU7654321,2025-03-01 08:00,2025-03-01 10:00,张三、li\n"
    "青岛-002,QD,B9,纸浆,,,,\n"
    '青岛-003,,,"棉纱, 未漂白",,2025/03/02 09:00,,\n'
)


@pytest.fixture
def yard(core: CoreServices) -> CoreServices:
    site = SiteService(core, ACTOR).create(SiteFields(code="QD", name="青岛"))
    SiteService(core, ACTOR).create_bay(site.id, BayFields(code="B1"))
    return core


def _numbers(core: CoreServices) -> list[str]:
    return sorted(b.number for b in BatchService(core, ACTOR).search(BatchQuery()).items)


def test_csv_rows_each_own_transaction(yard: CoreServices, tmp_path: Path) -> None:
    path = tmp_path / "batches.csv"
    path.write_text(CSV, encoding="utf-8-sig")
    report = import_batches(yard, ACTOR, path)
    assert [(r.row, r.outcome) for r in report.rows] == [(2, "created"), (3, "failed"), (4, "created")]
    assert "bay" in report.rows[1].reason and "B9" in report.rows[1].reason
    assert _numbers(yard) == ["青岛-001", "青岛-003"]
    first = BatchService(yard, ACTOR).get_by_number("青岛-001")
    assert first.planned_start is not None and first.planned_start.isoformat() == "2025-03-01T00:00:00+00:00"
    assert first.inspectors == ["li", "张三"] and first.containers == ["ABCU1234567", "MSKU7654321"]
    assert BatchService(yard, ACTOR).get_by_number("青岛-003").goods == "棉纱, 未漂白"

    again = import_batches(yard, ACTOR, path)
    assert [r.outcome for r in again.rows] == ["unchanged", "failed", "unchanged"]


def test_gb18030_csv(yard: CoreServices, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("number,goods\n批次-GB,冻品\n".encode("gb18030"))
    assert [r.outcome for r in import_batches(yard, ACTOR, path).rows] == ["created"]
    assert BatchService(yard, ACTOR).get_by_number("批次-GB").goods == "冻品"


def test_atomic_writes_nothing_when_a_row_fails(yard: CoreServices, tmp_path: Path) -> None:
    path = tmp_path / "batches.json"
    items = [{"number": "J-1", "site": "QD", "goods": "钢材"}, {"number": "J-2", "site": "NOPE"}]
    path.write_text(json.dumps({"batches": items}, ensure_ascii=False), encoding="utf-8")
    report = import_batches(yard, ACTOR, path, atomic=True)
    assert [r.outcome for r in report.rows] == ["skipped", "failed"]
    assert _numbers(yard) == []
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(items[:1]), encoding="utf-8")
    assert [r.outcome for r in import_batches(yard, ACTOR, ok, atomic=True).rows] == ["created"]


def test_unreadable_files(yard: CoreServices, tmp_path: Path) -> None:
    for name, content, expected in [
        ("x.txt", "a", "use a .csv or .json"),
        ("bad.json", "[{", "not valid JSON"),
        ("bad.csv", "number,colour\n1,red\n", "unknown column"),
        ("empty.csv", "", "empty"),
    ]:
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ImportFileError, match=expected):
            import_batches(yard, ACTOR, path)
