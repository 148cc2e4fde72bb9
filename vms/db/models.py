"""The yard's model: sites, bays, cameras, inspection batches, users, API keys, sessions, audit events."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vms.db.base import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    MANAGER = "manager"
    REVIEWER = "reviewer"
    INSPECTOR = "inspector"
    AUDITOR = "auditor"
    INTEGRATION = "integration"  # the inspection business system feeding batches (API keys)


class BatchStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


bay_cameras = Table(
    "bay_cameras",
    Base.metadata,
    Column("bay_id", ForeignKey("bays.id", ondelete="CASCADE"), primary_key=True),
    Column("camera_id", ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True),
)


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    bays: Mapped[list[Bay]] = relationship(
        back_populates="site", cascade="all, delete-orphan", order_by="Bay.code"
    )


class Bay(Base):
    __tablename__ = "bays"
    __table_args__ = (UniqueConstraint("site_id", "code", name="uq_bays_site_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")

    site: Mapped[Site] = relationship(back_populates="bays")
    cameras: Mapped[list[Camera]] = relationship(
        secondary=bay_cameras, back_populates="bays", order_by="Camera.code"
    )


class Camera(Base):
    """A fixed camera. ``password_encrypted`` is never returned by the API nor logged."""

    __tablename__ = "cameras"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), index=True)
    main_url: Mapped[str] = mapped_column(String(1000))
    sub_url: Mapped[str | None] = mapped_column(String(1000))
    username: Mapped[str | None] = mapped_column(String(200))
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    site: Mapped[Site | None] = relationship()
    bays: Mapped[list[Bay]] = relationship(secondary=bay_cameras, back_populates="cameras")

    def __repr__(self) -> str:  # never show credentials
        return f"Camera(id={self.id!r}, code={self.code!r})"


class BatchInspector(Base):
    """An inspector assigned to a batch, by username (the feed may name users not yet created here)."""

    __tablename__ = "batch_inspectors"

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_batches.id", ondelete="CASCADE"), primary_key=True
    )
    username: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class InspectionBatch(Base):
    __tablename__ = "inspection_batches"
    __table_args__ = (
        Index("ix_batches_window", "planned_start", "planned_end"),
        Index("ix_batches_actual_window", "actual_start", "actual_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(100), unique=True)
    declaration_no: Mapped[str | None] = mapped_column(String(100), index=True)
    containers: Mapped[list[str]] = mapped_column(JSON, default=list)
    goods: Mapped[str] = mapped_column(Text, default="")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    bay_id: Mapped[int | None] = mapped_column(ForeignKey("bays.id", ondelete="RESTRICT"), index=True)
    planned_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    planned_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actual_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actual_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[BatchStatus] = mapped_column(
        Enum(BatchStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=BatchStatus.PLANNED,
        index=True,
    )
    disputed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    site: Mapped[Site | None] = relationship()
    bay: Mapped[Bay | None] = relationship()
    inspector_rows: Mapped[list[BatchInspector]] = relationship(
        cascade="all, delete-orphan", order_by="BatchInspector.username"
    )

    @property
    def inspectors(self) -> list[str]:
        return [row.username for row in self.inspector_rows]

    @property
    def window(self) -> tuple[datetime | None, datetime | None]:
        """The inspection window: actual times where known, else planned."""
        return (self.actual_start or self.planned_start, self.actual_end or self.planned_end)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKey(Base):
    """A key for another system. Only a SHA-256 of the secret is stored; ``prefix`` identifies it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuthSession(Base):
    """A login: the bearer token (or cookie) is random; only its SHA-256 is stored."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    client: Mapped[str | None] = mapped_column(String(100))

    user: Mapped[User] = relationship()


class AuditEvent(Base):
    """One entry of the append-only, hash-chained audit log (see ``vms.audit``)."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64), default="")
    object_id: Mapped[str] = mapped_column(String(200), default="", index=True)
    client: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """Single row holding the chain's last sequence number and hash; locked while appending."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    hash: Mapped[str] = mapped_column(String(64))


class Alert(Base):
    """Something that needs a person's attention (e.g. a camera offline too long)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
