"""App assembly: the one place that wires the core and the parts (ingest, recorder, ...) into a node."""

from __future__ import annotations

from fastapi import APIRouter


def part_routers() -> list[APIRouter]:
    """The API routers contributed by the parts built on the core."""
    return []
