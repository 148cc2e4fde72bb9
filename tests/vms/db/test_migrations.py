"""Migrations build the whole schema from an empty database, and running them again changes nothing."""

from __future__ import annotations

from vms.db import Database

CORE_TABLES = {
    "sites",
    "bays",
    "bay_cameras",
    "cameras",
    "inspection_batches",
    "batch_inspectors",
    "users",
    "api_keys",
    "auth_sessions",
    "audit_events",
    "audit_head",
    "alerts",
}


def test_migrate_from_empty_and_again(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert db.tables() == set()
        db.migrate()
        tables = db.tables()
        assert tables >= CORE_TABLES
        db.migrate()
        assert db.tables() == tables
    finally:
        db.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/wal.sqlite3")
    db.migrate()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    db.dispose()
