"""API keys for other systems: the key is shown once, when created."""

from __future__ import annotations

from fastapi import APIRouter, Request

from vms.api.deps import Core, require
from vms.api.routers.common import actor_of
from vms.auth import Permission, Principal
from vms.yard.accounts import ApiKeyCreate, ApiKeyCreated, ApiKeyService, ApiKeyView

router = APIRouter(prefix="/api/api-keys", tags=["api keys"])


def _keys(core: Core, principal: Principal, request: Request) -> ApiKeyService:
    return ApiKeyService(core, actor_of(principal, request))


@router.get("", response_model=list[ApiKeyView])
def list_api_keys(
    request: Request, core: Core, principal: Principal = require(Permission.API_KEYS_MANAGE)
) -> list[ApiKeyView]:
    return _keys(core, principal, request).list_all()


@router.post("", response_model=ApiKeyCreated, status_code=201)
def create_api_key(
    body: ApiKeyCreate,
    request: Request,
    core: Core,
    principal: Principal = require(Permission.API_KEYS_MANAGE),
) -> ApiKeyCreated:
    """Create a key; the response's ``key`` is the only time it is shown."""
    return _keys(core, principal, request).create(body)


@router.delete("/{key_id}", response_model=ApiKeyView)
def revoke_api_key(
    key_id: int, request: Request, core: Core, principal: Principal = require(Permission.API_KEYS_MANAGE)
) -> ApiKeyView:
    """Revoke a key (it stays listed with ``revoked_at``); revoking twice changes nothing."""
    return _keys(core, principal, request).revoke(key_id)
