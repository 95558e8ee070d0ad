"""an index of the audit log by call and line, for the call's data version

Revision ID: 0027
Revises: 0020
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_audit_log_call_id_audit_id"), "audit_log", ["call_id", "audit_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_log_call_id_audit_id"), table_name="audit_log")
