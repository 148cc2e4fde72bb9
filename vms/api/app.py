"""Builds the FastAPI app of the core; parts add their routers through ``extra_routers``."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI

from vms import __version__
from vms.api.body_limit import BodyLimitMiddleware
from vms.api.errors import install_error_handlers
from vms.api.routers import auth, health
from vms.context import CoreServices

MAX_JSON_BODY = 1024 * 1024
# Routes that take large bodies (uploads) and check their own limits.
LARGE_BODY_PREFIXES = ("/api/uploads", "/api/evidence/uploads")


def core_routers() -> list[APIRouter]:
    from vms.api.routers import domain_routers

    return [auth.router, health.router, *domain_routers()]


def build_api(core: CoreServices, extra_routers: Sequence[APIRouter] = ()) -> FastAPI:
    app = FastAPI(
        title="yard-vms",
        version=__version__,
        description="Video surveillance and evidence management for inspection yards.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.core = core
    install_error_handlers(app)
    for router in [*core_routers(), *extra_routers]:
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_JSON_BODY, exempt_prefixes=LARGE_BODY_PREFIXES)
    return app
