"""Serves the web UI's pages and assets from the app itself (no CDN, no build step).

``/`` sends a signed-in user to the home page of their role (the live wall for operators, the desktop
viewer for managers and administrators, batch search for reviewers, body-cam upload for inspectors, a page
listing what they may open for the others) and everyone else to the sign-in page.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse

from vms.api.deps import authenticate, get_core, public
from vms.api.errors import ApiError, not_found
from vms.db.models import Role

WEB_DIR = Path(__file__).with_name("web")

HOME_PAGES: dict[Role, str] = {
    Role.OPERATOR: "wall.html",
    Role.MANAGER: "desk.html",
    Role.ADMIN: "desk.html",
    Role.REVIEWER: "batches.html",
    Role.INSPECTOR: "upload.html",
}
DEFAULT_HOME = "home.html"
LOGIN_PAGE = "login.html"

router = APIRouter(include_in_schema=False)


def home_page(role: Role | None) -> str:
    """The page ``/`` opens for a role (None: not signed in)."""
    if role is None:
        return LOGIN_PAGE
    return HOME_PAGES.get(role, DEFAULT_HOME)


@router.get("/", dependencies=[public()])
def home(request: Request) -> RedirectResponse:
    try:
        principal = authenticate(request, get_core(request))
    except ApiError:
        principal = None
    return RedirectResponse(f"/ui/{home_page(principal.role if principal else None)}")


@router.get("/ui", dependencies=[public()])
@router.get("/ui/", dependencies=[public()])
def ui_root() -> RedirectResponse:
    return RedirectResponse("/")


@router.get("/ui/{name}", dependencies=[public()])
def asset(name: str) -> FileResponse:
    path = (WEB_DIR / name).resolve()
    if path.parent != WEB_DIR.resolve() or not path.is_file():
        raise not_found("page")
    return FileResponse(path, headers={"Cache-Control": "no-cache"})
