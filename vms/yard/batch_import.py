"""Import inspection batches from a CSV or JSON file, each row an upsert by batch number.

CSV: UTF-8 (a BOM is fine; GB18030 from Chinese Excel is also read), a header row naming the columns of
``CSV_COLUMNS`` (only ``number`` is required; order is free). Lists (``containers``, ``inspectors``) are
separated by ``;``, ``,``, ``、`` or spaces. JSON: a list of objects with the same keys (lists as lists), or
``{"batches": [...]}``. Times without an offset are taken as the yard's local time (``timezone``).

Each row is its own transaction: a bad row is reported and nothing of it is written. With ``atomic`` the
whole file is one transaction: any bad row writes nothing at all.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vms.context import CoreServices
from vms.yard.actor import Actor
from vms.yard.batch_schema import TIME_FIELDS, BatchCreate, BatchFields
from vms.yard.batches import BatchChange, BatchService, write_upsert
from vms.yard.errors import YardError
from vms.yard.times import parse_local_time
from vms.yard.validation import describe

CSV_COLUMNS = (
    "number",
    "declaration_no",
    "containers",
    "goods",
    "site",
    "bay",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "status",
    "inspectors",
    "retention_days",
    "notes",
)
_LIST_COLUMNS = ("containers", "inspectors")
_LIST_SEPARATORS = re.compile(r"[;,，；、\s]+")


class ImportFileError(YardError):
    """The file as a whole cannot be read (format, encoding, header)."""


@dataclass(frozen=True)
class RowResult:
    row: int
    number: str | None
    outcome: str  # created, updated, unchanged, failed, skipped
    reason: str = ""


@dataclass
class ImportReport:
    rows: list[RowResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def failed(self) -> bool:
        return self.count("failed") > 0


@dataclass(frozen=True)
class _Row:
    row: int
    number: str | None
    fields: BatchFields | None
    error: str = ""


def read_records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """``(row number, record)`` pairs; CSV rows count from the header (row 1), JSON items from 1."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ImportFileError(f"{path}: unknown file type {suffix or '(none)'}; use a .csv or .json file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read the file: {exc.strerror}") from None
    text = _decode(path, raw)
    return _csv_records(path, text) if suffix == ".csv" else _json_records(path, text)


def _decode(path: Path, raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(f"{path}: the file is neither UTF-8 nor GB18030 text")


def _csv_records(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportFileError(f"{path}: the file is empty; the first row must name the columns") from None
    except csv.Error as exc:
        raise ImportFileError(f"{path}: not valid CSV: {exc}") from None
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise ImportFileError(
            f"{path}: unknown column(s) {', '.join(map(repr, unknown))}; known: {', '.join(CSV_COLUMNS)}"
        )
    if "number" not in header:
        raise ImportFileError(f"{path}: the header has no 'number' column")
    out: list[tuple[int, dict[str, Any]]] = []
    try:
        for index, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            record: dict[str, Any] = {}
            for name, cell in zip(header, cells, strict=False):
                cell = cell.strip()
                if cell:
                    record[name] = _split(cell) if name in _LIST_COLUMNS else cell
            if len(cells) > len(header):
                record["__extra__"] = True
            out.append((index, record))
    except csv.Error as exc:
        raise ImportFileError(f"{path}: not valid CSV near row {reader.line_num}: {exc}") from None
    return out


def _split(cell: str) -> list[str]:
    return [x for x in _LIST_SEPARATORS.split(cell) if x]


def _json_records(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ImportFileError(f"{path}: not valid JSON at {where}: {exc.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("batches"), list):
        data = data["batches"]
    if not isinstance(data, list):
        raise ImportFileError(f'{path}: expected a list of batches or {{"batches": [...]}}')
    return [(i, x if isinstance(x, dict) else {"__not_object__": x}) for i, x in enumerate(data, start=1)]


def parse_record(record: dict[str, Any], zone: tzinfo) -> tuple[str | None, BatchFields]:
    """The batch number and fields of one record; raises ValueError with a readable reason."""
    number = record.get("number")
    number = str(number).strip() if number is not None else None
    if "__not_object__" in record:
        raise ValueError("each item must be an object with the batch's fields")
    if record.get("__extra__"):
        raise ValueError("the row has more cells than the header has columns")
    values = dict(record)
    for key in TIME_FIELDS:
        if isinstance(values.get(key), str):
            try:
                values[key] = parse_local_time(values[key], zone)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
    try:
        created = BatchCreate.model_validate(values)
    except ValidationError as exc:
        raise ValueError(describe(exc)) from None
    return created.number, BatchFields(**created.model_dump(exclude={"number"}))


def import_batches(core: CoreServices, actor: Actor, path: Path, *, atomic: bool = False) -> ImportReport:
    rows = [_parse(core, row, record) for row, record in read_records(path)]
    service = BatchService(core, actor)
    return _write_atomic(core, service, rows) if atomic else _write_each(core, service, rows)


def _parse(core: CoreServices, row: int, record: dict[str, Any]) -> _Row:
    try:
        number, fields = parse_record(record, core.settings.zone)
    except ValueError as exc:
        raw = record.get("number")
        return _Row(row, str(raw) if raw is not None else None, None, str(exc))
    return _Row(row, number, fields)


def _write_each(core: CoreServices, service: BatchService, rows: list[_Row]) -> ImportReport:
    report = ImportReport()
    for r in rows:
        if r.fields is None or r.number is None:
            report.rows.append(RowResult(r.row, r.number, "failed", r.error))
            continue
        try:
            with core.db.session() as s:
                change = write_upsert(s, r.number, r.fields)
        except YardError as exc:
            report.rows.append(RowResult(r.row, r.number, "failed", str(exc)))
            continue
        service.announce([change])
        report.rows.append(RowResult(r.row, r.number, change.outcome.value))
    return report


def _write_atomic(core: CoreServices, service: BatchService, rows: list[_Row]) -> ImportReport:
    report = ImportReport()
    bad = [RowResult(r.row, r.number, "failed", r.error) for r in rows if r.fields is None]
    if bad:
        report.rows = [*bad, *(_skipped(r) for r in rows if r.fields is not None)]
        report.rows.sort(key=lambda x: x.row)
        return report
    changes: list[BatchChange] = []
    try:
        with core.db.session() as s:
            for r in rows:
                assert r.number is not None and r.fields is not None
                try:
                    changes.append(write_upsert(s, r.number, r.fields))
                except YardError as exc:
                    failed = RowResult(r.row, r.number, "failed", str(exc))
                    report.rows = [failed if x is r else _skipped(x) for x in rows]
                    raise
    except YardError:
        return report
    service.announce(changes)
    report.rows = [RowResult(r.row, r.number, c.outcome.value) for r, c in zip(rows, changes, strict=True)]
    return report


def _skipped(r: _Row) -> RowResult:
    return RowResult(r.row, r.number, "skipped", "not written: the atomic import was rolled back")
