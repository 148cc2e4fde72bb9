"""Cameras. Responses never carry the password (only ``has_password``); URLs never carry credentials."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vms.api.deps import Core, require
from vms.api.routers.common import actor_of
from vms.auth import Permission, Principal
from vms.yard.cameras import CameraFields, CameraPatch, CameraService, CameraView

router = APIRouter(prefix="/api/cameras", tags=["cameras"])


def _cameras(core: Core, principal: Principal, request: Request) -> CameraService:
    return CameraService(core, actor_of(principal, request))


@router.get("", response_model=list[CameraView])
def list_cameras(
    request: Request, core: Core, principal: Principal = require(Permission.CAMERAS_READ)
) -> list[CameraView]:
    return _cameras(core, principal, request).list_all()


@router.post("", response_model=CameraView, status_code=201)
def create_camera(
    body: CameraFields, request: Request, core: Core, principal: Principal = require(Permission.CAMERAS_WRITE)
) -> CameraView:
    return _cameras(core, principal, request).create(body)


@router.get("/{camera_id}", response_model=CameraView)
def get_camera(
    camera_id: int, request: Request, core: Core, principal: Principal = require(Permission.CAMERAS_READ)
) -> CameraView:
    return _cameras(core, principal, request).get(camera_id)


@router.patch("/{camera_id}", response_model=CameraView)
def update_camera(
    camera_id: int,
    body: CameraPatch,
    request: Request,
    core: Core,
    principal: Principal = require(Permission.CAMERAS_WRITE),
) -> CameraView:
    """Change the fields sent; ``"password": null`` clears the stored password."""
    return _cameras(core, principal, request).update(camera_id, body)


@router.delete("/{camera_id}", status_code=204)
def delete_camera(
    camera_id: int, request: Request, core: Core, principal: Principal = require(Permission.CAMERAS_WRITE)
) -> Response:
    """Delete a camera; 409 once it has recordings (disable it instead)."""
    _cameras(core, principal, request).delete(camera_id)
    return Response(status_code=204)
