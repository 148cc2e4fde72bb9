"""The viewer's routers for the app assembly: the web UI's pages and the saved wall layouts."""

from __future__ import annotations

from fastapi import APIRouter


def viewer_routers() -> list[APIRouter]:
    from viewer.layouts import router as layouts_router
    from viewer.pages import router as pages_router

    return [pages_router, layouts_router]
