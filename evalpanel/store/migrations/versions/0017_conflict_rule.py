"""batch snapshots of the conflict rule's inputs

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_snapshots",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("conflicts_hash", sa.String(length=64), nullable=False),
        sa.Column("conflict_ids", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.batch_id"],
            name=op.f("fk_batch_snapshots_batch_id_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_batch_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("batch_snapshots")
