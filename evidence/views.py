"""What the evidence API returns and accepts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from evidence.models import EvidenceItem, EvidenceKind, TimeSource


class EvidenceItemView(BaseModel):
    id: int
    batch_id: int
    batch_number: str
    kind: EvidenceKind
    original_filename: str
    content_type: str
    size_bytes: int
    sha256: str
    bucket: str
    object_key: str
    version_id: str | None
    uploaded_by: str
    uploaded_at: datetime
    device_serial: str | None
    clock_offset_s: float = Field(description="added to the device's time to get yard time")
    recorded_start: datetime | None = Field(description="UTC, on the yard clock")
    recorded_end: datetime | None
    time_source: TimeSource
    media: dict[str, Any]
    has_poster: bool
    has_preview: bool
    retention_until: datetime
    legal_hold: bool
    deleted_at: datetime | None

    @classmethod
    def of(cls, item: EvidenceItem, batch_number: str) -> EvidenceItemView:
        return cls(
            id=item.id,
            batch_id=item.batch_id,
            batch_number=batch_number,
            kind=item.kind,
            original_filename=item.original_filename,
            content_type=item.content_type,
            size_bytes=item.size_bytes,
            sha256=item.sha256,
            bucket=item.bucket,
            object_key=item.object_key,
            version_id=item.version_id,
            uploaded_by=item.uploaded_by,
            uploaded_at=item.uploaded_at,
            device_serial=item.device_serial,
            clock_offset_s=item.clock_offset_s,
            recorded_start=item.recorded_start,
            recorded_end=item.recorded_end,
            time_source=item.time_source,
            media=item.media,
            has_poster=item.poster_key is not None,
            has_preview=item.preview_key is not None,
            retention_until=item.retention_until,
            legal_hold=item.legal_hold,
            deleted_at=item.deleted_at,
        )


class EvidencePage(BaseModel):
    items: list[EvidenceItemView]
    total: int
    limit: int
    offset: int


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RelinkRequest(_Body):
    batch: str = Field(min_length=1, max_length=100, description="number of the batch to link the item to")
    reason: str = Field(min_length=1, max_length=1000, description="why (kept in the chain of custody)")


class DeleteRequest(_Body):
    reason: str = Field(min_length=1, max_length=1000)


class ClockOffsetRequest(_Body):
    offset_s: float = Field(
        ge=-10 * 365 * 86400,
        le=10 * 365 * 86400,
        description="seconds to add to the device's time to get yard time",
    )
    note: str = Field("", max_length=1000)


class ClockOffsetView(BaseModel):
    device_serial: str
    offset_s: float
    note: str
    set_by: str
    set_at: datetime
    items_retimed: int = 0


class CustodyEventView(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    client: str
    detail: dict[str, Any]
    hash: str


class CustodyView(BaseModel):
    item: EvidenceItemView
    events: list[CustodyEventView]
    audit_chain_ok: bool = Field(description="the whole audit log verifies (no event changed or removed)")
