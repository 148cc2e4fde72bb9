"""Recording tables: segments in object storage, gaps in the recording, and segment-to-batch links.

Sized for a year of 200 cameras (~630 M segments of 10 s): every query is by camera and time range
(indexes lead with ``camera_id``) or by batch (the link table's batch index).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vms.db.base import Base, UTCDateTime, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY, PostgreSQL needs 64 bits for this many rows.
BigId = BigInteger().with_variant(Integer, "sqlite")


class StreamKind(enum.StrEnum):
    MAIN = "main"
    SUB = "sub"


class ClockSource(enum.StrEnum):
    """Where a segment's wall-clock times come from: the camera's RTCP sender reports or local arrival."""

    RTCP = "rtcp"
    ARRIVAL = "arrival"


class GapReason(enum.StrEnum):
    CAMERA_OFFLINE = "camera_offline"
    TIMESTAMP_JUMP = "timestamp_jump"
    STREAM_CHANGED = "stream_changed"
    SPOOL_OVERFLOW = "spool_overflow"
    SUBSCRIBER_OVERFLOW = "subscriber_overflow"
    RECORDER_RESTART = "recorder_restart"
    RECORDER_STOPPED = "recorder_stopped"


def _enum(cls: type[enum.StrEnum], length: int) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Segment(Base):
    """One keyframe-aligned fragmented-MP4 file in object storage.

    ``seq`` numbers a camera's segments (both streams) in index order; ``chain_hash`` is
    ``sha256(prev_chain_hash + canonical record)`` where ``prev_chain_hash`` is the previous segment's
    ``chain_hash`` (kept in the row so the chain stays checkable after retention deletes old rows).
    """

    __tablename__ = "segments"
    __table_args__ = (
        UniqueConstraint("camera_id", "seq", name="uq_segments_camera_seq"),
        Index("ix_segments_camera_start", "camera_id", "start_at"),
        Index("ix_segments_camera_end", "camera_id", "end_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="RESTRICT"))
    stream: Mapped[StreamKind] = mapped_column(_enum(StreamKind, 8), default=StreamKind.MAIN)
    seq: Mapped[int] = mapped_column(BigInteger)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_s: Mapped[float] = mapped_column(Float)
    clock_source: Mapped[ClockSource] = mapped_column(_enum(ClockSource, 8))
    bucket: Mapped[str] = mapped_column(String(63))
    object_key: Mapped[str] = mapped_column(String(400))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    prev_chain_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64))
    video_codec: Mapped[str | None] = mapped_column(String(32))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    audio_codec: Mapped[str | None] = mapped_column(String(32))
    starts_with_keyframe: Mapped[bool] = mapped_column(Boolean, default=True)
    salvaged: Mapped[bool] = mapped_column(Boolean, default=False)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"Segment(id={self.id!r}, camera_id={self.camera_id!r}, seq={self.seq!r})"


class RecordingGap(Base):
    """A span with no recording of one camera stream; ``end_at`` is NULL while the gap is still open."""

    __tablename__ = "recording_gaps"
    __table_args__ = (
        Index("ix_recording_gaps_camera_start", "camera_id", "start_at"),
        Index("ix_recording_gaps_camera_end", "camera_id", "end_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    stream: Mapped[StreamKind] = mapped_column(_enum(StreamKind, 8), default=StreamKind.MAIN)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[GapReason] = mapped_column(_enum(GapReason, 32))
    detail: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SegmentBatchLink(Base):
    """A segment that belongs to an inspection batch's evidence (filled by batch linking)."""

    __tablename__ = "segment_batch_links"
    __table_args__ = (Index("ix_segment_batch_links_batch_segment", "batch_id", "segment_id"),)

    segment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_batches.id", ondelete="CASCADE"), primary_key=True
    )
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
