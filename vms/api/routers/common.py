"""Helpers the yard's routers share: who acts (for the audit log) and checked query times."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request

from vms.api.deps import client_address
from vms.api.errors import ApiError
from vms.auth import Principal
from vms.db.models import Role
from vms.yard.actor import Actor
from vms.yard.times import require_aware


def actor_of(principal: Principal, request: Request) -> Actor:
    return Actor(principal.actor, client_address(request))


def inspector_scope(principal: Principal) -> str | None:
    """The username an inspector's view of batches is narrowed to; None for every other role."""
    return principal.name if principal.role == Role.INSPECTOR else None


def aware_query_time(value: datetime | None, name: str) -> datetime | None:
    try:
        return require_aware(value)
    except ValueError as exc:
        raise ApiError(422, f"{name}: {exc}", code="validation_error") from None
