"""evidence uploads stream to an S3 multipart upload while they arrive: its key, part size, id and parts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evidence_uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("object_key", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("part_size", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("s3_upload_id", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("s3_parts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence_uploads", schema=None) as batch_op:
        batch_op.drop_column("s3_parts")
        batch_op.drop_column("s3_upload_id")
        batch_op.drop_column("part_size")
        batch_op.drop_column("object_key")
