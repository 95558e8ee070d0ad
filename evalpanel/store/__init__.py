"""The evalpanel store: SQLAlchemy Core tables, migrations and the workflow services.

Every service takes an engine and an :class:`Actor` (user id and role) and enforces the
permissions itself; refused accesses raise :class:`PermissionDenied` and are audit-logged.
Reads return polars frames sorted by their id columns.
"""

from evalpanel.store.accounts import (
    add_identity,
    create_user,
    grant_call,
    link_expert,
    set_disabled,
    set_password,
    set_role,
    ungrant_call,
    user_ids,
)
from evalpanel.store.audit import SYSTEM, Actor, audit_frame
from evalpanel.store.batches import (
    BatchRecord,
    batch_changes,
    batch_record,
    create_batch,
    discard_batch,
    publish_batch,
    published_pairs,
)
from evalpanel.store.call_import import import_call
from evalpanel.store.calls import call_folder, list_calls
from evalpanel.store.conflict_records import list_conflicts, remove_conflict
from evalpanel.store.consolidation import (
    Consolidation,
    approve_consensus,
    consolidated_frame,
    get_consolidation,
    list_consolidations,
    name_consolidator,
    save_consensus,
    start_consolidation,
    submit_consensus,
)
from evalpanel.store.decisions import approve_request, refuse_request
from evalpanel.store.demo_accounts import (
    create_demo_accounts,
    is_demo_database,
    mark_demo_database,
)
from evalpanel.store.engine import default_url, make_engine, reading, upgrade, writing
from evalpanel.store.errors import (
    AlreadyImported,
    CallMismatch,
    InvalidInput,
    InvalidState,
    NotFound,
    PermissionDenied,
    StaleWrite,
    StoreError,
)
from evalpanel.store.evaluations import (
    Evaluation,
    FormContext,
    check_evaluation,
    form_context,
    get_evaluation,
    internal_comments,
    peer_scores,
    request_correction,
    save_draft,
    scores_frame,
    start_correction,
    submit_evaluation,
)
from evalpanel.store.exclusions import conflicted_tasks, rule_frames
from evalpanel.store.explanations import task_explanations
from evalpanel.store.logins import AccountDisabled, SignInThrottled, authenticate
from evalpanel.store.names import Names, call_names, with_names
from evalpanel.store.potential import (
    confirm_potential_conflict,
    dismiss_potential_conflict,
    potential_decisions,
)
from evalpanel.store.proposals import Partner, Proposal, get_proposal
from evalpanel.store.queue import (
    CallInfo,
    Declaration,
    Participant,
    call_info,
    declaration,
    task_queue,
)
from evalpanel.store.ranking import RankingInputs, ranking_inputs
from evalpanel.store.rehearsals import (
    RehearsalView,
    create_rehearsal,
    list_rehearsals,
    rehearsal_view,
    save_rehearsal_scores,
    submitted_rehearsal_scores,
)
from evalpanel.store.replacements import (
    ReplacementSolver,
    confirm_replacement,
    dismiss_replacement,
    list_replacements,
    propose_replacement,
    propose_with,
    proposed_pairs,
)
from evalpanel.store.requests import RequestSummary, list_requests
from evalpanel.store.roster import find_user, list_users
from evalpanel.store.sessions import (
    LiveSession,
    SessionEnded,
    SessionPolicy,
    end_session,
    list_sessions,
    resume_session,
    revoke_sessions,
    start_session,
)
from evalpanel.store.tables import (
    REQUEST_STATES,
    USERNAME_MAX,
)
from evalpanel.store.tasks import (
    accept_task,
    add_task,
    declare_conflict,
    decline_task,
    list_tasks,
    withdraw_task,
)
from evalpanel.store.tie_orders import list_tie_orders, record_tie_order
from evalpanel.vocab import ACTIVE_STATES, STARTED_STATES, RequestKind, RequestState

__all__ = [
    "ACTIVE_STATES",
    "REQUEST_STATES",
    "STARTED_STATES",
    "SYSTEM",
    "USERNAME_MAX",
    "AccountDisabled",
    "Actor",
    "AlreadyImported",
    "BatchRecord",
    "CallInfo",
    "CallMismatch",
    "Consolidation",
    "Declaration",
    "Evaluation",
    "FormContext",
    "InvalidInput",
    "InvalidState",
    "LiveSession",
    "Names",
    "NotFound",
    "Participant",
    "Partner",
    "PermissionDenied",
    "Proposal",
    "RankingInputs",
    "RehearsalView",
    "ReplacementSolver",
    "RequestKind",
    "RequestState",
    "RequestSummary",
    "SessionEnded",
    "SessionPolicy",
    "SignInThrottled",
    "StaleWrite",
    "StoreError",
    "accept_task",
    "add_identity",
    "add_task",
    "approve_consensus",
    "approve_request",
    "audit_frame",
    "authenticate",
    "batch_changes",
    "batch_record",
    "call_folder",
    "call_info",
    "call_names",
    "check_evaluation",
    "confirm_potential_conflict",
    "confirm_replacement",
    "conflicted_tasks",
    "consolidated_frame",
    "create_batch",
    "create_demo_accounts",
    "create_rehearsal",
    "create_user",
    "declaration",
    "declare_conflict",
    "decline_task",
    "default_url",
    "discard_batch",
    "dismiss_potential_conflict",
    "dismiss_replacement",
    "end_session",
    "find_user",
    "form_context",
    "get_consolidation",
    "get_evaluation",
    "get_proposal",
    "grant_call",
    "import_call",
    "internal_comments",
    "is_demo_database",
    "link_expert",
    "list_calls",
    "list_conflicts",
    "list_consolidations",
    "list_rehearsals",
    "list_replacements",
    "list_requests",
    "list_sessions",
    "list_tasks",
    "list_tie_orders",
    "list_users",
    "make_engine",
    "mark_demo_database",
    "name_consolidator",
    "peer_scores",
    "potential_decisions",
    "propose_replacement",
    "propose_with",
    "proposed_pairs",
    "publish_batch",
    "published_pairs",
    "ranking_inputs",
    "reading",
    "record_tie_order",
    "refuse_request",
    "rehearsal_view",
    "remove_conflict",
    "request_correction",
    "resume_session",
    "revoke_sessions",
    "rule_frames",
    "save_consensus",
    "save_draft",
    "save_rehearsal_scores",
    "scores_frame",
    "set_disabled",
    "set_password",
    "set_role",
    "start_consolidation",
    "start_correction",
    "start_session",
    "submit_consensus",
    "submit_evaluation",
    "submitted_rehearsal_scores",
    "task_explanations",
    "task_queue",
    "ungrant_call",
    "upgrade",
    "user_ids",
    "with_names",
    "withdraw_task",
    "writing",
]
