"""The migrations build the whole schema from an empty database, on SQLite and PostgreSQL."""

from __future__ import annotations

from vms.db import Base, Database


def test_migrate_from_empty(database_url: str) -> None:
    import recorder.models  # noqa: F401 - registers the recording tables in the metadata

    db = Database(database_url)
    try:
        assert db.tables() == set()
        db.migrate()
        tables = db.tables()
        assert set(Base.metadata.tables) <= tables
        assert "alembic_version" in tables
        db.migrate()  # a second start changes nothing
        assert db.tables() == tables
    finally:
        db.dispose()


def test_models_and_migrations_agree(database_url: str) -> None:
    """A model changed without a migration (or the other way round) fails here, not in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from vms.assembly.schema import load_all_models

    load_all_models()
    db = Database(database_url)
    try:
        db.migrate()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
    finally:
        db.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/wal.sqlite3")
    db.migrate()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    db.dispose()
