"""deadlines and the notification outbox

Revision ID: 0010
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deadlines",
        sa.Column("deadline_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("set_at", TS, nullable=False),
        sa.CheckConstraint(
            "kind IN ('evaluation', 'consolidation')", name=op.f("ck_deadlines_kind")),
        sa.ForeignKeyConstraint(["call_id"], ["calls.call_id"],
                                name=op.f("fk_deadlines_call_id_calls"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.task_id"],
                                name=op.f("fk_deadlines_task_id_tasks"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("deadline_id", name=op.f("pk_deadlines")),
        sa.UniqueConstraint("call_id", "kind", "task_id",
                            name=op.f("uq_deadlines_call_id_kind_task_id")),
    )
    op.create_table(
        "notifications",
        sa.Column("notification_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("recipient_name", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')",
                           name=op.f("ck_notifications_status")),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notifications_dedupe_key")),
    )
    op.create_index(op.f("ix_notifications_call_id"), "notifications", ["call_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_call_id"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("deadlines")
