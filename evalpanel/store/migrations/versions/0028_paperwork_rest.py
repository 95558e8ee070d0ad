"""applicants' e-mail addresses; rehearsal invitations by one-time link; rehearsal drafts

Revision ID: 0028
Revises: 0020
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_emails",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"],
                                name=op.f("fk_contact_emails_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_contact_emails")),
    )
    op.create_table(
        "rehearsal_invitations",
        sa.Column("invitation_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rehearsal_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["rehearsal_id"], ["rehearsals.rehearsal_id"],
                                name=op.f("fk_rehearsal_invitations_rehearsal_id_rehearsals"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["used_by"], ["users.user_id"],
                                name=op.f("fk_rehearsal_invitations_used_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("invitation_id", name=op.f("pk_rehearsal_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_rehearsal_invitations_token_hash")),
    )
    op.create_index(op.f("ix_rehearsal_invitations_rehearsal_id"), "rehearsal_invitations",
                    ["rehearsal_id"])
    op.create_table(
        "rehearsal_documents",
        sa.Column("rehearsal_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rehearsal_id"], ["rehearsals.rehearsal_id"],
                                name=op.f("fk_rehearsal_documents_rehearsal_id_rehearsals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("rehearsal_id", "name", name=op.f("pk_rehearsal_documents")),
    )


def downgrade() -> None:
    op.drop_table("rehearsal_documents")
    op.drop_index(op.f("ix_rehearsal_invitations_rehearsal_id"),
                  table_name="rehearsal_invitations")
    op.drop_table("rehearsal_invitations")
    op.drop_table("contact_emails")
