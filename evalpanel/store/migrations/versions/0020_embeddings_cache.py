"""the call's text model (call.toml [assignment] text_model); the shared embedding cache

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_model", sa.String(length=16), nullable=True))
    op.create_table(
        "text_embeddings",
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model", "text_hash", name=op.f("pk_text_embeddings")),
    )


def downgrade() -> None:
    op.drop_table("text_embeddings")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("text_model")
