"""evidence tables: body-cam items, uploads in progress, device clock offsets

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-26 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "evidence_items",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("video", "photo", name="evidencekind", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("original_filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("object_key", sa.String(length=400), nullable=False),
        sa.Column("version_id", sa.String(length=200), nullable=True),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("device_serial", sa.String(length=100), nullable=True),
        sa.Column("clock_offset_s", sa.Float(), nullable=False),
        sa.Column("recorded_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "time_source",
            sa.Enum(
                "container", "exif", "filename", "upload", name="timesource", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("poster_key", sa.String(length=400), nullable=True),
        sa.Column("preview_key", sa.String(length=400), nullable=True),
        sa.Column("retention_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["inspection_batches.id"],
            name=op.f("fk_evidence_items_batch_id_inspection_batches"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_items")),
    )
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_items_batch_id", ["batch_id"], unique=False)
        batch_op.create_index("ix_evidence_items_batch_sha", ["batch_id", "sha256"], unique=False)
        batch_op.create_index("ix_evidence_items_device_serial", ["device_serial"], unique=False)
        batch_op.create_index("ix_evidence_items_legal_hold", ["legal_hold"], unique=False)
        batch_op.create_index("ix_evidence_items_recorded", ["recorded_start", "recorded_end"], unique=False)
        batch_op.create_index("ix_evidence_items_sha256", ["sha256"], unique=False)
        batch_op.create_index("ix_evidence_items_uploaded_by", ["uploaded_by"], unique=False)

    op.create_table(
        "evidence_uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("declared_length", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("expected_sha256", sa.String(length=64), nullable=True),
        sa.Column("staging_path", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("item_id", _BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["inspection_batches.id"],
            name=op.f("fk_evidence_uploads_batch_id_inspection_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_uploads")),
    )
    with op.batch_alter_table("evidence_uploads", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_uploads_batch_id", ["batch_id"], unique=False)
        batch_op.create_index("ix_evidence_uploads_expires_at", ["expires_at"], unique=False)
        batch_op.create_index("ix_evidence_uploads_username", ["username"], unique=False)

    op.create_table(
        "evidence_device_clocks",
        sa.Column("device_serial", sa.String(length=100), nullable=False),
        sa.Column("offset_s", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_serial", name=op.f("pk_evidence_device_clocks")),
    )


def downgrade() -> None:
    op.drop_table("evidence_device_clocks")
    with op.batch_alter_table("evidence_uploads", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_uploads_username")
        batch_op.drop_index("ix_evidence_uploads_expires_at")
        batch_op.drop_index("ix_evidence_uploads_batch_id")
    op.drop_table("evidence_uploads")
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        for name in (
            "ix_evidence_items_uploaded_by",
            "ix_evidence_items_sha256",
            "ix_evidence_items_recorded",
            "ix_evidence_items_legal_hold",
            "ix_evidence_items_device_serial",
            "ix_evidence_items_batch_sha",
            "ix_evidence_items_batch_id",
        ):
            batch_op.drop_index(name)
    op.drop_table("evidence_items")
