"""SQLAlchemy Core tables of the evalpanel store (the schema the migrations create).

Ids from the call folder (``call_id``, ``proposal_id``, ``expert_id``, ``lot_id``, ``org_id``)
are strings; ids the store mints (users, batches, tasks, evaluations …) are integers.
Multi-valued call-folder cells (fields, ecosystems, keywords, languages) are JSON lists.
Money is in euros (float), scores in the scheme's points (float), times are UTC.

Imported ``scores.csv`` rows are kept as they are in ``imported_scores`` (an import table,
separate from the evaluation workflow): they are the record of what the folder said, and the
workflow's own evaluations (``evaluations`` / ``evaluation_scores``) never mix with them.
"""

from __future__ import annotations

import sqlalchemy as sa

from evalpanel import vocab
from evalpanel.vocab import (
    USER_ROLES,
    ConsolidationState,
    EvaluationStatus,
    NotificationStatus,
    PotentialDecision,
    RequestKind,
    RequestState,
    TaskState,
    values,
)

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = sa.DateTime(timezone=True)
ROLES = USER_ROLES


def _one_of(column: str, allowed: tuple[str, ...]) -> str:
    """The CHECK expression that keeps ``column`` inside one vocabulary of evalpanel.vocab."""
    return f"{column} IN ({', '.join(repr(v) for v in allowed)})"

TASK_STATES = values(TaskState)


def _call_fk(*cols: str, table: str, ondelete: str | None = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["call_id", *cols],
        [f"{table}.call_id", *(f"{table}.{c}" for c in cols)],
        ondelete=ondelete,
    )


settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)

USERNAME_MAX = 255  # characters; the sign-in form refuses longer names before any query
users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(USERNAME_MAX), nullable=False, unique=True),
    sa.Column("display_name", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    # Set by `evalpanel user disable`: no sign-in (local or OIDC) and no session while set.
    sa.Column("disabled_at", TS, nullable=True),
    sa.CheckConstraint(_one_of("role", ROLES), name="role"),
)

# Login identities: provider "local" keeps an argon2 hash; "oidc:<issuer>" rows keep none.
identities = sa.Table(
    "identities",
    metadata,
    sa.Column("provider", sa.String(255), primary_key=True),
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.user_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("created_at", TS, nullable=False),
)

