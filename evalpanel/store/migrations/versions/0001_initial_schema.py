"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "audit_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=255), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_call_id"), ["call_id"], unique=False)

    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("scheme", sa.String(length=255), nullable=False),
        sa.Column("experts_per_proposal", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.String(length=64), nullable=True),
        sa.Column("scheme_overrides", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=128), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_calls")),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('manager', 'expert', 'applicant')", name=op.f("ck_users_role")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("solver", sa.String(length=255), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("inputs_hash", sa.String(length=128), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("base_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.call_id"],
            name=op.f("fk_batches_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.user_id"], name=op.f("fk_batches_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["published_by"], ["users.user_id"], name=op.f("fk_batches_published_by_users")
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_batches")),
    )
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batches_call_id"), ["call_id"], unique=False)

    op.create_table(
        "call_managers",
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.call_id"],
            name=op.f("fk_call_managers_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_call_managers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("call_id", "user_id", name=op.f("pk_call_managers")),
    )
    op.create_table(
        "experts",
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("expert_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("org_id", sa.String(length=255), nullable=True),
        sa.Column("org_name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=False),
        sa.Column("nationality", sa.String(length=8), nullable=True),
        sa.Column("gender", sa.String(length=64), nullable=True),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("ecosystems", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("max_load", sa.Integer(), nullable=False),
        sa.Column("min_load", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.call_id"],
            name=op.f("fk_experts_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("call_id", "expert_id", name=op.f("pk_experts")),
    )
    op.create_table(
        "identities",
        sa.Column("provider", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("provider", "subject", name=op.f("pk_identities")),
    )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identities_user_id"), ["user_id"], unique=False)

    op.create_table(
        "lots",
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("lot_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("budget_eur", sa.Float(), nullable=False),
        sa.Column("one_per", sa.String(length=64), nullable=True),
        sa.Column("experts_per_proposal", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.call_id"], name=op.f("fk_lots_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("call_id", "lot_id", name=op.f("pk_lots")),
    )
    op.create_table(
        "rehearsals",
        sa.Column("rehearsal_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.user_id"],
            name=op.f("fk_rehearsals_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rehearsal_id", name=op.f("pk_rehearsals")),
    )
    with op.batch_alter_table("rehearsals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rehearsals_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "batch_pairs",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("expert_id", sa.String(length=255), nullable=False),
        sa.Column("affinity", sa.Float(), nullable=True),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.batch_id"],
            name=op.f("fk_batch_pairs_batch_id_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "batch_id", "proposal_id", "expert_id", name=op.f("pk_batch_pairs")
        ),
    )
    op.create_table(
        "conflicts",
        sa.Column("conflict_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("expert_id", sa.String(length=255), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=True),
        sa.Column("org_id", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), server_default="import", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id", "expert_id"],
            ["experts.call_id", "experts.expert_id"],
            name=op.f("fk_conflicts_call_id_expert_id_experts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conflict_id", name=op.f("pk_conflicts")),
    )
    with op.batch_alter_table("conflicts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conflicts_call_id_expert_id"), ["call_id", "expert_id"], unique=False
        )

    op.create_table(
        "expert_links",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("expert_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id", "expert_id"],
            ["experts.call_id", "experts.expert_id"],
            name=op.f("fk_expert_links_call_id_expert_id_experts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_expert_links_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "call_id", name=op.f("pk_expert_links")),
        sa.UniqueConstraint("call_id", "expert_id", name=op.f("uq_expert_links_call_id_expert_id")),
    )
    op.create_table(
        "proposals",
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("lot_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("ecosystems", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("requested_eur", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id", "lot_id"],
            ["lots.call_id", "lots.lot_id"],
            name=op.f("fk_proposals_call_id_lot_id_lots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("call_id", "proposal_id", name=op.f("pk_proposals")),
    )
    op.create_table(
        "rehearsal_scorers",
        sa.Column("rehearsal_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rehearsal_id"],
            ["rehearsals.rehearsal_id"],
            name=op.f("fk_rehearsal_scorers_rehearsal_id_rehearsals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_rehearsal_scorers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rehearsal_id", "user_id", name=op.f("pk_rehearsal_scorers")),
    )
    op.create_table(
        "affinities",
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("expert_id", sa.String(length=255), nullable=False),
        sa.Column("affinity", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id", "expert_id"],
            ["experts.call_id", "experts.expert_id"],
            name=op.f("fk_affinities_call_id_expert_id_experts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["call_id", "proposal_id"],
            ["proposals.call_id", "proposals.proposal_id"],
            name=op.f("fk_affinities_call_id_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("call_id", "proposal_id", "expert_id", name=op.f("pk_affinities")),
    )
    op.create_table(
        "consolidations",
        sa.Column("consolidation_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("consolidator", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id", "proposal_id"],
            ["proposals.call_id", "proposals.proposal_id"],
            name=op.f("fk_consolidations_call_id_proposal_id_proposals"),
        ),
        sa.PrimaryKeyConstraint("consolidation_id", name=op.f("pk_consolidations")),
        sa.UniqueConstraint(
            "call_id", "proposal_id", name=op.f("uq_consolidations_call_id_proposal_id")
        ),
    )
    op.create_table(
        "imported_scores",
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("expert_id", sa.String(length=255), nullable=False),
        sa.Column("criterion", sa.String(length=255), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id", "proposal_id"],
            ["proposals.call_id", "proposals.proposal_id"],
            name=op.f("fk_imported_scores_call_id_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "call_id", "proposal_id", "expert_id", "criterion", name=op.f("pk_imported_scores")
        ),
    )
    op.create_table(
        "partners",
        sa.Column("partner_row", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("org_id", sa.String(length=255), nullable=True),
        sa.Column("org_name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id", "proposal_id"],
            ["proposals.call_id", "proposals.proposal_id"],
            name=op.f("fk_partners_call_id_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_row", name=op.f("pk_partners")),
    )
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partners_call_id_proposal_id"), ["call_id", "proposal_id"], unique=False
        )

    op.create_table(
        "rehearsal_scores",
        sa.Column("rehearsal_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("criterion", sa.String(length=255), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rehearsal_id", "user_id"],
            ["rehearsal_scorers.rehearsal_id", "rehearsal_scorers.user_id"],
            name=op.f("fk_rehearsal_scores_rehearsal_id_user_id_rehearsal_scorers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "rehearsal_id", "user_id", "criterion", name=op.f("pk_rehearsal_scores")
        ),
    )
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("expert_id", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("affinity", sa.Float(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('assigned', 'accepted', 'declined', 'draft', 'submitted', 'withdrawn')",
            name=op.f("ck_tasks_state"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.batch_id"], name=op.f("fk_tasks_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["call_id", "expert_id"],
            ["experts.call_id", "experts.expert_id"],
            name=op.f("fk_tasks_call_id_expert_id_experts"),
        ),
        sa.ForeignKeyConstraint(
            ["call_id", "proposal_id"],
            ["proposals.call_id", "proposals.proposal_id"],
            name=op.f("fk_tasks_call_id_proposal_id_proposals"),
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_tasks")),
        sa.UniqueConstraint(
            "call_id",
            "proposal_id",
            "expert_id",
            name=op.f("uq_tasks_call_id_proposal_id_expert_id"),
        ),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tasks_call_id_expert_id"), ["call_id", "expert_id"], unique=False
        )

    op.create_table(
        "consolidation_approvals",
        sa.Column("consolidation_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.String(length=255), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consolidation_id"],
            ["consolidations.consolidation_id"],
            name=op.f("fk_consolidation_approvals_consolidation_id_consolidations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "consolidation_id", "expert_id", name=op.f("pk_consolidation_approvals")
        ),
    )
    op.create_table(
        "consolidation_scores",
        sa.Column("consolidation_id", sa.Integer(), nullable=False),
        sa.Column("criterion", sa.String(length=255), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consolidation_id"],
            ["consolidations.consolidation_id"],
            name=op.f("fk_consolidation_scores_consolidation_id_consolidations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "consolidation_id", "criterion", name=op.f("pk_consolidation_scores")
        ),
    )
    op.create_table(
        "evaluations",
        sa.Column("evaluation_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'submitted')", name=op.f("ck_evaluations_status")),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.task_id"], name=op.f("fk_evaluations_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("evaluation_id", name=op.f("pk_evaluations")),
        sa.UniqueConstraint(
            "task_id", "version_no", name=op.f("uq_evaluations_task_id_version_no")
        ),
    )
    op.create_table(
        "replacements",
        sa.Column("replacement_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("expert_id", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["users.user_id"], name=op.f("fk_replacements_resolved_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.task_id"], name=op.f("fk_replacements_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("replacement_id", name=op.f("pk_replacements")),
    )
    with op.batch_alter_table("replacements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_replacements_call_id"), ["call_id"], unique=False)

    op.create_table(
        "evaluation_scores",
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("criterion", sa.String(length=255), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["evaluations.evaluation_id"],
            name=op.f("fk_evaluation_scores_evaluation_id_evaluations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("evaluation_id", "criterion", name=op.f("pk_evaluation_scores")),
    )
    op.create_table(
        "replacement_pairs",
        sa.Column("replacement_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("expert_id", sa.String(length=255), nullable=False),
        sa.Column("affinity", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["replacement_id"],
            ["replacements.replacement_id"],
            name=op.f("fk_replacement_pairs_replacement_id_replacements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "replacement_id", "proposal_id", "expert_id", name=op.f("pk_replacement_pairs")
        ),
    )


def downgrade() -> None:
    op.drop_table("replacement_pairs")
    op.drop_table("evaluation_scores")
    with op.batch_alter_table("replacements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replacements_call_id"))

    op.drop_table("replacements")
    op.drop_table("evaluations")
    op.drop_table("consolidation_scores")
    op.drop_table("consolidation_approvals")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_call_id_expert_id"))

    op.drop_table("tasks")
    op.drop_table("rehearsal_scores")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partners_call_id_proposal_id"))

    op.drop_table("partners")
    op.drop_table("imported_scores")
    op.drop_table("consolidations")
    op.drop_table("affinities")
    op.drop_table("rehearsal_scorers")
    op.drop_table("proposals")
    op.drop_table("expert_links")
    with op.batch_alter_table("conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conflicts_call_id_expert_id"))

    op.drop_table("conflicts")
    op.drop_table("batch_pairs")
    with op.batch_alter_table("rehearsals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rehearsals_owner_id"))

    op.drop_table("rehearsals")
    op.drop_table("lots")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identities_user_id"))

    op.drop_table("identities")
    op.drop_table("experts")
    op.drop_table("call_managers")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batches_call_id"))

    op.drop_table("batches")
    op.drop_table("users")
    op.drop_table("settings")
    op.drop_table("calls")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_call_id"))

    op.drop_table("audit_log")
