"""Serves the web UI's pages and assets from the app itself (no CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from vms.api.deps import public

WEB_DIR = Path(__file__).with_name("web")

router = APIRouter(include_in_schema=False)


@router.get("/", dependencies=[public()])
def home() -> RedirectResponse:
    return RedirectResponse("/ui/status.html")


@router.get("/ui/{name}", dependencies=[public()])
def asset(name: str) -> FileResponse:
    from vms.api.errors import not_found

    path = (WEB_DIR / name).resolve()
    if path.parent != WEB_DIR.resolve() or not path.is_file():
        raise not_found("page")
    return FileResponse(path, headers={"Cache-Control": "no-cache"})
