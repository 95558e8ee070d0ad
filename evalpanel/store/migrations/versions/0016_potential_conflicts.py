"""potential conflict decisions

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "potential_conflict_decisions",
        sa.Column("decision_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("expert_id", sa.String(length=255), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("conflict_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('confirmed', 'dismissed')",
            name=op.f("ck_potential_conflict_decisions_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.call_id"],
            name=op.f("fk_potential_conflict_decisions_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.user_id"],
            name=op.f("fk_potential_conflict_decisions_decided_by_users"),
        ),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_potential_conflict_decisions")),
        sa.UniqueConstraint(
            "call_id",
            "proposal_id",
            "expert_id",
            name=op.f("uq_potential_conflict_decisions_call_id_proposal_id_expert_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("potential_conflict_decisions")
