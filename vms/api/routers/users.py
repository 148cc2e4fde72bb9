"""User accounts (administrators change them; auditors may list them)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vms.api.deps import Core, require
from vms.api.routers.common import actor_of
from vms.auth import Permission, Principal
from vms.yard.accounts import PasswordReset, UserCreate, UserPatch, UserService, UserView

router = APIRouter(prefix="/api/users", tags=["users"])


def _users(core: Core, principal: Principal, request: Request) -> UserService:
    return UserService(core, actor_of(principal, request))


@router.get("", response_model=list[UserView])
def list_users(
    request: Request, core: Core, principal: Principal = require(Permission.USERS_READ)
) -> list[UserView]:
    return _users(core, principal, request).list_all()


@router.post("", response_model=UserView, status_code=201)
def create_user(
    body: UserCreate, request: Request, core: Core, principal: Principal = require(Permission.USERS_WRITE)
) -> UserView:
    return _users(core, principal, request).create(body)


@router.get("/{user_id}", response_model=UserView)
def get_user(
    user_id: int, request: Request, core: Core, principal: Principal = require(Permission.USERS_READ)
) -> UserView:
    return _users(core, principal, request).get(user_id)


@router.patch("/{user_id}", response_model=UserView)
def update_user(
    user_id: int,
    body: UserPatch,
    request: Request,
    core: Core,
    principal: Principal = require(Permission.USERS_WRITE),
) -> UserView:
    """Change role, active flag, display name or language; deactivating ends the user's sessions."""
    return _users(core, principal, request).update(user_id, body)


@router.post("/{user_id}/password", status_code=204)
def reset_password(
    user_id: int,
    body: PasswordReset,
    request: Request,
    core: Core,
    principal: Principal = require(Permission.USERS_WRITE),
) -> Response:
    """Set a new password; the user's sessions end."""
    _users(core, principal, request).reset_password(user_id, body.password)
    return Response(status_code=204)
