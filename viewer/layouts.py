"""Live-wall layouts saved per user: ``GET/PUT/DELETE /api/viewer/layouts[/{name}]`` (``live:view``).

A layout is a grid (1, 4, 9, 16 or 25 tiles) and, in reading order, what each tile shows: nothing, or a
camera and the stream to play ("auto" plays the sub stream when the camera has one, else the main one).
Layouts belong to people: API keys get 403 here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from viewer.models import GRIDS, ViewerLayout
from vms.api.deps import Core, require
from vms.api.errors import ApiError, forbidden, not_found
from vms.auth import Permission, Principal
from vms.db.models import Camera

LayoutName = Annotated[str, Path(min_length=1, max_length=100)]


class Tile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    camera_id: int
    stream: Literal["auto", "main", "sub"] = "auto"


class LayoutFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grid: Literal[1, 4, 9, 16, 25]
    tiles: list[Tile | None] = Field(default_factory=list, max_length=max(GRIDS))

    @model_validator(mode="after")
    def _fits(self) -> LayoutFields:
        if len(self.tiles) > self.grid:
            raise ValueError(f"tiles: {len(self.tiles)} tiles do not fit a grid of {self.grid}")
        return self


class LayoutView(LayoutFields):
    name: str
    updated_at: datetime


class LayoutList(BaseModel):
    items: list[LayoutView]


router = APIRouter(prefix="/api/viewer/layouts", tags=["viewer"])


def _user_id(principal: Principal) -> int:
    if principal.kind != "user":
        raise forbidden("layouts belong to people: sign in as a user")
    return principal.id


def _view(row: ViewerLayout) -> LayoutView:
    return LayoutView.model_validate(
        {"name": row.name, "grid": row.grid, "tiles": row.tiles, "updated_at": row.updated_at}
    )


@router.get("", response_model=LayoutList)
def list_layouts(core: Core, principal: Principal = require(Permission.LIVE_VIEW)) -> LayoutList:
    """The caller's layouts, by name."""
    user_id = _user_id(principal)
    with core.db.sessions() as s:
        rows = s.execute(
            select(ViewerLayout).where(ViewerLayout.user_id == user_id).order_by(ViewerLayout.name)
        ).scalars()
        return LayoutList(items=[_view(r) for r in rows])


@router.get("/{name}", response_model=LayoutView)
def get_layout(
    name: LayoutName, core: Core, principal: Principal = require(Permission.LIVE_VIEW)
) -> LayoutView:
    user_id = _user_id(principal)
    with core.db.sessions() as s:
        row = _find(s, user_id, name)
        if row is None:
            raise not_found("layout")
        return _view(row)


@router.put("/{name}", response_model=LayoutView)
def put_layout(
    name: LayoutName, body: LayoutFields, core: Core, principal: Principal = require(Permission.LIVE_VIEW)
) -> LayoutView:
    """Create or replace the caller's layout ``name``. Unknown camera ids answer 422."""
    user_id = _user_id(principal)
    wanted = {t.camera_id for t in body.tiles if t is not None}
    with core.db.session() as s:
        if wanted:
            known = set(s.execute(select(Camera.id).where(Camera.id.in_(wanted))).scalars())
            missing = sorted(wanted - known)
            if missing:
                raise ApiError(
                    422,
                    f"tiles: no camera with id {', '.join(map(str, missing))}",
                    code="validation_error",
                    fields=[{"field": "tiles", "message": "unknown camera"}],
                )
        tiles: list[dict[str, Any] | None] = [t.model_dump() if t else None for t in body.tiles]
        row = _find(s, user_id, name)
        if row is None:
            row = ViewerLayout(user_id=user_id, name=name, grid=body.grid, tiles=tiles)
            s.add(row)
        else:
            row.grid = body.grid
            row.tiles = tiles
        s.flush()
        return _view(row)


@router.delete("/{name}", status_code=204)
def delete_layout(
    name: LayoutName, core: Core, principal: Principal = require(Permission.LIVE_VIEW)
) -> Response:
    user_id = _user_id(principal)
    with core.db.session() as s:
        row = _find(s, user_id, name)
        if row is None:
            raise not_found("layout")
        s.delete(row)
    return Response(status_code=204)


def _find(s: Session, user_id: int, name: str) -> ViewerLayout | None:
    row: ViewerLayout | None = s.execute(
        select(ViewerLayout).where(ViewerLayout.user_id == user_id, ViewerLayout.name == name)
    ).scalar_one_or_none()
    return row
