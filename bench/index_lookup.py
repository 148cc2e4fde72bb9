"""Finding a batch's footage in the recording index, as the index grows; against listing object storage.

    .venv/bin/python -m bench.index_lookup [--pg-days 3,7,14] [--sqlite-days 1,3] [--cameras 200]
                                           [--batches-per-day 1000] [--lookups 100] [--json out.json]

A year of 200 cameras at 10 s segments is 630 M segment rows (several hundred GB): not possible here. So
the index is built for N days of 200 cameras and measured at growing N (the "N1 < N2 < N3" steps), on
PostgreSQL (the multi-node database; a throwaway cluster from ``tests/fixtures/postgres.py``) and on
SQLite (the single-node default) at smaller N:

* 200 cameras, 50 bays of 4 cameras; a 10 s segment per camera every 10 s, 8,640 per camera and day,
  inserted in time order (all cameras interleaved, as the uploader inserts them), one 3-minute recording
  gap per camera and day (its ``recording_gaps`` row, no segments in it). Rows are generated in SQL
  (``generate_series`` / a recursive CTE) with the columns' real sizes (object key of the uploader's
  layout, 64-char hashes).
* 1,000 batches a day (20 per bay, 30-60 min each, actual times a few minutes off the planned ones) and
  their ``segment_batch_links``: per batch, the segments of the bay's cameras in the window widened by
  the configured margin (``BatchLinker``'s rule; a sample is re-checked with ``BatchLinker.relink_batch``,
  which must find nothing to change).
* Measured at each step, for random batches over all days: ``GET /api/batches/{id}/footage`` through the
  real app in process (FastAPI TestClient, a manager's token; the route's own SQL via the ORM, JSON, the
  audit write) -- first call and a repeat; the SQL time inside it (SQLAlchemy cursor events, by statement);
  the plan and pages touched of the segments-by-batch query (``EXPLAIN (ANALYZE, BUFFERS)``).
* Reference: a file-based NVR (or a user with an S3 browser) finds footage by listing the recordings
  key layout ``recordings/<camera>/<stream>/YYYY/MM/DD/HH/`` in object storage: SeaweedFS holding one day
  of keys for 10 cameras; the listing a batch window needs (the bay's 4 cameras, every hour it touches),
  and a day prefix, to show the cost grows with the keys under the prefix.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, literal, select, text
from sqlalchemy.engine import Connection

from bench.procstat import load_average, machine_description
from recorder.api import recording_router
from recorder.index import MAX_SEGMENT_SECONDS
from recorder.linking import BatchLinker
from recorder.models import Segment, SegmentBatchLink
from vms.context import CoreServices
from vms.db.models import BatchStatus, Bay, Camera, InspectionBatch, Role, Site, bay_cameras
from vms.storage import EmbeddedSeaweed, ObjectStore

DAY0 = datetime(2026, 1, 1, tzinfo=UTC)
SEGMENT_S = 10
PER_DAY = 86400 // SEGMENT_S
GAP_SEGMENTS = 18
"""One 3-minute gap per camera and day."""
BATCH_SPACING_MIN = 72
PASSWORD = "correct-horse-9"
SEAWEED_KEYS = ("bench", "bench-secret-key")


@dataclass
class LookupConfig:
    backends: Sequence[str] = ("postgresql", "sqlite")
    cameras: int = 200
    cameras_per_bay: int = 4
    pg_days: Sequence[int] = (3, 7, 14)
    sqlite_days: Sequence[int] = (1, 3)
    batches_per_day: int = 1000
    lookups: int = 100
    listing_cameras: int = 10
    listing_hours: int = 24
    listing_windows: int = 30
    workdir: Path | None = None
    seed: int = 6


# ---- statement timing ---------------------------------------------------------------------------------


class SqlTimer:
    """Sums the time of every SQL statement the engine runs while ``active`` (cursor events)."""

    def __init__(self, engine: Any) -> None:
        self.active = False
        self.statements: list[tuple[str, float, Any]] = []
        self._local = threading.local()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: Any
    ) -> None:
        self._local.t0 = time.perf_counter()

    def _after(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: Any
    ) -> None:
        if self.active:
            self.statements.append((statement, time.perf_counter() - self._local.t0, parameters))

    @contextlib.contextmanager
    def measure(self) -> Iterator[list[tuple[str, float, Any]]]:
        self.statements = []
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False


# ---- the index ----------------------------------------------------------------------------------------


@dataclass
class Yard:
    core: CoreServices
    camera_ids: list[int]
    bays: dict[int, list[int]]
    token: str
    days: int = 0
    batch_ids: list[int] = field(default_factory=list)
    batch_days: dict[int, int] = field(default_factory=dict)
    generation_s: float = 0.0


def make_yard(core: CoreServices, config: LookupConfig) -> Yard:
    from tests.vms.api.api_helpers import issue_token

    with core.db.session() as s:
        site = Site(code="yard", name="bench yard")
        s.add(site)
        s.flush()
        cameras = [
            Camera(
                code=f"cam{i + 1:03d}", name=f"cam{i + 1:03d}", site_id=site.id, main_url="rtsp://127.0.0.1/x"
            )
            for i in range(config.cameras)
        ]
        s.add_all(cameras)
        s.flush()
        camera_ids = [c.id for c in cameras]
        bays: dict[int, list[int]] = {}
        for b in range(config.cameras // config.cameras_per_bay):
            bay = Bay(site_id=site.id, code=f"bay{b + 1:02d}", name="")
            s.add(bay)
            s.flush()
            members = camera_ids[b * config.cameras_per_bay : (b + 1) * config.cameras_per_bay]
            s.execute(insert(bay_cameras), [{"bay_id": bay.id, "camera_id": c} for c in members])
            bays[bay.id] = members
    core.auth.create_user("manager", PASSWORD, Role.MANAGER)
    return Yard(core, camera_ids, bays, issue_token(core, "manager"))


_PG_SEGMENTS = """
INSERT INTO segments (camera_id, stream, seq, start_at, end_at, duration_s, clock_source, bucket, object_key,
    size_bytes, sha256, prev_chain_hash, chain_hash, video_codec, width, height, audio_codec,
    starts_with_keyframe, salvaged, legal_hold, created_at)
