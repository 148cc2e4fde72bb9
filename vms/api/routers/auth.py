"""Login (bearer token and cookie session), logout, and who am I."""

from __future__ import annotations

import threading
import time
from collections import deque

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from vms.api.deps import SESSION_COOKIE, Core, client_address, public, require
from vms.api.errors import ApiError
from vms.auth import ROLE_PERMISSIONS, Permission, Principal
from vms.auth.service import AuthError
from vms.db.models import User

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    username: str
    role: str


class Me(BaseModel):
    kind: str
    name: str
    role: str
    display_name: str = ""
    permissions: list[str]


class LoginThrottle:
    """Refuses more than ``limit`` failed logins per minute for one username and client."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: tuple[str, str]) -> None:
        with self._lock:
            q = self._failures.get(key)
            now = time.monotonic()
            while q and now - q[0] > 60:
                q.popleft()
            if q and len(q) >= self.limit:
                raise ApiError(429, "too many failed logins: wait a minute and try again")

    def failed(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.setdefault(key, deque()).append(time.monotonic())


def _throttle(request: Request, core: Core) -> LoginThrottle:
    throttle: LoginThrottle | None = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        throttle = request.app.state.login_throttle = LoginThrottle(
            core.settings.auth.login_attempts_per_minute
        )
    return throttle


@router.post("/login", response_model=LoginResponse, dependencies=[public()])
def login(body: LoginRequest, request: Request, response: Response, core: Core) -> LoginResponse:
    client = client_address(request)
    throttle = _throttle(request, core)
    key = (body.username, client)
    throttle.check(key)
    try:
        result = core.auth.login(body.username, body.password, client)
    except AuthError as exc:
        throttle.failed(key)
        core.audit.record(
            body.username,
            "login_failed",
            object_type="user",
            object_id=body.username,
            client=client,
            detail={"reason": str(exc)},
        )
        raise ApiError(401, str(exc)) from None
    core.audit.record(
        result.principal.actor, "login", object_type="user", object_id=body.username, client=client
    )
    seconds = int(result.expires_in.total_seconds())
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=seconds,
        httponly=True,
        samesite="strict",
        secure=core.settings.auth.cookie_secure,
        path="/",
    )
    return LoginResponse(
        access_token=result.token,
        expires_in=seconds,
        username=result.principal.name,
        role=result.principal.role.value,
    )


@router.post("/logout", status_code=204)
def logout(
    request: Request, response: Response, core: Core, principal: Principal = require(Permission.AUTHENTICATED)
) -> Response:
    if principal.session_id is not None:
        core.auth.logout(principal.session_id)
    core.audit.record(
        principal.actor,
        "logout",
        object_type="user",
        object_id=principal.name,
        client=client_address(request),
    )
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=Me)
def me(core: Core, principal: Principal = require(Permission.AUTHENTICATED)) -> Me:
    display = ""
    if principal.kind == "user":
        with core.db.sessions() as s:
            user = s.get(User, principal.id)
            display = user.display_name if user else ""
    return Me(
        kind=principal.kind,
        name=principal.name,
        role=principal.role.value,
        display_name=display,
        permissions=sorted(p.value for p in ROLE_PERMISSIONS[principal.role]),
    )
