"""FastAPI dependencies: the core services, who is calling, and the permission each route needs.

Every route declares exactly one of ``require(Permission.X)`` or ``public()``; the role matrix test reads
these declarations from the routes themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from vms.api.errors import ApiError
from vms.auth import Permission, Principal
from vms.context import CoreServices

SESSION_COOKIE = "vms_session"
CSRF_HEADER = "x-requested-with"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_core(request: Request) -> CoreServices:
    core: CoreServices = request.app.state.core
    return core


Core = Annotated[CoreServices, Depends(get_core)]


def get_session(core: Core) -> Iterator[Session]:
    with core.db.session() as s:
        yield s


DbSession = Annotated[Session, Depends(get_session)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def authenticate(request: Request, core: CoreServices) -> Principal | None:
    """The principal behind a bearer token, an API key or the session cookie; None if there is none."""
    auth = request.headers.get("authorization", "")
    api_key = request.headers.get("x-api-key")
    if auth.lower().startswith("bearer "):
        credential = auth[7:].strip()
        if credential.startswith("vmsk_"):
            return _checked(core.auth.principal_for_api_key(credential), "API key is unknown or revoked")
        return _checked(core.auth.principal_for_token(credential), "session expired or unknown: log in again")
    if api_key:
        return _checked(core.auth.principal_for_api_key(api_key), "API key is unknown or revoked")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal = core.auth.principal_for_token(cookie)
        if principal is None:
            return None
        if request.method not in _SAFE_METHODS and not request.headers.get(CSRF_HEADER):
            raise ApiError(403, f"requests with the session cookie must send the {CSRF_HEADER} header")
        return principal
    return None


def _checked(principal: Principal | None, message: str) -> Principal:
    if principal is None:
        raise ApiError(401, message)
    return principal


class Require:
    """Dependency that admits principals whose role has ``permission``."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, request: Request, core: Core) -> Principal:
        principal = authenticate(request, core)
        if principal is None:
            raise ApiError(401, "not signed in: send a bearer token, an API key or the session cookie")
        if not principal.can(self.permission):
            raise ApiError(
                403, f"your role ({principal.role.value}) does not allow this ({self.permission.value})"
            )
        request.state.principal = principal
        return principal


class Public:
    """Marks a route that needs no sign-in."""

    def __call__(self) -> None:
        return None


def require(permission: Permission) -> Any:
    return Depends(Require(permission))


def public() -> Any:
    return Depends(Public())
