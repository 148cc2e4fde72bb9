"""Which modules hold the parts' tables: Alembic autogenerate and the schema test load them all."""

from __future__ import annotations

import importlib

PART_MODEL_MODULES = ("recorder.models", "evidence.models", "viewer.models")


def load_all_models() -> None:
    """Register every part's tables on ``vms.db.Base.metadata``."""
    importlib.import_module("vms.db.models")
    for module in PART_MODEL_MODULES:
        importlib.import_module(module)
