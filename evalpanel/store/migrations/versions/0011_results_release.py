"""applicant contacts, result releases and the released reports

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proposal_contacts",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["call_id", "proposal_id"],
                                ["proposals.call_id", "proposals.proposal_id"],
                                name=op.f("fk_proposal_contacts_call_id_proposals"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"],
                                name=op.f("fk_proposal_contacts_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "call_id", "proposal_id",
                                name=op.f("pk_proposal_contacts")),
    )
    op.create_table(
        "releases",
        sa.Column("release_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("lot_id", sa.String(length=255), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["call_id", "lot_id"], ["lots.call_id", "lots.lot_id"],
                                name=op.f("fk_releases_call_id_lots"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("release_id", name=op.f("pk_releases")),
        sa.UniqueConstraint("call_id", "lot_id", name=op.f("uq_releases_call_id_lot_id")),
    )
    op.create_table(
        "released_reports",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["releases.release_id"],
                                name=op.f("fk_released_reports_release_id_releases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("release_id", "proposal_id", name=op.f("pk_released_reports")),
    )


def downgrade() -> None:
    op.drop_table("released_reports")
    op.drop_table("releases")
    op.drop_table("proposal_contacts")
