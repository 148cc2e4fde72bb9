"""One router per domain of the core."""

from fastapi import APIRouter


def domain_routers() -> list[APIRouter]:
    """The routers of the yard model (sites, cameras, batches, users, API keys, audit)."""
    return []
