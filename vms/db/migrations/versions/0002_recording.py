"""recording tables: segments, gaps, segment-batch links

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 22:47:17.559162
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recording_gaps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column(
            "stream", sa.Enum("main", "sub", name="streamkind", native_enum=False, length=8), nullable=False
        ),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "reason",
            sa.Enum(
                "camera_offline",
                "timestamp_jump",
                "stream_changed",
                "spool_overflow",
                "subscriber_overflow",
                "recorder_restart",
                "recorder_stopped",
                name="gapreason",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name=op.f("fk_recording_gaps_camera_id_cameras"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_gaps")),
    )
    with op.batch_alter_table("recording_gaps", schema=None) as batch_op:
        batch_op.create_index("ix_recording_gaps_camera_end", ["camera_id", "end_at"], unique=False)
        batch_op.create_index("ix_recording_gaps_camera_start", ["camera_id", "start_at"], unique=False)

    op.create_table(
        "segments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column(
            "stream", sa.Enum("main", "sub", name="streamkind", native_enum=False, length=8), nullable=False
        ),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column(
            "clock_source",
            sa.Enum("rtcp", "arrival", name="clocksource", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("object_key", sa.String(length=400), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("prev_chain_hash", sa.String(length=64), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.Column("video_codec", sa.String(length=32), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("audio_codec", sa.String(length=32), nullable=True),
        sa.Column("starts_with_keyframe", sa.Boolean(), nullable=False),
        sa.Column("salvaged", sa.Boolean(), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_segments_camera_id_cameras"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("camera_id", "seq", name="uq_segments_camera_seq"),
    )
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.create_index("ix_segments_camera_end", ["camera_id", "end_at"], unique=False)
        batch_op.create_index("ix_segments_camera_start", ["camera_id", "start_at"], unique=False)

    op.create_table(
        "segment_batch_links",
        sa.Column("segment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["inspection_batches.id"],
            name=op.f("fk_segment_batch_links_batch_id_inspection_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_batch_links_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("segment_id", "batch_id", name=op.f("pk_segment_batch_links")),
    )
    with op.batch_alter_table("segment_batch_links", schema=None) as batch_op:
        batch_op.create_index(
            "ix_segment_batch_links_batch_segment", ["batch_id", "segment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("segment_batch_links", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_batch_links_batch_segment")

    op.drop_table("segment_batch_links")
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.drop_index("ix_segments_camera_start")
        batch_op.drop_index("ix_segments_camera_end")

    op.drop_table("segments")
    with op.batch_alter_table("recording_gaps", schema=None) as batch_op:
        batch_op.drop_index("ix_recording_gaps_camera_start")
        batch_op.drop_index("ix_recording_gaps_camera_end")

    op.drop_table("recording_gaps")
