"""The one vocabulary of evalpanel: every state, kind, origin and role a stored record can take.

Each is defined here once and imported everywhere else: the store's tables build their CHECK
constraints from these values, the services compare against them, and the dashboard and the CLI
show them. The enums are :class:`~enum.StrEnum`, so a member equals its stored text
(``TaskState.SUBMITTED == "submitted"``) and a value read from the database compares as is.

- :class:`TaskState`: assigned → accepted → draft → submitted; assigned or accepted → declined;
  any → withdrawn (the manager took the task back).
- :class:`EvaluationStatus`: a stored version of an evaluation, draft then submitted (frozen).
- :class:`BatchState`: an assignment run, preview → published, or discarded;
  :class:`BatchOrigin`: a whole run or further experts on some proposals.
- :class:`ReplacementState`: pending → proposed (pairs computed) → applied, or dismissed.
- :class:`ConsolidationState`: drafting → approval → final; suspended when the panel changed.
- :class:`RequestKind` (a correction or a late conflict) and :class:`RequestState`:
  pending → approved or refused.
- :class:`ConflictKind`, :class:`ConflictSource`: what a recorded conflict is and where it came
  from; :class:`PotentialDecision`: a manager's answer to a likely organisation match.
- :class:`NotificationKind`, :class:`NotificationStatus`: the outbox, pending → sending → sent or
  failed; :data:`DeadlineKind`: evaluation or consolidation.
- :data:`Role`: manager, expert, applicant, and ``system`` (the local operator);
  :data:`Mode`: the assignment engine's modes; :data:`TextModel`: the affinity's text similarity.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal, get_args

__all__ = [
    "ACTIVE_STATES",
    "DEADLINE_KINDS",
    "MODES",
    "OPEN_STATES",
    "ROLES",
    "RUNNING_CONSOLIDATION",
    "STARTED_STATES",
    "TEXT_MODELS",
    "USER_ROLES",
    "BatchOrigin",
    "BatchState",
    "ConflictKind",
    "ConflictSource",
    "ConsolidationState",
    "DeadlineKind",
    "EvaluationStatus",
    "Mode",
    "NotificationKind",
    "NotificationStatus",
    "PotentialDecision",
    "ReplacementState",
    "RequestKind",
    "RequestState",
    "Role",
    "TaskState",
    "TextModel",
    "values",
]


def values(vocabulary: type[StrEnum]) -> tuple[str, ...]:
    """The stored texts of a vocabulary, in declaration order (for CHECK constraints, choices)."""
    return tuple(member.value for member in vocabulary)


class TaskState(StrEnum):
    """An expert's task on one proposal."""

    ASSIGNED = "assigned"  # published, not yet answered
    ACCEPTED = "accepted"  # accepted without a conflict; the proposal opens
    DECLINED = "declined"  # declined or a conflict declared; another expert is needed
    DRAFT = "draft"  # an evaluation draft is saved
    SUBMITTED = "submitted"  # the evaluation is submitted (frozen; corrections are requests)
    WITHDRAWN = "withdrawn"  # the manager took the task back


STARTED_STATES: Final = (TaskState.ACCEPTED, TaskState.DRAFT, TaskState.SUBMITTED)
"""The expert has taken the task on (the proposal is open to them)."""
ACTIVE_STATES: Final = (TaskState.ASSIGNED, *STARTED_STATES)
"""The task is on the published assignment."""
OPEN_STATES: Final = (TaskState.ASSIGNED, TaskState.ACCEPTED, TaskState.DRAFT)
"""On the published assignment and not yet submitted (declining and withdrawing are allowed)."""


class EvaluationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class BatchState(StrEnum):
    PREVIEW = "preview"
    PUBLISHED = "published"
    DISCARDED = "discarded"


class BatchOrigin(StrEnum):
    BATCH = "batch"  # a whole assignment run
    EXTRA = "extra"  # further experts on some proposals (divergence)


class ReplacementState(StrEnum):
    PENDING = "pending"
    PROPOSED = "proposed"
    APPLIED = "applied"
    DISMISSED = "dismissed"


class ConsolidationState(StrEnum):
    DRAFTING = "drafting"
    APPROVAL = "approval"  # the consolidator submitted the draft; the panel approves
    SUSPENDED = "suspended"  # the panel changed (an approved conflict); a manager restarts it
    FINAL = "final"


RUNNING_CONSOLIDATION: Final = (ConsolidationState.DRAFTING, ConsolidationState.APPROVAL)
"""A consolidation under way (neither final nor suspended)."""


class RequestKind(StrEnum):
    CORRECTION = "correction"  # change a submitted evaluation after seeing the panel's scores
    CONFLICT = "conflict"  # a conflict of interest declared on a submitted evaluation


class RequestState(StrEnum):
    """A request's life: pending → approved or refused (final both)."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class ConflictKind(StrEnum):
    DECLARED = "declared"
    EMPLOYMENT = "employment"
    COLLABORATION = "collaboration"
    FAMILY = "family"
    PREPARATION = "preparation"
    OTHER = "other"


class ConflictSource(StrEnum):
    IMPORT = "import"  # conflicts.csv of the call folder
    DECLARED = "declared"  # an expert's or a manager's declaration later


class PotentialDecision(StrEnum):
    CONFIRMED = "confirmed"  # it became a recorded conflict
    DISMISSED = "dismissed"  # never shown again for the pair


class NotificationKind(StrEnum):
    ASSIGNED = "assigned"
    REPLACED = "replaced"
    FURTHER_EXPERT = "further_expert"
    REMINDER = "reminder"
    OVERDUE = "overdue"
    CONSOLIDATION_READY = "consolidation_ready"
    CONSOLIDATION_REMINDER = "consolidation_reminder"
    CONSOLIDATION_OVERDUE = "consolidation_overdue"
    INVITATION = "invitation"
    RESULTS_RELEASED = "results_released"
    REHEARSAL_INVITATION = "rehearsal_invitation"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


DeadlineKind = Literal["evaluation", "consolidation"]
DEADLINE_KINDS: Final = get_args(DeadlineKind)


Role = Literal["manager", "expert", "applicant", "system"]
"""Who acts: a signed-in manager, expert or applicant, or ``system`` (the local operator)."""
ROLES: Final = get_args(Role)
USER_ROLES: Final = ("manager", "expert", "applicant")
"""The roles an account can have (``system`` is nobody's account)."""

Mode = Literal["max-total", "fair", "randomized"]
"""The assignment engine's modes (``assignment.MODES``, which a test holds this against)."""
MODES: Final = get_args(Mode)

TextModel = Literal["tfidf", "embeddings", "hybrid"]
TEXT_MODELS: Final = get_args(TextModel)