calls = sa.Table(
    "calls",
    metadata,
    sa.Column("call_id", sa.String(255), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("scheme", sa.String(255), nullable=False),
    sa.Column("experts_per_proposal", sa.Integer, nullable=False),
    sa.Column("deadline", sa.String(64), nullable=True),
    sa.Column("scheme_overrides", sa.JSON, nullable=False),
    sa.Column("content_hash", sa.String(128), nullable=False),
    sa.Column("imported_at", TS, nullable=False),
    # call.toml [assignment] text_model (None: the best installed); migration 0020
    sa.Column("text_model", sa.String(16), nullable=True),
)

call_managers = sa.Table(
    "call_managers",
    metadata,
    sa.Column(
        "call_id",
        sa.String(255),
        sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    ),
)

lots = sa.Table(
    "lots",
    metadata,
    sa.Column(
        "call_id",
        sa.String(255),
        sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("lot_id", sa.String(255), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("budget_eur", sa.Float, nullable=False),
    sa.Column("one_per", sa.String(64), nullable=True),
    sa.Column("experts_per_proposal", sa.Integer, nullable=True),
    sa.Column("max_grant_eur", sa.Float, nullable=True),  # the largest request allowed (EUR)
)

proposals = sa.Table(
    "proposals",
    metadata,
    sa.Column("call_id", sa.String(255), primary_key=True),
    sa.Column("proposal_id", sa.String(255), primary_key=True),
    sa.Column("lot_id", sa.String(255), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("abstract", sa.Text, nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Column("ecosystems", sa.JSON, nullable=False),
    sa.Column("keywords", sa.JSON, nullable=False),
    sa.Column("requested_eur", sa.Float, nullable=False),
    _call_fk("lot_id", table="lots"),
)

partners = sa.Table(
    "partners",
    metadata,
    sa.Column("partner_row", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(255), nullable=False),
    sa.Column("proposal_id", sa.String(255), nullable=False),
    sa.Column("org_id", sa.String(255), nullable=True),
    sa.Column("org_name", sa.Text, nullable=False),
    sa.Column("country", sa.String(8), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    _call_fk("proposal_id", table="proposals"),
    sa.Index(None, "call_id", "proposal_id"),
)

experts = sa.Table(
    "experts",
    metadata,
    sa.Column(
        "call_id",
        sa.String(255),
        sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("expert_id", sa.String(255), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("org_id", sa.String(255), nullable=True),
    sa.Column("org_name", sa.Text, nullable=False),
    sa.Column("country", sa.String(8), nullable=False),
    sa.Column("nationality", sa.String(8), nullable=True),
    sa.Column("gender", sa.String(64), nullable=True),
    sa.Column("languages", sa.JSON, nullable=False),
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Column("ecosystems", sa.JSON, nullable=False),
    sa.Column("keywords", sa.JSON, nullable=False),
    sa.Column("profile", sa.Text, nullable=False),
    sa.Column("max_load", sa.Integer, nullable=False),
    sa.Column("min_load", sa.Integer, nullable=False, server_default="0"),
)

# An expert user is linked to (at most) one expert row per call.
expert_links = sa.Table(
    "expert_links",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("call_id", sa.String(255), primary_key=True),
    sa.Column("expert_id", sa.String(255), nullable=False),
    _call_fk("expert_id", table="experts"),
    sa.UniqueConstraint("call_id", "expert_id"),
)

# source: "import" (conflicts.csv) or "declared" (an expert's or manager's declaration later).
conflicts = sa.Table(
    "conflicts",
    metadata,
    sa.Column("conflict_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(255), nullable=False),
    sa.Column("expert_id", sa.String(255), nullable=False),
    sa.Column("proposal_id", sa.String(255), nullable=True),
    sa.Column("org_id", sa.String(255), nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("since", sa.Date, nullable=True),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("source", sa.String(16), nullable=False, server_default="import"),
    sa.Column("created_at", TS, nullable=False),
    _call_fk("expert_id", table="experts"),
    sa.Index(None, "call_id", "expert_id"),
)

affinities = sa.Table(
    "affinities",
    metadata,
    sa.Column("call_id", sa.String(255), primary_key=True),
    sa.Column("proposal_id", sa.String(255), primary_key=True),
    sa.Column("expert_id", sa.String(255), primary_key=True),
    sa.Column("affinity", sa.Float, nullable=False),
    _call_fk("proposal_id", table="proposals"),
    _call_fk("expert_id", table="experts"),
)

imported_scores = sa.Table(
    "imported_scores",
    metadata,
    sa.Column("call_id", sa.String(255), primary_key=True),
    sa.Column("proposal_id", sa.String(255), primary_key=True),
    sa.Column("expert_id", sa.String(255), primary_key=True),
    sa.Column("criterion", sa.String(255), primary_key=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    _call_fk("proposal_id", table="proposals"),
)

# An assignment run. status: "preview" → "published" (or "discarded"). ``base_hash`` is the hash
# of the published pairs the change-set was computed against; publishing re-checks it.
batches = sa.Table(
    "batches",
    metadata,
    sa.Column("batch_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "call_id",
        sa.String(255),
        sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("solver", sa.String(255), nullable=False),
    sa.Column("parameters", sa.JSON, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=True),
    sa.Column("inputs_hash", sa.String(128), nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("elapsed_s", sa.Float, nullable=False),
    sa.Column("base_hash", sa.String(64), nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.user_id"), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("published_at", TS, nullable=True),
    sa.Column("published_by", sa.Integer, sa.ForeignKey("users.user_id"), nullable=True),
)

# change: "added" / "kept" (pairs of the batch) or "removed" (published pairs the batch drops).
batch_pairs = sa.Table(
    "batch_pairs",
    metadata,
    sa.Column(
        "batch_id",
        sa.Integer,
        sa.ForeignKey("batches.batch_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("proposal_id", sa.String(255), primary_key=True),
    sa.Column("expert_id", sa.String(255), primary_key=True),
    sa.Column("affinity", sa.Float, nullable=True),
    sa.Column("change", sa.String(16), nullable=False),
)

# One row per (proposal, expert) pair ever published; a withdrawn pair is reused if re-added.
# origin: "batch", "replacement" or "extra" (a further expert for a divergent proposal).
tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("task_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(255), nullable=False),
    sa.Column("proposal_id", sa.String(255), nullable=False),
    sa.Column("expert_id", sa.String(255), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.batch_id"), nullable=True),
    sa.Column("affinity", sa.Float, nullable=True),
    sa.Column("decline_reason", sa.Text, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    # No cascade: re-importing a call must never delete workflow records.
    _call_fk("proposal_id", table="proposals", ondelete=None),
    _call_fk("expert_id", table="experts", ondelete=None),
    sa.UniqueConstraint("call_id", "proposal_id", "expert_id"),
    sa.Index(None, "call_id", "expert_id"),
    sa.CheckConstraint(
        _one_of("state", TASK_STATES),
        name="state",
    ),
)

# A declined task or a new conflict needs another expert; the manager confirms the proposal.
# state: "pending" → "proposed" (pairs stored) → "applied", or "dismissed".
replacements = sa.Table(
    "replacements",
    metadata,
    sa.Column("replacement_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(255), nullable=False, index=True),
    sa.Column("task_id", sa.Integer, sa.ForeignKey("tasks.task_id"), nullable=False),
    sa.Column("proposal_id", sa.String(255), nullable=False),
    sa.Column("expert_id", sa.String(255), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("resolved_at", TS, nullable=True),
    sa.Column("resolved_by", sa.Integer, sa.ForeignKey("users.user_id"), nullable=True),
)

replacement_pairs = sa.Table(
    "replacement_pairs",
    metadata,
    sa.Column(
        "replacement_id",
        sa.Integer,
        sa.ForeignKey("replacements.replacement_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("proposal_id", sa.String(255), primary_key=True),
    sa.Column("expert_id", sa.String(255), primary_key=True),
    sa.Column("affinity", sa.Float, nullable=True),
)

# Versions of a task's evaluation (scores and comments for the applicant in evaluation_scores,
# an internal comment here). A submitted row is never changed again; a correction is the
# next version_no. row_version is the optimistic lock of a draft (checked in the UPDATE).
evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("evaluation_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.Integer, sa.ForeignKey("tasks.task_id"), nullable=False),
    sa.Column("version_no", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("row_version", sa.Integer, nullable=False),
    # For the call's managers only: never shown to applicants, exported on its own.
    sa.Column("internal_comment", sa.Text, nullable=False, server_default=sa.text("''")),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("submitted_at", TS, nullable=True),
    sa.UniqueConstraint("task_id", "version_no"),
    sa.CheckConstraint(_one_of("status", values(EvaluationStatus)), name="status"),
)

evaluation_scores = sa.Table(
    "evaluation_scores",
    metadata,
    sa.Column(
        "evaluation_id",
        sa.Integer,
        sa.ForeignKey("evaluations.evaluation_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("criterion", sa.String(255), primary_key=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
)

# state: "drafting" → "approval" (consolidator submitted the draft) → "final".
consolidations = sa.Table(
    "consolidations",
    metadata,
    sa.Column("consolidation_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(255), nullable=False),
    sa.Column("proposal_id", sa.String(255), nullable=False),
    sa.Column("consolidator", sa.String(255), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("row_version", sa.Integer, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("finalised_at", TS, nullable=True),
    _call_fk("proposal_id", table="proposals", ondelete=None),
    sa.UniqueConstraint("call_id", "proposal_id"),
)

consolidation_scores = sa.Table(
    "consolidation_scores",
    metadata,
    sa.Column(
        "consolidation_id",
        sa.Integer,
        sa.ForeignKey("consolidations.consolidation_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("criterion", sa.String(255), primary_key=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
)

# Approvals hold for the draft's row_version they were given on.
consolidation_approvals = sa.Table(
    "consolidation_approvals",
    metadata,
    sa.Column(
        "consolidation_id",
        sa.Integer,
        sa.ForeignKey("consolidations.consolidation_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("expert_id", sa.String(255), primary_key=True),
    sa.Column("row_version", sa.Integer, nullable=False),
    sa.Column("approved_at", TS, nullable=False),
)

rehearsals = sa.Table(
    "rehearsals",
    metadata,
    sa.Column("rehearsal_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "owner_id",
        sa.Integer,
        sa.ForeignKey("users.user_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("scheme_id", sa.String(255), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

rehearsal_scorers = sa.Table(
    "rehearsal_scorers",
    metadata,
    sa.Column(
        "rehearsal_id",
        sa.Integer,
        sa.ForeignKey("rehearsals.rehearsal_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("submitted_at", TS, nullable=True),
)

rehearsal_scores = sa.Table(
    "rehearsal_scores",
    metadata,
    sa.Column("rehearsal_id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("criterion", sa.String(255), primary_key=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.ForeignKeyConstraint(
        ["rehearsal_id", "user_id"],
        ["rehearsal_scorers.rehearsal_id", "rehearsal_scorers.user_id"],
        ondelete="CASCADE",
    ),
)

# Append-only: the services only ever INSERT here, in the transaction of the write they record.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column(
        "audit_id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("at", TS, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("entity_id", sa.String(255), nullable=False),
    sa.Column("call_id", sa.String(255), nullable=True, index=True),
    sa.Column("before", sa.JSON, nullable=True),
    sa.Column("after", sa.JSON, nullable=True),
)

# Deadlines a manager sets beyond the call's own (``calls.deadline`` is the individual-evaluation
# deadline from call.toml): kind "evaluation" or "consolidation" for the whole call, or one task's
# evaluation deadline (``task_id`` set, ``kind`` "evaluation"). Dates are the last day allowed.
DEADLINE_KINDS = vocab.DEADLINE_KINDS
deadlines = sa.Table(
    "deadlines",
    metadata,
    sa.Column("deadline_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "call_id", sa.String(255), sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column(
        "task_id", sa.Integer, sa.ForeignKey("tasks.task_id", ondelete="CASCADE"), nullable=True
    ),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("set_at", TS, nullable=False),
    sa.UniqueConstraint("call_id", "kind", "task_id"),
    sa.CheckConstraint("kind IN ('evaluation', 'consolidation')", name="kind"),
)

# The notification outbox. ``dedupe_key`` names the event (e.g. "assigned:17"), so an event is
# queued once however often the planner runs. status: pending -> sending -> sent; a failed
# attempt goes back to pending with ``next_attempt_at`` later (backoff), or to failed after the
# last attempt. A message left in "sending" (the sender stopped mid-send) is never sent again
# automatically: it is "in doubt" until the operator looks at it.
NOTIFICATION_STATES = values(NotificationStatus)
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("notification_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dedupe_key", sa.String(255), nullable=False, unique=True),
    sa.Column("call_id", sa.String(255), nullable=True, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("recipient_name", sa.Text, nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("next_attempt_at", TS, nullable=False),
    sa.Column("claimed_at", TS, nullable=True),
    sa.Column("sent_at", TS, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.CheckConstraint(
        _one_of("status", NOTIFICATION_STATES), name="status"
    ),
)

# An applicant account linked to the proposals it may read the results of (the coordinator's
# contact), set by a manager of the call or the operator.
proposal_contacts = sa.Table(
    "proposal_contacts",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("call_id", sa.String(255), primary_key=True),
    sa.Column("proposal_id", sa.String(255), primary_key=True),
    _call_fk("proposal_id", table="proposals"),
)

# A lot's results, released by a manager: the Evaluation Summary Reports of its consolidated
# proposals as they were at release (a snapshot; a later change needs a new release).
releases = sa.Table(
    "releases",
    metadata,
    sa.Column("release_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(255), nullable=False),
    sa.Column("lot_id", sa.String(255), nullable=False),
    sa.Column("released_at", TS, nullable=False),
    sa.Column("released_by", sa.Integer, nullable=True),
    _call_fk("lot_id", table="lots"),
    sa.UniqueConstraint("call_id", "lot_id"),
)

released_reports = sa.Table(
    "released_reports",
    metadata,
    sa.Column(
        "release_id", sa.Integer, sa.ForeignKey("releases.release_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("proposal_id", sa.String(255), primary_key=True),
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("pdf", sa.LargeBinary, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
)

# Proposal documents, content-addressed: ``documents`` lists each proposal's files by name with
# the sha256 of their bytes; the bytes live in ``blobs`` (the database backend) or in a folder or
# an S3-compatible bucket named by the deployment (see evalpanel.store.documents).
documents = sa.Table(
    "documents",
    metadata,
    sa.Column("call_id", sa.String(255), primary_key=True),
    sa.Column("proposal_id", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("pages", sa.Integer, nullable=False),
    sa.Column("added_at", TS, nullable=False),
    _call_fk("proposal_id", table="proposals"),
)

blobs = sa.Table(
    "blobs",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

# A manager's mark that a proposal's consolidated evaluation was checked for quality (scores and
# comments coherent, comments fit for the applicant) before its lot's results are released.
quality_checks = sa.Table(
    "quality_checks",
    metadata,
    sa.Column("call_id", sa.String(255), primary_key=True),
    sa.Column("proposal_id", sa.String(255), primary_key=True),
    sa.Column("checked_by", sa.Integer, nullable=True),
    sa.Column("checked_at", TS, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    _call_fk("proposal_id", table="proposals"),
)

# One-time invitations of experts: the link's token is kept only as its sha256.
invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("invitation_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("call_id", sa.String(255), nullable=False),
    sa.Column("expert_id", sa.String(255), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("used_at", TS, nullable=True),
    _call_fk("expert_id", table="experts"),
)

# A manager's ordering of proposals still ex aequo after the scheme's tie-break keys, with its
# written justification (the Programme Guide's "further prioritisation", documented in the panel
# report). ``proposal_ids`` is the ordered JSON list, best first; it applies while exactly those
# proposals are tied. A new order for any of them replaces the old one (kept in the audit log).
tie_orders = sa.Table(
    "tie_orders",
    metadata,
    sa.Column("tie_order_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(255), nullable=False),
    sa.Column("lot_id", sa.String(255), nullable=False),
    sa.Column("proposal_ids", sa.JSON, nullable=False),
    sa.Column("justification", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.Integer, sa.ForeignKey("users.user_id"), nullable=True),
    sa.Column("recorded_at", TS, nullable=False),
    _call_fk("lot_id", table="lots"),
    sa.Index(None, "call_id", "lot_id"),
)

# A call manager's decision on a potential conflict (a likely, unconfirmed organisation match):
# "confirmed" (it became the conflict ``conflict_id``) or "dismissed" (never shown again for the
# pair). One decision per pair; ``detail`` is the match as it was shown.
POTENTIAL_DECISIONS = values(PotentialDecision)
potential_conflict_decisions = sa.Table(
    "potential_conflict_decisions",
    metadata,
    sa.Column("decision_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "call_id",
        sa.String(255),
        sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("proposal_id", sa.String(255), nullable=False),
    sa.Column("expert_id", sa.String(255), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("conflict_id", sa.Integer, nullable=True),
    sa.Column("decided_by", sa.Integer, sa.ForeignKey("users.user_id"), nullable=True),
    sa.Column("decided_at", TS, nullable=False),
    sa.UniqueConstraint("call_id", "proposal_id", "expert_id"),
    sa.CheckConstraint("decision IN ('confirmed', 'dismissed')", name="decision"),
)

# What the conflict rule saw when a batch was previewed (one row per batch made since revision
# 0017): ``conflicts_hash`` of the call's content and recorded conflicts, ``conflict_ids`` (JSON
# list) of those conflicts, so that publishing can say which were added or removed; ``origin``
# of the tasks the batch creates ("batch", or "extra" for a further-expert change-set).
batch_snapshots = sa.Table(
    "batch_snapshots",
    metadata,
    sa.Column(
        "batch_id",
        sa.Integer,
        sa.ForeignKey("batches.batch_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("conflicts_hash", sa.String(64), nullable=False),
    sa.Column("conflict_ids", sa.JSON, nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
)


# --- requests to the call's manager (corrections after peers' scores were visible, conflicts
# declared after submission) and the consolidation states they can lead to ---------------------
REQUEST_KINDS = values(RequestKind)
REQUEST_STATES = values(RequestState)
# "suspended": the panel changed under the consolidation (an approved conflict); only the
# manager restarts it, naming its consolidator.
CONSOLIDATION_STATES = values(ConsolidationState)



# One row per request. A correction request authorises one version (``version_no``) of the
# task's evaluation; a conflict request keeps the declaration (kind, note, org_id) in
# ``details`` until the manager decides.
requests = sa.Table(
    "requests",
    metadata,
    sa.Column("request_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(255), nullable=False, index=True),
    sa.Column("task_id", sa.Integer, sa.ForeignKey("tasks.task_id"), nullable=False, index=True),
    sa.Column("proposal_id", sa.String(255), nullable=False),
    sa.Column("expert_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("version_no", sa.Integer, nullable=True),
    sa.Column("details", sa.JSON, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.user_id"), nullable=True),
    sa.Column("decided_at", TS, nullable=True),
    sa.Column("decided_by", sa.Integer, sa.ForeignKey("users.user_id"), nullable=True),
    sa.Column("decision_note", sa.Text, nullable=True),
    sa.CheckConstraint(_one_of("kind", REQUEST_KINDS), name="kind"),
    sa.CheckConstraint(_one_of("state", REQUEST_STATES), name="state"),
)

# Dashboard sessions: the browser holds a random id; only its SHA-256 is stored. A session ends
# at ``expires_at`` (absolute), after ``idle_timeout_s`` without a request, or when revoked.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("session_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.user_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("provider", sa.String(255), nullable=False),
    sa.Column("display_name", sa.String(255), nullable=False),
    sa.Column("client", sa.String(255), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("last_seen_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("idle_timeout_s", sa.Integer, nullable=False),
    sa.Column("revoked_at", TS, nullable=True),
    sa.Column("revoked_reason", sa.String(32), nullable=True),
)

# Failed sign-ins per key (a username or a client, stored as SHA-256 of "kind:value"), counted
# within a window; ``locked_until`` is the growing delay before the key may try again.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_start", TS, nullable=False),
    sa.Column("last_failure_at", TS, nullable=False, index=True),
    sa.Column("locked_until", TS, nullable=True),
)


# Sentence embeddings of proposal and profile texts, by model and sha256 of the text (not by
# call: the same text has the same vector in every call), shared by every process and batch so
# a text is embedded once (evalpanel.store.embedding_cache). ``vector``: ``dim`` float32,
# little-endian bytes.
text_embeddings = sa.Table(
    "text_embeddings",
    metadata,
    sa.Column("model", sa.String(255), primary_key=True),
    sa.Column("text_hash", sa.String(64), primary_key=True),
    sa.Column("dim", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

# An applicant's e-mail address, where the notice that their results are released goes; set with
# the contact link (evalpanel.store.releases.link_contact). Migration 0028.
contact_emails = sa.Table(
    "contact_emails",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("set_at", TS, nullable=False),
)

# One-time links that add a colleague to a rehearsal's scorers. ``email`` is the address the
# link was sent to, or null for a link the applicant shares themselves; the token is kept only as
# its sha256 (evalpanel.store.rehearsal_invites). Migration 0028.
rehearsal_invitations = sa.Table(
    "rehearsal_invitations",
    metadata,
    sa.Column("invitation_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "rehearsal_id",
        sa.Integer,
        sa.ForeignKey("rehearsals.rehearsal_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("used_at", TS, nullable=True),
    sa.Column(
        "used_by", sa.Integer, sa.ForeignKey("users.user_id", ondelete="SET NULL"), nullable=True
    ),
)

# A rehearsal's draft application (PDF, checked like a call's documents), its bytes in the blob
# store under their sha256 like proposal documents. Migration 0028.
rehearsal_documents = sa.Table(
    "rehearsal_documents",
    metadata,
    sa.Column(
        "rehearsal_id",
        sa.Integer,
        sa.ForeignKey("rehearsals.rehearsal_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("pages", sa.Integer, nullable=False),
    sa.Column("added_at", TS, nullable=False),
)
# The call's last audit line first: the dashboard's caches are keyed by the call's data version,
# read on every run (evalpanel.store.summary.call_data_version); migration 0027.
sa.Index(None, audit_log.c.call_id, audit_log.c.audit_id)
