"""Staging files: finished ones leave the staging folder at once and are deleted in the background."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from evidence.staging import StagingRemoval, release_cached, staging_dir
from vms.config import Settings


def test_a_finished_staging_file_leaves_at_once_and_is_deleted_soon(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory()
    staged = staging_dir(settings) / "f00d"
    staged.write_bytes(b"x" * 1024 * 1024)
    removal = StagingRemoval(settings)
    removal.remove(staged)
    assert list(staging_dir(settings).iterdir()) == []
    trash = Path(settings.data_dir) / "evidence-staging-trash"
    deadline = time.monotonic() + 10
    while list(trash.iterdir()):
        assert time.monotonic() < deadline, "the staging file was not deleted"
        time.sleep(0.02)
    removal.remove(staged)  # already gone: nothing to do


def test_what_a_crash_left_in_the_trash_is_emptied(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory()
    trash = Path(settings.data_dir) / "evidence-staging-trash"
    trash.mkdir(parents=True)
    (trash / "left-by-a-crash").write_bytes(b"x")
    StagingRemoval(settings).empty_trash()
    assert list(trash.iterdir()) == []


def test_releasing_sent_bytes_from_the_cache_keeps_them_in_the_file(tmp_path: Path) -> None:
    """Parts already in S3 leave the page cache; the staging file still holds them for a resume."""
    staged = tmp_path / "upload"
    data = os.urandom(3 * 1024 * 1024)
    staged.write_bytes(data)
    release_cached(staged, 1024 * 1024, 1024 * 1024)
    assert staged.read_bytes() == data
    release_cached(tmp_path / "gone", 0, 1024)  # a file removed meanwhile: nothing to do
