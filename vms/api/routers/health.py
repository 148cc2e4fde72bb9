"""Liveness and readiness of the node: database and object storage."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from vms import __version__
from vms.api.deps import Core, public

router = APIRouter(prefix="/api", tags=["system"])


@router.get("/health", dependencies=[public()])
async def health(core: Core) -> JSONResponse:
    def check_db() -> bool:
        try:
            with core.db.sessions() as s:
                s.execute(text("select 1"))
            return True
        except Exception:
            return False

    db_ok = await asyncio.to_thread(check_db)
    storage_ok = await asyncio.to_thread(core.store.ping) if core.store is not None else False
    ok = db_ok and storage_ok
    body = {
        "status": "ok" if ok else "degraded",
        "version": __version__,
        "database": "ok" if db_ok else "unreachable",
        "object_storage": "ok" if storage_ok else "unreachable",
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/system/info", dependencies=[public()])
def system_info(core: Core) -> dict[str, str]:
    """What a page needs before sign-in: version, the yard's time zone and default language."""
    return {
        "version": __version__,
        "timezone": core.settings.timezone,
        "default_language": core.settings.default_language,
    }
