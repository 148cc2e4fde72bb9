"""The evidence migration creates exactly the tables the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import evidence.models  # noqa: F401  (registers the evidence tables)
from vms.context import CoreServices
from vms.db import Base

EVIDENCE_TABLES = {"evidence_items", "evidence_uploads", "evidence_device_clocks"}


def test_migration_matches_models(core: CoreServices) -> None:
    assert core.db.tables() >= EVIDENCE_TABLES
    with core.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diff if "evidence" in repr(d)] == []
