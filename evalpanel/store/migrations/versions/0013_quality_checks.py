"""quality checks of consolidated evaluations

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_checks",
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("checked_by", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["call_id", "proposal_id"],
                                ["proposals.call_id", "proposals.proposal_id"],
                                name=op.f("fk_quality_checks_call_id_proposals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("call_id", "proposal_id", name=op.f("pk_quality_checks")),
    )


def downgrade() -> None:
    op.drop_table("quality_checks")
