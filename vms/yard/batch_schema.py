"""What an inspection batch looks like at the edges: the feed's fields, a patch, the view, a query."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from vms.db.models import BatchStatus
from vms.yard.fields import Code, ContainerNumber, RetentionDays, Username
from vms.yard.times import require_aware

_NUMBER = re.compile(r"^[^/\\\x00-\x1f]{1,100}$")
NUMBER_RULE = "batch numbers are 1-100 characters without / or \\"


def _check_number(value: str) -> str:
    if not _NUMBER.match(value):
        raise ValueError(NUMBER_RULE)
    return value


BatchNumber = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_check_number)]
TIME_FIELDS = ("planned_start", "planned_end", "actual_start", "actual_end")


def check_windows(values: dict[str, Any]) -> None:
    """Ends after starts, a bay only with its site; raises ValueError naming the field."""
    for kind in ("planned", "actual"):
        start, end = values.get(f"{kind}_start"), values.get(f"{kind}_end")
        if start is not None and end is not None and end <= start:
            raise ValueError(f"{kind}_end must be after {kind}_start")
    if values.get("bay") is not None and values.get("site") is None:
        raise ValueError("bay needs site: give the code of the site the bay belongs to")


class _BatchInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator(*TIME_FIELDS, check_fields=False)
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return require_aware(v)


class BatchFields(_BatchInput):
    """The whole batch as the business system sends it; ``status`` omitted keeps the current one."""

    declaration_no: str | None = Field(None, max_length=100, description="customs declaration number")
    containers: list[ContainerNumber] = Field(default_factory=list, max_length=500)
    goods: str = Field("", max_length=2000)
    site: Code | None = Field(None, description="site code")
    bay: Code | None = Field(None, description="bay code within the site")
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    status: BatchStatus | None = None
    inspectors: list[Username] = Field(default_factory=list, max_length=50, description="usernames")
    retention_days: RetentionDays | None = None
    notes: str = Field("", max_length=4000)

    @model_validator(mode="after")
    def _consistent(self) -> BatchFields:
        check_windows(self.model_dump())
        return self


class BatchCreate(BatchFields):
    number: BatchNumber


class BatchPatch(_BatchInput):
    """Only the fields sent change; the result is checked as a whole."""

    declaration_no: str | None = Field(None, max_length=100)
    containers: list[ContainerNumber] | None = Field(None, max_length=500)
    goods: str | None = Field(None, max_length=2000)
    site: Code | None = None
    bay: Code | None = None
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    status: BatchStatus | None = None
    inspectors: list[Username] | None = Field(None, max_length=50)
    retention_days: RetentionDays | None = None
    notes: str | None = Field(None, max_length=4000)


class DisputeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="why the batch is (no longer) disputed")


class BatchView(BaseModel):
    id: int
    number: str
    declaration_no: str | None
    containers: list[str]
    goods: str
    site: str | None
    bay: str | None
    planned_start: datetime | None
    planned_end: datetime | None
    actual_start: datetime | None
    actual_end: datetime | None
    status: BatchStatus
    disputed: bool
    inspectors: list[str]
    retention_days: int | None
    notes: str
    created_at: datetime
    updated_at: datetime


class BatchPage(BaseModel):
    items: list[BatchView]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class BatchQuery:
    """Filters of the batch list; every one given must match. ``start``/``end``: the window overlaps them."""

    number: str | None = None
    number_contains: str | None = None
    declaration: str | None = None
    container: str | None = None
    site: str | None = None
    bay: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    inspector: str | None = None
    statuses: tuple[BatchStatus, ...] = field(default_factory=tuple)
    disputed: bool | None = None
    limit: int = 50
    offset: int = 0
