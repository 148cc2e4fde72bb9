"""Fixtures of the recorder tests: a migrated database with a camera, a spool, a recorder on SeaweedFS."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from recorder.index import SegmentIndex
from vms.db import Database
from vms.db.models import Camera


@dataclass(frozen=True)
class CameraRow:
    id: int
    code: str


def add_camera(db: Database, code: str | None = None) -> CameraRow:
    code = code or f"cam-{uuid.uuid4().hex[:6]}"
    with db.session() as s:
        camera = Camera(code=code, main_url="rtsp://127.0.0.1:1/cam")
        s.add(camera)
        s.flush()
        return CameraRow(camera.id, code)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'vms.sqlite3'}")
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def any_db(database_url: str) -> Iterator[Database]:
    """A migrated database, once on SQLite and once on PostgreSQL."""
    db = Database(database_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def camera(sqlite_db: Database) -> CameraRow:
    return add_camera(sqlite_db)


@pytest.fixture
def index(sqlite_db: Database) -> SegmentIndex:
    return SegmentIndex(sqlite_db)
