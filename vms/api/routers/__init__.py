"""One router per domain of the core."""

from fastapi import APIRouter


def domain_routers() -> list[APIRouter]:
    """The routers of the yard model (sites, cameras, batches, users, API keys, audit)."""
    from vms.api.routers import api_keys, audit, batches, cameras, sites, users

    return [sites.router, cameras.router, batches.router, users.router, api_keys.router, audit.router]