SELECT c.id, 'main', CAST(:day AS bigint) * :per_day + n.i + 1, t.at, t.at + interval '10 seconds',
    10.0, 'rtcp', 'recordings',
    'recordings/' || c.code || '/main/' || to_char(t.at AT TIME ZONE 'UTC', 'YYYY/MM/DD/HH24') || '/'
        || to_char(t.at AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS') || '.000000Z_' || substr(h.h, 1, 12)
        || '.mp4',
    5000000 + n.i % 1000, h.h || h.h, h.h || reverse(h.h), reverse(h.h) || h.h, 'h264', 1920, 1080, NULL,
    true, false, false, t.at + interval '12 seconds'
FROM generate_series(0, :per_day - 1) AS n(i)
CROSS JOIN LATERAL (SELECT CAST(:day0 AS timestamptz) + n.i * interval '10 seconds' AS at) AS t
CROSS JOIN cameras AS c
CROSS JOIN LATERAL (SELECT md5(c.id || ':' || :day || ':' || n.i) AS h) AS h
WHERE n.i NOT BETWEEN (c.id * 37 + :day * 11) % 8600 AND (c.id * 37 + :day * 11) % 8600 + :gap - 1
ORDER BY n.i, c.id
"""

_SQLITE_SEGMENTS = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :per_day - 1)
INSERT INTO segments (camera_id, stream, seq, start_at, end_at, duration_s, clock_source, bucket, object_key,
    size_bytes, sha256, prev_chain_hash, chain_hash, video_codec, width, height, audio_codec,
    starts_with_keyframe, salvaged, legal_hold, created_at)
SELECT c.id, 'main', :day * :per_day + n.i + 1,
    strftime('%Y-%m-%d %H:%M:%S', :epoch + n.i * 10, 'unixepoch') || '.000000',
    strftime('%Y-%m-%d %H:%M:%S', :epoch + n.i * 10 + 10, 'unixepoch') || '.000000',
    10.0, 'rtcp', 'recordings',
    'recordings/' || c.code || '/main/' || strftime('%Y/%m/%d/%H', :epoch + n.i * 10, 'unixepoch') || '/'
        || strftime('%Y%m%dT%H%M%S', :epoch + n.i * 10, 'unixepoch') || '.000000Z_'
        || lower(hex(randomblob(6))) || '.mp4',
    5000000 + n.i % 1000, lower(hex(randomblob(32))), lower(hex(randomblob(32))), lower(hex(randomblob(32))),
    'h264', 1920, 1080, NULL, 1, 0, 0,
    strftime('%Y-%m-%d %H:%M:%S', :epoch + n.i * 10 + 12, 'unixepoch') || '.000000'
FROM n CROSS JOIN cameras AS c
WHERE n.i NOT BETWEEN (c.id * 37 + :day * 11) % 8600 AND (c.id * 37 + :day * 11) % 8600 + :gap - 1
ORDER BY n.i, c.id
"""


def gap_start(camera_id: int, day: int) -> int:
    return (camera_id * 37 + day * 11) % 8600


def add_day(yard: Yard, config: LookupConfig, rng: random.Random) -> dict[str, float]:
    """Index one more day: segments, gaps, batches and their links."""
    day = yard.days
    day0 = DAY0 + timedelta(days=day)
    db = yard.core.db
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET LOCAL work_mem = '256MB'"))
            conn.execute(
                text(_PG_SEGMENTS),
                {"day": day, "per_day": PER_DAY, "day0": day0, "gap": GAP_SEGMENTS},
            )
        else:
            conn.execute(
                text(_SQLITE_SEGMENTS),
                {"day": day, "per_day": PER_DAY, "epoch": int(day0.timestamp()), "gap": GAP_SEGMENTS},
            )
        from recorder.models import GapReason, RecordingGap, StreamKind

        conn.execute(
            insert(RecordingGap),
            [
                {
                    "camera_id": c,
                    "stream": StreamKind.MAIN,
                    "start_at": day0 + timedelta(seconds=gap_start(c, day) * SEGMENT_S),
                    "end_at": day0 + timedelta(seconds=(gap_start(c, day) + GAP_SEGMENTS) * SEGMENT_S),
                    "reason": GapReason.CAMERA_OFFLINE,
                    "detail": "",
                    "created_at": day0,
                }
                for c in yard.camera_ids
            ],
        )
    timings["segments_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    margin = timedelta(seconds=yard.core.settings.recording.batch_margin_seconds)
    per_bay = max(1, config.batches_per_day // len(yard.bays))
    rows: list[dict[str, Any]] = []
    for bay_id in yard.bays:
        for k in range(per_bay):
            start = day0 + timedelta(minutes=k * BATCH_SPACING_MIN + rng.uniform(0, 5))
            end = start + timedelta(minutes=rng.uniform(30, 60))
            start, end = start.replace(microsecond=0), end.replace(microsecond=0)
            rows.append(
                {
                    "number": f"B{day:03d}-{bay_id:03d}-{k:02d}",
                    "bay_id": bay_id,
                    "planned_start": start,
                    "planned_end": end,
                    "actual_start": start + timedelta(minutes=rng.randint(-3, 3)),
                    "actual_end": end + timedelta(minutes=rng.randint(-3, 3)),
                    "status": BatchStatus.COMPLETED,
                    "containers": [f"CSQU{rng.randrange(10**7):07d}"],
                }
            )
    with db.session() as s:
        ids = list(
            s.scalars(
                insert(InspectionBatch).returning(InspectionBatch.id, sort_by_parameter_order=True), rows
            )
        )
        now = datetime.now(UTC)
        for batch_id, row in zip(ids, rows, strict=True):
            lo, hi = row["actual_start"] - margin, max(row["actual_end"], row["actual_start"]) + margin
            s.execute(
                insert(SegmentBatchLink).from_select(
                    ["segment_id", "batch_id", "linked_at"],
                    select(
                        Segment.id, literal(batch_id), literal(now, SegmentBatchLink.linked_at.type)
                    ).where(
                        Segment.camera_id.in_(yard.bays[row["bay_id"]]),
                        Segment.start_at >= lo - timedelta(seconds=MAX_SEGMENT_SECONDS),
                        Segment.start_at < hi,
                        Segment.end_at > lo,
                    ),
                )
            )
    timings["batches_links_s"] = time.monotonic() - t0
    yard.batch_ids.extend(ids)
    yard.batch_days.update(dict.fromkeys(ids, day))
    yard.days += 1
    return timings


def analyze(yard: Yard) -> float:
    t0 = time.monotonic()
    db = yard.core.db
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(
                text("VACUUM ANALYZE segments, segment_batch_links, recording_gaps, inspection_batches")
            )
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return time.monotonic() - t0


def sizes(yard: Yard, sqlite_path: Path | None) -> dict[str, Any]:
    db = yard.core.db
    with db.engine.connect() as conn:
        counts = {
            "segments": conn.execute(text("SELECT count(*) FROM segments")).scalar_one(),
            "links": conn.execute(text("SELECT count(*) FROM segment_batch_links")).scalar_one(),
            "batches": conn.execute(text("SELECT count(*) FROM inspection_batches")).scalar_one(),
        }
        if db.dialect == "postgresql":
            total = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            tables = {
                name: conn.execute(text(f"SELECT pg_total_relation_size('{name}')")).scalar_one()
                for name in ("segments", "segment_batch_links")
            }
        else:
            assert sqlite_path is not None
            total = sqlite_path.stat().st_size + _size(sqlite_path.with_name(sqlite_path.name + "-wal"))
            tables = {}
    return {
        **counts,
        "db_gb": round(total / 1e9, 2),
        **{f"{k}_gb": round(v / 1e9, 2) for k, v in tables.items()},
    }


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


# ---- lookups ------------------------------------------------------------------------------------------


@dataclass
class Lookup:
    batch_id: int
    day: int
    segments: int
    cameras: int
    first_ms: float
    repeat_ms: float
    sql_ms: float
    statements: int
    footage_query_ms: float


def measure_lookups(yard: Yard, timer: SqlTimer, count: int, rng: random.Random) -> list[Lookup]:
    from fastapi.testclient import TestClient

    from vms.api.app import build_api

    app = build_api(yard.core, extra_routers=[recording_router()])
    headers = {"Authorization": f"Bearer {yard.token}"}
    out = []
    with TestClient(app) as client:
        client.get("/api/health")
        for batch_id in rng.sample(yard.batch_ids, min(count, len(yard.batch_ids))):
            t0 = time.perf_counter()
            first = client.get(f"/api/batches/{batch_id}/footage", headers=headers)
            first_ms = (time.perf_counter() - t0) * 1000
            assert first.status_code == 200, first.text
            with timer.measure() as statements:
                t0 = time.perf_counter()
                again = client.get(f"/api/batches/{batch_id}/footage", headers=headers)
                repeat_ms = (time.perf_counter() - t0) * 1000
            body = again.json()
            footage_ms = sum(d for st, d, _ in statements if "segment_batch_links" in st)
            out.append(
                Lookup(
                    batch_id,
                    yard.batch_days[batch_id],
                    sum(len(c["segments"]) for c in body["cameras"]),
                    len(body["cameras"]),
                    first_ms,
                    repeat_ms,
                    sum(d for _, d, _ in statements) * 1000,
                    len(statements),
                    footage_ms * 1000,
                )
            )
    return out


def explain_footage_query(yard: Yard, timer: SqlTimer, batch_id: int) -> dict[str, Any]:
    """The plan of the route's segments-by-batch statement, as the ORM emitted it."""
    from fastapi.testclient import TestClient

    from vms.api.app import build_api

    app = build_api(yard.core, extra_routers=[recording_router()])
    with TestClient(app) as client, timer.measure() as statements:
        client.get(f"/api/batches/{batch_id}/footage", headers={"Authorization": f"Bearer {yard.token}"})
    statement, _, parameters = next(x for x in statements if "segment_batch_links" in x[0])
    db = yard.core.db
    with db.engine.connect() as conn:
        raw: Connection = conn
        if db.dialect == "postgresql":
            rows = raw.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
        else:
            rows = raw.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return {"statement": " ".join(statement.split()), "plan": [" | ".join(str(c) for c in r) for r in rows]}


def check_links(yard: Yard, rng: random.Random, count: int = 3) -> list[dict[str, Any]]:
    """Re-link a few batches (not on the first or last day) with the real BatchLinker: nothing may change."""
    linker = BatchLinker(yard.core.db, yard.core.settings.recording.batch_margin_seconds)
    middle = [b for b in yard.batch_ids if 0 < yard.batch_days[b] < yard.days - 1] or yard.batch_ids
    out = []
    for batch_id in rng.sample(middle, min(count, len(middle))):
        change = linker.relink_batch(batch_id)
        out.append({"batch_id": batch_id, "added": len(change.added), "removed": len(change.removed)})
    return out


def stats(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "median": None, "p95": None, "max": None}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "median": round(statistics.median(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 2),
        "max": round(ordered[-1], 2),
    }


def run_backend(backend: str, config: LookupConfig, workdir: Path, report: dict[str, Any]) -> None:
    from vms.config import load_settings

    steps = sorted(config.pg_days if backend == "postgresql" else config.sqlite_days)
    server = None
    sqlite_path: Path | None = None
    if backend == "postgresql":
        from tests.fixtures.postgres import start_postgres

        server = start_postgres()
    else:
        sqlite_path = workdir / "index.sqlite3"
        url = f"sqlite:///{sqlite_path}"
    rng = random.Random(config.seed)
    result: dict[str, Any] = {"backend": backend, "steps": []}
    report["backends"].append(result)
    try:
        if server is not None:
            tune_postgres(server)
            url = server.create_database("bench")
        settings = load_settings(None, data_dir=str(workdir / f"data-{backend}"), database={"url": url})
        core = CoreServices.create(settings)
        timer = SqlTimer(core.db.engine)
        yard = make_yard(core, config)
        for target in steps:
            generation: list[dict[str, float]] = []
            t0 = time.monotonic()
            while yard.days < target:
                generation.append(add_day(yard, config, rng))
                print(f"{backend}: day {yard.days} indexed {generation[-1]}", file=sys.stderr, flush=True)
            yard.generation_s += time.monotonic() - t0
            analyze_s = analyze(yard)
            lookups = measure_lookups(yard, timer, config.lookups, rng)
            step = {
                "days": yard.days,
                "load_average": load_average(),
                "generation_s": round(time.monotonic() - t0 - analyze_s, 1),
                "analyze_s": round(analyze_s, 1),
                "size": sizes(yard, sqlite_path),
                "api_first_ms": stats([x.first_ms for x in lookups]),
                "api_repeat_ms": stats([x.repeat_ms for x in lookups]),
                "sql_ms": stats([x.sql_ms for x in lookups]),
                "footage_query_ms": stats([x.footage_query_ms for x in lookups]),
                "statements": stats([float(x.statements) for x in lookups]),
                "segments_per_batch": stats([float(x.segments) for x in lookups]),
                "explain": explain_footage_query(yard, timer, lookups[0].batch_id),
                "link_check": check_links(yard, rng),
                "raw": [asdict(x) for x in lookups],
            }
            result["steps"].append(step)
            print(
                f"{backend}: {yard.days} days: {step['size']}, api {step['api_repeat_ms']}", file=sys.stderr
            )
        core.db.dispose()
    finally:
        if server is not None:
            result["data_dir_gb"] = round(_du(server.base_dir) / 1e9, 2)
            server.stop()
        if sqlite_path is not None:
            result["data_dir_gb"] = round(_du(sqlite_path.parent) / 1e9, 2)


def tune_postgres(server: Any) -> None:
    """A realistic server for this machine's RAM (the test cluster runs PostgreSQL's tiny defaults)."""
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        for name, value in (
            ("shared_buffers", "2GB"),
            ("effective_cache_size", "12GB"),
            ("maintenance_work_mem", "1GB"),
            ("max_wal_size", "16GB"),
            ("checkpoint_timeout", "30min"),
            ("random_page_cost", "1.1"),
        ):
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    r = server._run(
        str(server.bin_dir / "pg_ctl"),
        "-D",
        str(server.data_dir),
        "-l",
        str(server.log_file),
        "-w",
        "-t",
        "60",
        "restart",
    )
    if r.returncode != 0:
        raise RuntimeError(f"pg_ctl restart failed: {r.stdout} {r.stderr}")
    server.wait_ready()


def _du(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        with contextlib.suppress(OSError):
            if p.is_file():
                total += p.stat().st_size
    return total


# ---- object storage listing (the reference) -----------------------------------------------------------


def listing_reference(config: LookupConfig, workdir: Path) -> dict[str, Any]:
    """One day of keys for ``listing_cameras`` cameras in SeaweedFS; listing a batch window's hours."""
    rng = random.Random(config.seed + 2)
    seaweed = EmbeddedSeaweed(workdir / "seaweed", *SEAWEED_KEYS, log_path=workdir / "weed.log")
    seaweed.start()
    bucket = "recordings"
    try:
        store = seaweed.object_store(parallel_uploads=16)
        store.ensure_bucket(bucket)
        keys = [
            segment_key(f"cam{c + 1:03d}", DAY0 + timedelta(seconds=i * SEGMENT_S), f"{c:02d}{i:06d}")
            for i in range(config.listing_hours * 3600 // SEGMENT_S)
            for c in range(config.listing_cameras)
        ]
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda k: store.put_bytes(bucket, k, b""), keys))
        put_s = time.monotonic() - t0
        windows = []
        for _ in range(config.listing_windows):
            start = DAY0 + timedelta(minutes=rng.uniform(5, config.listing_hours * 60 - 70))
            end = start + timedelta(minutes=rng.uniform(30, 60))
            t0 = time.monotonic()
            found, listed = list_window(store, bucket, [f"cam{c + 1:03d}" for c in range(4)], start, end)
            windows.append({"ms": (time.monotonic() - t0) * 1000, "listed": listed, "found": found})
        prefixes = {}
        for label, prefix in (
            ("hour", f"recordings/cam001/main/{DAY0:%Y/%m/%d}/05/"),
            ("day", f"recordings/cam001/main/{DAY0:%Y/%m/%d}/"),
            ("all cameras, day", "recordings/"),
        ):
            times = []
            for _ in range(3):
                t0 = time.monotonic()
                count = sum(1 for _ in store.list(bucket, prefix))
                times.append((time.monotonic() - t0) * 1000)
            prefixes[label] = {"keys": count, "ms": round(min(times), 1)}
        return {
            "keys": len(keys),
            "put_s": round(put_s, 1),
            "window_ms": stats([w["ms"] for w in windows]),
            "window_keys_listed": stats([float(w["listed"]) for w in windows]),
            "window_segments_found": stats([float(w["found"]) for w in windows]),
            "prefixes": prefixes,
            "seaweed_data_mb": round(_du(workdir / "seaweed") / 1e6, 1),
        }
    finally:
        seaweed.stop()


def segment_key(code: str, at: datetime, uid: str) -> str:
    """The uploader's layout (``recorder.uploader.object_key``)."""
    return f"recordings/{code}/main/{at:%Y/%m/%d/%H}/{at:%Y%m%dT%H%M%S}.{at.microsecond:06d}Z_{uid}.mp4"


def list_window(
    store: ObjectStore, bucket: str, codes: list[str], start: datetime, end: datetime
) -> tuple[int, int]:
    """Segments of ``codes`` overlapping [start, end): list every hour prefix the window (and the segment
    before it) touches; keep keys by the start time in their names. Returns (found, listed)."""
    found = listed = 0
    for code in codes:
        hour = (start - timedelta(seconds=MAX_SEGMENT_SECONDS)).replace(minute=0, second=0, microsecond=0)
        while hour < end:
            for obj in store.list(bucket, f"recordings/{code}/main/{hour:%Y/%m/%d/%H}/"):
                listed += 1
                name = obj.key.rsplit("/", 1)[1].split("_", 1)[0]
                began = datetime.strptime(name, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
                if start - timedelta(seconds=SEGMENT_S) < began < end:
                    found += 1
            hour += timedelta(hours=1)
    return found, listed


# ---- report -------------------------------------------------------------------------------------------


def run_benchmark(config: LookupConfig) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="index-bench-", dir=config.workdir or "/tmp"))
    report: dict[str, Any] = {
        "date": dt.datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "load_average_start": load_average(),
        "backends": [],
    }
    try:
        if config.listing_cameras and config.listing_hours:
            report["listing"] = listing_reference(config, workdir)
        for backend in config.backends:
            run_backend(backend, config, workdir, report)
    finally:
        report["load_average_end"] = load_average()
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def markdown_table(report: dict[str, Any]) -> str:
    lines = [
        "| backend, days | segments | links | DB size GB | API first call ms median / p95 "
        "| API repeat ms median / p95 | SQL in the call ms median / p95 | footage query ms median / p95 "
        "| segments per batch (median) | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend in report["backends"]:
        for step in backend["steps"]:
            size = step["size"]

            def ms(key: str, step: dict[str, Any] = step) -> str:
                return f"{step[key]['median']} / {step[key]['p95']}"

            lines.append(
                f"| {backend['backend']}, {step['days']} | {size['segments']:,} | {size['links']:,} "
                f"| {size['db_gb']} | {ms('api_first_ms')} | {ms('api_repeat_ms')} | {ms('sql_ms')} "
                f"| {ms('footage_query_ms')} | {step['segments_per_batch']['median']:.0f} "
                f"| {step['load_average'][0]:.1f} |"
            )
    listing = report.get("listing")
    if listing:
        lines.append("")
        lines.append(
            f"Object storage ({listing['keys']:,} keys): batch window listing "
            f"{listing['window_ms']['median']} / {listing['window_ms']['p95']} ms (median / p95, "
            f"{listing['window_keys_listed']['median']:.0f} keys listed); prefixes: "
            + ", ".join(f"{k}: {v['keys']} keys {v['ms']} ms" for k, v in listing["prefixes"].items())
        )
    return "\n".join(lines)


def _days(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--pg-days", type=_days, default=(3, 7, 14))
    parser.add_argument("--sqlite-days", type=_days, default=(1, 3))
    parser.add_argument("--batches-per-day", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=100)
    parser.add_argument("--listing-cameras", type=int, default=10)
    parser.add_argument("--listing-hours", type=int, default=24)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    config = LookupConfig(
        backends=tuple(b for b in args.backends.split(",") if b),
        cameras=args.cameras,
        pg_days=args.pg_days,
        sqlite_days=args.sqlite_days,
        batches_per_day=args.batches_per_day,
        lookups=args.lookups,
        listing_cameras=args.listing_cameras,
        listing_hours=args.listing_hours,
        workdir=args.workdir,
    )
    report = run_benchmark(config)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    print(markdown_table(report))
    print(f"load average start {report['load_average_start']}, end {report['load_average_end']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
