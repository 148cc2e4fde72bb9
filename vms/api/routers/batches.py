"""Inspection batches, the business system's feed (upsert by number) and the disputed flag.

Inspectors see only the batches they are assigned to; asking for another one answers 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import TypeAdapter, ValidationError

from vms.api.deps import Core, require
from vms.api.errors import ApiError
from vms.api.routers.common import actor_of, aware_query_time, inspector_scope
from vms.auth import Permission, Principal
from vms.db.models import BatchStatus
from vms.yard.batch_schema import (
    NUMBER_RULE,
    BatchCreate,
    BatchFields,
    BatchNumber,
    BatchPage,
    BatchPatch,
    BatchQuery,
    BatchView,
    DisputeRequest,
)
from vms.yard.batches import BatchService, Outcome

router = APIRouter(prefix="/api/batches", tags=["batches"])
_NUMBER = TypeAdapter(BatchNumber)
NumberPath = Annotated[str, Path(description="the batch number (URL-encoded; may be Chinese)")]


def _batches(core: Core, principal: Principal, request: Request) -> BatchService:
    return BatchService(core, actor_of(principal, request))


def _number(value: str) -> str:
    try:
        return _NUMBER.validate_python(value)
    except ValidationError:
        raise ApiError(422, f"number: {NUMBER_RULE}", code="validation_error") from None


@router.get("", response_model=BatchPage)
def list_batches(
    request: Request,
    core: Core,
    principal: Principal = require(Permission.BATCHES_READ),
    number: Annotated[str | None, Query(description="exact batch number")] = None,
    number_contains: Annotated[str | None, Query(description="part of the batch number")] = None,
    declaration: Annotated[str | None, Query(description="customs declaration number")] = None,
    container: Annotated[str | None, Query(description="a container number of the batch")] = None,
    site: Annotated[str | None, Query(description="site code")] = None,
    bay: Annotated[str | None, Query(description="bay code")] = None,
    start: Annotated[datetime | None, Query(alias="from", description="window ends at or after this")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="window starts at or before this")] = None,
    inspector: Annotated[str | None, Query(description="username of an assigned inspector")] = None,
    status: Annotated[list[BatchStatus] | None, Query(description="one or more statuses")] = None,
    disputed: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> BatchPage:
    """Batches matching every filter given, newest first, with the total count for paging."""
    query = BatchQuery(
        number=number,
        number_contains=number_contains,
        declaration=declaration,
        container=container,
        site=site,
        bay=bay,
        start=aware_query_time(start, "from"),
        end=aware_query_time(end, "to"),
        inspector=inspector,
        statuses=tuple(status or ()),
        disputed=disputed,
        limit=limit,
        offset=offset,
    )
    return _batches(core, principal, request).search(query, visible_to=inspector_scope(principal))


@router.post("", response_model=BatchView, status_code=201)
def create_batch(
    body: BatchCreate, request: Request, core: Core, principal: Principal = require(Permission.BATCHES_WRITE)
) -> BatchView:
    """Create a batch; 409 if the number exists (the feed uses PUT /api/batches/by-number/{number})."""
    return _batches(core, principal, request).create(body)


@router.get("/by-number/{number}", response_model=BatchView)
def get_batch_by_number(
    number: NumberPath, request: Request, core: Core, principal: Principal = require(Permission.BATCHES_READ)
) -> BatchView:
    return _batches(core, principal, request).get_by_number(number, visible_to=inspector_scope(principal))


@router.put("/by-number/{number}", response_model=BatchView)
def upsert_batch(
    number: NumberPath,
    body: BatchFields,
    request: Request,
    response: Response,
    core: Core,
    principal: Principal = require(Permission.BATCHES_WRITE),
) -> BatchView:
    """The feed: create the batch (201) or bring it to this body (200); sending it again changes nothing.

    Fields left out are cleared, except ``status`` (left out: unchanged) and the disputed flag.
    """
    view, outcome = _batches(core, principal, request).upsert(_number(number), body)
    response.status_code = 201 if outcome is Outcome.CREATED else 200
    return view


@router.get("/{batch_id}", response_model=BatchView)
def get_batch(
    batch_id: int, request: Request, core: Core, principal: Principal = require(Permission.BATCHES_READ)
) -> BatchView:
    return _batches(core, principal, request).get(batch_id, visible_to=inspector_scope(principal))


@router.patch("/{batch_id}", response_model=BatchView)
def update_batch(
    batch_id: int,
    body: BatchPatch,
    request: Request,
    core: Core,
    principal: Principal = require(Permission.BATCHES_WRITE),
) -> BatchView:
    """Change the fields sent; ``null`` clears a field."""
    return _batches(core, principal, request).update(batch_id, body)


@router.post("/{batch_id}/dispute", response_model=BatchView)
def dispute_batch(
    batch_id: int,
    body: DisputeRequest,
    request: Request,
    core: Core,
    principal: Principal = require(Permission.BATCHES_DISPUTE),
) -> BatchView:
    """Mark the batch disputed (its footage and evidence are then kept under legal hold)."""
    return _batches(core, principal, request).set_disputed(batch_id, True, body.reason)


@router.delete("/{batch_id}/dispute", response_model=BatchView)
def undispute_batch(
    batch_id: int,
    body: DisputeRequest,
    request: Request,
    core: Core,
    principal: Principal = require(Permission.BATCHES_DISPUTE),
) -> BatchView:
    """Clear the disputed flag; the body gives the reason."""
    return _batches(core, principal, request).set_disputed(batch_id, False, body.reason)
