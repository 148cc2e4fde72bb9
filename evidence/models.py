"""Evidence tables: body-cam items in the object-lock evidence bucket, uploads in progress, device clocks.

Chain of custody is not a table of its own: every action on an item is an audit event with
``object_type="evidence"`` and ``object_id=str(item.id)`` in the hash-chained audit log (``vms.audit``),
so custody inherits the log's tamper evidence. See :mod:`evidence.custody`.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from vms.db.base import Base, UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")

CUSTODY_OBJECT_TYPE = "evidence"  # audit events of an item: object_type=this, object_id=str(item.id)


class EvidenceKind(enum.StrEnum):
    VIDEO = "video"
    PHOTO = "photo"


class TimeSource(enum.StrEnum):
    """Where an item's recorded start time came from, best first."""

    CONTAINER = "container"  # creation_time tag of the MP4/MOV/MKV
    EXIF = "exif"  # DateTimeOriginal of a photo
    FILENAME = "filename"  # a body-cam file name pattern such as VID_20261126_143015
    UPLOAD = "upload"  # nothing better: the time it was uploaded


def _enum(cls: type[enum.StrEnum], length: int) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class EvidenceItem(Base):
    """One uploaded body-cam video or photo, stored once, byte for byte, in the evidence bucket.

    ``sha256`` is of the bytes as uploaded (verified against the client's before storing);
    ``object_key`` + ``version_id`` name the exact, retention-locked object version.
    ``recorded_start``/``recorded_end`` are UTC on the yard clock: the device's own time with
    ``clock_offset_s`` (yard minus device) added. ``media`` holds what inspection found
    (container, codecs, duration_s, width, height, fps, rotation...).
    Items are never deleted as rows: retention sets ``deleted_at`` after removing the object.
    """

    __tablename__ = "evidence_items"
    __table_args__ = (
        Index("ix_evidence_items_batch_sha", "batch_id", "sha256"),
        Index("ix_evidence_items_recorded", "recorded_start", "recorded_end"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_batches.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[EvidenceKind] = mapped_column(_enum(EvidenceKind, 8))
    original_filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    bucket: Mapped[str] = mapped_column(String(63))
    object_key: Mapped[str] = mapped_column(String(400))
    version_id: Mapped[str | None] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(100), index=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    device_serial: Mapped[str | None] = mapped_column(String(100), index=True)
    clock_offset_s: Mapped[float] = mapped_column(Float, default=0.0)
    recorded_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    time_source: Mapped[TimeSource] = mapped_column(_enum(TimeSource, 16), default=TimeSource.UPLOAD)
    media: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    poster_key: Mapped[str | None] = mapped_column(String(400))
    preview_key: Mapped[str | None] = mapped_column(String(400))
    retention_until: Mapped[datetime] = mapped_column(UTCDateTime())
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def device_start(self) -> datetime | None:
        """The recorded start as the device's own clock said (offset removed)."""
        if self.recorded_start is None:
            return None
        return self.recorded_start - timedelta(seconds=self.clock_offset_s)


class Upload(Base):
    """A tus upload in progress: bytes so far live in ``staging_path`` (under data_dir).

    An upload larger than one part whose client declared its SHA-256 is also sent to S3 while it arrives
    (:mod:`evidence.multipart`): ``object_key`` is decided at creation, ``s3_upload_id`` names the S3
    multipart upload once started, and ``s3_parts`` maps each part number sent (as text) to
    ``{"etag": ..., "crc32": ...}``; part n holds bytes ``[(n-1) * part_size, n * part_size)`` of the
    staging file.
    """

    __tablename__ = "evidence_uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random hex, the tus upload id
    username: Mapped[str] = mapped_column(String(100), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("inspection_batches.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    declared_length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    expected_sha256: Mapped[str | None] = mapped_column(String(64))
    staging_path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    item_id: Mapped[int | None] = mapped_column(BigId)  # set when finished: the item it became
    object_key: Mapped[str | None] = mapped_column(String(400))
    part_size: Mapped[int | None] = mapped_column(BigInteger)
    s3_upload_id: Mapped[str | None] = mapped_column(Text)
    s3_parts: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON)


class DeviceClockOffset(Base):
    """How far a body-cam's clock is off: yard time = device time + ``offset_s``."""

    __tablename__ = "evidence_device_clocks"

    device_serial: Mapped[str] = mapped_column(String(100), primary_key=True)
    offset_s: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
