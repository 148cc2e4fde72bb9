"""Shared fixtures: one SeaweedFS and one PostgreSQL per session, simulated cameras, core services on both
databases (``core`` runs each test that uses it on SQLite and on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vms.config import Settings, load_settings
from vms.context import CoreServices

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.seaweed",
    "tests.fixtures.cameras",
    "tests.fixtures.browser",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vms.sqlite3'}"
    factory: Callable[[str], str] = request.getfixturevalue("fresh_postgres_database")
    return factory("t")


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        overrides.setdefault("data_dir", str(tmp_path / "data"))
        return load_settings(None, **overrides)

    return make


@pytest.fixture
def core(database_url: str, settings_factory: Callable[..., Settings]) -> Iterator[CoreServices]:
    """Core services (migrated database, audit log, auth) on SQLite and on PostgreSQL; no object store."""
    settings = settings_factory(database={"url": database_url})
    services = CoreServices.create(settings)
    yield services
    services.db.dispose()
