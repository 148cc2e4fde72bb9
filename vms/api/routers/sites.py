"""Sites, their bays and which cameras cover each bay."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vms.api.deps import Core, require
from vms.api.routers.common import actor_of
from vms.auth import Permission, Principal
from vms.yard.sites import (
    BayCoverage,
    BayFields,
    BayPatch,
    BayView,
    CameraRef,
    SiteFields,
    SitePatch,
    SiteService,
    SiteView,
)

router = APIRouter(prefix="/api/sites", tags=["sites"])


def _sites(core: Core, principal: Principal, request: Request) -> SiteService:
    return SiteService(core, actor_of(principal, request))


@router.get("", response_model=list[SiteView])
def list_sites(
    request: Request, core: Core, principal: Principal = require(Permission.SITES_READ)
) -> list[SiteView]:
    """Every site with its bays and the codes of the cameras covering each bay."""
    return _sites(core, principal, request).tree()


@router.post("", response_model=SiteView, status_code=201)
def create_site(
    body: SiteFields, request: Request, core: Core, principal: Principal = require(Permission.SITES_WRITE)
) -> SiteView:
    return _sites(core, principal, request).create(body)


@router.get("/{site_id}", response_model=SiteView)
def get_site(
    site_id: int, request: Request, core: Core, principal: Principal = require(Permission.SITES_READ)
) -> SiteView:
    return _sites(core, principal, request).get(site_id)


@router.patch("/{site_id}", response_model=SiteView)
def update_site(
    site_id: int,
    body: SitePatch,
    request: Request,
    core: Core,
    principal: Principal = require(Permission.SITES_WRITE),
) -> SiteView:
    return _sites(core, principal, request).update(site_id, body)


@router.delete("/{site_id}", status_code=204)
def delete_site(
    site_id: int, request: Request, core: Core, principal: Principal = require(Permission.SITES_WRITE)
) -> Response:
    """Delete a site and its bays; 409 while batches or cameras still use it."""
    _sites(core, principal, request).delete(site_id)
    return Response(status_code=204)


@router.post("/{site_id}/bays", response_model=BayView, status_code=201)
def create_bay(
    site_id: int,
    body: BayFields,
    request: Request,
    core: Core,
    principal: Principal = require(Permission.SITES_WRITE),
) -> BayView:
    return _sites(core, principal, request).create_bay(site_id, body)


@router.patch("/{site_id}/bays/{bay_id}", response_model=BayView)
def update_bay(
    site_id: int,
    bay_id: int,
    body: BayPatch,
    request: Request,
    core: Core,
    principal: Principal = require(Permission.SITES_WRITE),
) -> BayView:
    return _sites(core, principal, request).update_bay(site_id, bay_id, body)


@router.delete("/{site_id}/bays/{bay_id}", status_code=204)
def delete_bay(
    site_id: int,
    bay_id: int,
    request: Request,
    core: Core,
    principal: Principal = require(Permission.SITES_WRITE),
) -> Response:
    """Delete a bay; 409 while batches use it."""
    _sites(core, principal, request).delete_bay(site_id, bay_id)
    return Response(status_code=204)


@router.get("/{site_id}/bays/{bay_id}/cameras", response_model=list[CameraRef])
def bay_cameras(
    site_id: int,
    bay_id: int,
    request: Request,
    core: Core,
    principal: Principal = require(Permission.SITES_READ),
) -> list[CameraRef]:
    """The cameras covering a bay."""
    return _sites(core, principal, request).bay_cameras(site_id, bay_id)


@router.put("/{site_id}/bays/{bay_id}/cameras", response_model=list[CameraRef])
def set_bay_cameras(
    site_id: int,
    bay_id: int,
    body: BayCoverage,
    request: Request,
    core: Core,
    principal: Principal = require(Permission.SITES_WRITE),
) -> list[CameraRef]:
    """Replace the list of cameras covering a bay."""
    return _sites(core, principal, request).set_bay_cameras(site_id, bay_id, body.cameras)
