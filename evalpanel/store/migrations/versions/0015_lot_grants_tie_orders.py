"""lot maximum grant; managers' orderings of ex-aequo proposals

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_grant_eur", sa.Float(), nullable=True))
    op.create_table(
        "tie_orders",
        sa.Column("tie_order_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("lot_id", sa.String(length=255), nullable=False),
        sa.Column("proposal_ids", sa.JSON(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id", "lot_id"],
            ["lots.call_id", "lots.lot_id"],
            name=op.f("fk_tie_orders_call_id_lot_id_lots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["users.user_id"],
            name=op.f("fk_tie_orders_recorded_by_users"),
        ),
        sa.PrimaryKeyConstraint("tie_order_id", name=op.f("pk_tie_orders")),
    )
    with op.batch_alter_table("tie_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tie_orders_call_id_lot_id"), ["call_id", "lot_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tie_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tie_orders_call_id_lot_id"))
    op.drop_table("tie_orders")
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_column("max_grant_eur")
