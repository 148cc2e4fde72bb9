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


def test_head_revision_is_read_without_alembic_as_alembic_reads_it() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from vms.db.engine import MIGRATIONS_DIR, script_heads

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert script_heads() == set(ScriptDirectory.from_config(config).get_heads())


def test_a_restart_on_a_migrated_database_does_not_load_alembic(tmp_path: object) -> None:
    """Alembic (~11 MB) is imported only when the schema is behind the scripts."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path}/vms.sqlite3"
    script = (
        "import sys; from vms.db import Database; db = Database(sys.argv[1]); "
        "print(db.at_newest_revision()); db.migrate(); print('alembic' in sys.modules)"
    )
    first = subprocess.run([sys.executable, "-c", script, url], capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["False", "True"]  # created: Alembic ran
    again = subprocess.run([sys.executable, "-c", script, url], capture_output=True, text=True, check=True)
    assert again.stdout.split() == ["True", "False"]
