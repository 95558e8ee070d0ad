"""Who may do what: every permission rule of the store, each a named check that is one query.

A check takes the caller's connection and the actor and returns a :class:`Verdict`: allowed, or
refused with the reason a user reads. A service asks :func:`require`, which raises
:class:`~evalpanel.store.errors.PermissionDenied`; :func:`~evalpanel.store.engine.reading` and
:func:`~evalpanel.store.engine.writing` write the refusal to the audit log once the refused
transaction has rolled back (:mod:`evalpanel.store.audit` only records). No other module of the
store decides a permission.

"Manager" below is a manager of the call concerned, "expert" an expert user linked to the call,
"operator" the local :data:`~evalpanel.store.actors.SYSTEM` actor (the CLI). A manager of another
call, an expert of another call and an applicant not named are refused wherever they are not
listed. :data:`PERMISSIONS` holds this table as data; a test walks it for every kind of actor.

A step that names its call (the one the user is shown) is refused with
:class:`~evalpanel.store.errors.CallMismatch` (audited) when the record it acts on belongs to
another call: :func:`require_same_call`, asked after the permission check.

========================================  ==============================  =========================
action (services)                         allowed                         check
========================================  ==============================  =========================
import or replace a call (import_call)    operator, a manager (a new      can_import_call
                                          call), the call's managers
read the call folder (call_folder)        operator, manager               can_manage_call
read the audit log (audit_frame)          operator (all), manager         can_read_audit
manage the call: batches, tasks,          operator, manager               can_manage_call
conflicts, replacements, deadlines,
consolidations, requests, releases,
documents, invitations, tie orders,
scores and audit of the call
read the call's facts, the queue          operator, manager, expert       can_read_queue
(call_info, list_tasks, queue reads)
read a proposal and its documents         operator, manager, the expert   can_read_proposal
(get_proposal, open documents)            of a task accepted without
                                          conflict
act on a task: accept, decline, draft,    the task's expert (a manager    can_act_on_task
submit, request a correction              too where the service says so)
declare a conflict for an expert          operator, manager, the expert   can_declare_for
read the panel's scores on a proposal     operator, manager, an expert    can_read_peer_scores
(peer_scores)                             who submitted, once the
                                          consolidation has started
take part in a consolidation              the proposal's experts who      can_take_part
                                          submitted
draft and submit the consensus            its consolidator                can_lead_consolidation
read a released report                    manager, the proposal's         can_read_report
                                          applicant contact
create accounts (create_user)             operator; a manager for expert  can_create_user
                                          and applicant accounts
administer accounts: roles, disabling,    operator                        can_operate
identities, sessions, user look-ups
set a password                            operator, the user themself     can_set_password
read the outbox (list_notifications)      operator, manager               can_read_outbox
create a rehearsal, invite colleagues     an applicant                    can_rehearse
read a rehearsal                          its applicant, invited scorers  can_read_rehearsal
score a rehearsal                         its invited scorers             can_score_rehearsal
read a rehearsal's report                 its applicant                   can_read_rehearsal_report
========================================  ==============================  =========================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, NoReturn

import sqlalchemy as sa

from evalpanel.store.actors import Actor
from evalpanel.store.errors import CallMismatch, PermissionDenied
from evalpanel.store.tables import (
    call_managers,
    consolidations,
    expert_links,
    proposal_contacts,
    rehearsal_scorers,
    tasks,
)
from evalpanel.vocab import STARTED_STATES, Role, TaskState

__all__ = [
    "ALLOWED",
    "PERMISSIONS",
    "Permission",
    "Verdict",
    "can_act_on_task",
    "can_create_user",
    "can_declare_for",
    "can_import_call",
    "can_lead_consolidation",
    "can_manage_call",
    "can_operate",
    "can_read_audit",
    "can_read_outbox",
    "can_read_peer_scores",
    "can_read_proposal",
    "can_read_queue",
    "can_read_rehearsal",
    "can_read_rehearsal_report",
    "can_read_report",
    "can_rehearse",
    "can_score_rehearsal",
    "can_set_password",
    "can_take_part",
    "deny",
    "expert_of",
    "manages",
    "panel_open_to",
    "require",
    "require_manager",
    "require_same_call",
]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer of a check: allowed, or refused with ``why`` (what a user reads)."""

    allowed: bool
    why: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED: Final = Verdict(True)


def _refused(why: str) -> Verdict:
    return Verdict(False, why)


def deny(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    why: str,
    *,
    call_id: str | None = None,
) -> NoReturn:
    """Raise :class:`PermissionDenied`; :func:`~evalpanel.store.engine.writing` and
    :func:`~evalpanel.store.engine.reading` log it once their transaction has rolled back."""
    raise PermissionDenied(
        f"{actor} may not {action} {entity} {entity_id}: {why}",
        audit=_refusal(actor, action, entity, entity_id, call_id, {"reason": why}),
    )


def _refusal(actor: Actor, action: str, entity: str, entity_id: object, call_id: str | None,
             after: dict[str, str]) -> dict[str, object]:
    """The audit line of a refusal (``denied:<action>``), written once the transaction that
    raised it has rolled back."""
    return {"user_id": actor.user_id, "role": actor.role, "action": "denied:" + action,
            "entity": entity, "entity_id": str(entity_id), "call_id": call_id, "after": after}


def require(
    verdict: Verdict,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    *,
    call_id: str | None = None,
) -> None:
    """Raise :class:`PermissionDenied` (audited) unless ``verdict`` allows the action."""
    if not verdict.allowed:
        deny(actor, action, entity, entity_id, verdict.why, call_id=call_id)


# --- who the actor is in a call ---------------------------------------------------------------
def manages(conn: sa.Connection, actor: Actor, call_id: str) -> bool:
    """True for the operator and for managers of ``call_id``."""
    if actor.role == "system":
        return True
    if actor.role != "manager" or actor.user_id is None:
        return False
    found = conn.execute(
        sa.select(call_managers.c.user_id).where(
            call_managers.c.call_id == call_id, call_managers.c.user_id == actor.user_id
        )
    ).first()
    return found is not None


def expert_of(conn: sa.Connection, actor: Actor, call_id: str) -> str | None:
    """The expert id the actor is in ``call_id`` (None when not an expert there)."""
    if actor.role != "expert" or actor.user_id is None:
        return None
    value = conn.execute(
        sa.select(expert_links.c.expert_id).where(
            expert_links.c.user_id == actor.user_id, expert_links.c.call_id == call_id
        )
    ).scalar()
    return None if value is None else str(value)


def _task_state(conn: sa.Connection, call_id: str, proposal_id: str, expert_id: str) -> str | None:
    state = conn.execute(
        sa.select(tasks.c.state).where(
            tasks.c.call_id == call_id,
            tasks.c.proposal_id == proposal_id,
            tasks.c.expert_id == expert_id,
        )
    ).scalar()
    return None if state is None else str(state)


# --- the checks -------------------------------------------------------------------------------
def can_operate(actor: Actor) -> Verdict:
    """Account administration is the local operator's (the CLI's)."""
    return ALLOWED if actor.role == "system" else _refused("only the local operator")


def can_manage_call(conn: sa.Connection, actor: Actor, call_id: str) -> Verdict:
    if manages(conn, actor, call_id):
        return ALLOWED
    return _refused("only a manager of this call may do this")


def can_import_call(conn: sa.Connection, actor: Actor, call_id: str, *, exists: bool) -> Verdict:
    """Any manager imports a new call (and becomes its manager); replacing one is for its
    managers."""
    if actor.role not in ("system", "manager"):
        return _refused("only managers import calls")
    if exists and not manages(conn, actor, call_id):
        return _refused("only a manager of this call")
    return ALLOWED


def can_read_queue(conn: sa.Connection, actor: Actor, call_id: str) -> Verdict:
    """The call's facts and task lists: its managers and its experts (their own tasks)."""
    if manages(conn, actor, call_id) or expert_of(conn, actor, call_id) is not None:
        return ALLOWED
    return _refused("not a manager or expert of the call")


def can_read_proposal(
    conn: sa.Connection, actor: Actor, call_id: str, proposal_id: str
) -> Verdict:
    """Managers read every proposal; an expert one whose task they accepted, while the conflict
    rule does not exclude the pair."""
    if manages(conn, actor, call_id):
        return ALLOWED
    expert_id = expert_of(conn, actor, call_id)
    if expert_id is None:
        return _refused("not a manager or expert of the call")
    if _task_state(conn, call_id, proposal_id, expert_id) not in STARTED_STATES:
        return _refused("the proposal opens only after accepting its task without a conflict")
    # The conflict rule is the store's one place for exclusions (it uses this module itself).
    from evalpanel.store.exclusions import pair_reasons

    if pair_reasons(conn, call_id, proposal_id, expert_id):
        return _refused(
            "the conflict rule excludes the pair (a recorded conflict, a shared organisation or "
            "a language the expert does not read)"
        )
    return ALLOWED


def can_act_on_task(
    conn: sa.Connection, actor: Actor, task: sa.RowMapping, *, manager_too: bool = False
) -> Verdict:
    """The task's own expert (and, where the service allows it, the call's managers)."""
    if manager_too and manages(conn, actor, task["call_id"]):
        return ALLOWED
    if expert_of(conn, actor, task["call_id"]) == task["expert_id"]:
        return ALLOWED
    return _refused("it is not one of your tasks")


def can_declare_for(conn: sa.Connection, actor: Actor, call_id: str, expert_id: str) -> Verdict:
    if manages(conn, actor, call_id) or expert_of(conn, actor, call_id) == expert_id:
        return ALLOWED
    return _refused("only the expert themself or a manager of the call")


def can_read_peer_scores(
    conn: sa.Connection, actor: Actor, call_id: str, proposal_id: str
) -> Verdict:
    """Independence: an expert reads the panel's scores once their own evaluation is submitted
    and the proposal's consolidation has started. Once allowed it stays so while the task
    counts (a consolidation is never deleted and a submitted task stays submitted during a
    correction)."""
    if manages(conn, actor, call_id):
        return ALLOWED
    return panel_open_to(conn, call_id, proposal_id, expert_of(conn, actor, call_id))


def panel_open_to(
    conn: sa.Connection, call_id: str, proposal_id: str, expert_id: str | None
) -> Verdict:
    """Whether the expert ``expert_id`` reads (or could read) the panel's scores on the
    proposal: the independence rule of :func:`can_read_peer_scores`."""
    state = None if expert_id is None else _task_state(conn, call_id, proposal_id, expert_id)
    if state != TaskState.SUBMITTED:
        return _refused("other experts' scores open only after submitting your own")
    started = conn.execute(
        sa.select(consolidations.c.consolidation_id).where(
            consolidations.c.call_id == call_id, consolidations.c.proposal_id == proposal_id
        )
    ).first()
    if started is None:
        return _refused("other experts' scores open only in consolidation")
    return ALLOWED


def can_take_part(
    conn: sa.Connection, actor: Actor, call_id: str, proposal_id: str
) -> tuple[Verdict, str | None]:
    """A consolidation is for the proposal's experts who submitted; also returns the actor's
    expert id."""
    expert_id = expert_of(conn, actor, call_id)
    if expert_id is not None and _task_state(
        conn, call_id, proposal_id, expert_id
    ) == TaskState.SUBMITTED:
        return ALLOWED, expert_id
    return _refused("only the proposal's experts who submitted take part"), expert_id


def can_lead_consolidation(
    conn: sa.Connection, actor: Actor, call_id: str, proposal_id: str, consolidator: str
) -> Verdict:
    """Drafting and submitting the consensus is the consolidator's (who took part)."""
    verdict, expert_id = can_take_part(conn, actor, call_id, proposal_id)
    if not verdict:
        return verdict
    if expert_id != consolidator:
        return _refused("only the consolidator drafts and submits the consensus")
    return ALLOWED


def can_read_report(conn: sa.Connection, actor: Actor, call_id: str, proposal_id: str) -> Verdict:
    """A released evaluation summary report: the call's managers and the proposal's applicant
    contacts."""
    if manages(conn, actor, call_id):
        return ALLOWED
    if actor.role == "applicant" and actor.user_id is not None:
        contact = conn.execute(
            sa.select(proposal_contacts.c.user_id).where(
                proposal_contacts.c.user_id == actor.user_id,
                proposal_contacts.c.call_id == call_id,
                proposal_contacts.c.proposal_id == proposal_id,
            )
        ).first()
        if contact is not None:
            return ALLOWED
    return _refused("only the proposal's applicant contact and the call's managers read it")


def can_create_user(actor: Actor, role: Role) -> Verdict:
    if actor.role == "system" or (actor.role == "manager" and role != "manager"):
        return ALLOWED
    return _refused(
        "only managers create expert and applicant accounts, and only the local operator "
        "creates managers"
    )


def can_set_password(actor: Actor, user_id: int) -> Verdict:
    if actor.role == "system" or actor.user_id == user_id:
        return ALLOWED
    return _refused("only the user themself")


def can_read_audit(conn: sa.Connection, actor: Actor, call_id: str | None) -> Verdict:
    """A call's audit log: its managers; the whole log: the local operator."""
    allowed = actor.role == "system" if call_id is None else manages(conn, actor, call_id)
    return ALLOWED if allowed else _refused("only the call's managers may read its audit log")


def can_read_outbox(conn: sa.Connection, actor: Actor, call_id: str | None) -> Verdict:
    """The notification outbox: the operator (all of it) and a call's managers (its part)."""
    if actor.role == "system" or (call_id is not None and manages(conn, actor, call_id)):
        return ALLOWED
    return _refused("only the call's managers and the local operator")


def can_rehearse(actor: Actor) -> Verdict:
    """Rehearsals (and inviting colleagues to score them) are for applicants."""
    if actor.role == "applicant" and actor.user_id is not None:
        return ALLOWED
    return _refused("rehearsals are for applicants")


def _invited(conn: sa.Connection, rehearsal_id: int, user_id: int | None) -> bool:
    return (
        conn.execute(
            sa.select(rehearsal_scorers.c.user_id).where(
                rehearsal_scorers.c.rehearsal_id == rehearsal_id,
                rehearsal_scorers.c.user_id == user_id,
            )
        ).first()
        is not None
    )


def _owns(actor: Actor, owner_id: int) -> bool:
    return actor.role == "applicant" and actor.user_id == owner_id


def can_read_rehearsal(
    conn: sa.Connection, actor: Actor, rehearsal_id: int, owner_id: int
) -> Verdict:
    if _owns(actor, owner_id) or _invited(conn, rehearsal_id, actor.user_id):
        return ALLOWED
    return _refused("only its applicant and invited scorers see a rehearsal")


def can_score_rehearsal(conn: sa.Connection, actor: Actor, rehearsal_id: int) -> Verdict:
    if _invited(conn, rehearsal_id, actor.user_id):
        return ALLOWED
    return _refused("you were not invited to score it")


def can_read_rehearsal_report(actor: Actor, owner_id: int) -> Verdict:
    if _owns(actor, owner_id):
        return ALLOWED
    return _refused("only the applicant who made the rehearsal sees its report")


def require_manager(conn: sa.Connection, actor: Actor, action: str, call_id: str) -> None:
    """:func:`require` of :func:`can_manage_call`, for the many services only managers use."""
    require(can_manage_call(conn, actor, call_id), actor, action, "call", call_id,
            call_id=call_id)


# --- the call a step names ------------------------------------------------------------------
def require_same_call(
    actor: Actor, action: str, entity: str, entity_id: object, record_call: str,
    named_call: str | None,
) -> None:
    """Raise :class:`~evalpanel.store.errors.CallMismatch` when ``named_call`` (the call the
    user is shown) is given and is not ``record_call`` (the call of the record acted on).

    Every service that takes a record id (a batch, a consolidation, a task, a request, a
    replacement, a conflict) also takes the keyword ``call_id``; it asks this after its
    permission check, so that a refusal never tells anyone about a call they may not see. The
    store's transactions write the refusal to the audit log as ``denied:<action>`` under the
    record's call (which the actor may see)."""
    if named_call is None or named_call == record_call:
        return
    why = (f"belongs to call {record_call!r}, not to call {named_call[:80]!r} that this step "
           "names")
    raise CallMismatch(
        f"{action.replace('_', ' ')} refused, nothing changed: {entity} {entity_id} {why}. "
        f"Select call {record_call!r} to act on it, or reload the page.",
        audit=_refusal(actor, action, entity, entity_id, record_call,
                       {"reason": why, "named_call": named_call[:255]}),
    )


# --- the table as data ------------------------------------------------------------------------
Who = str
"""One kind of actor in :data:`PERMISSIONS`: ``operator``, ``manager`` (of the call),
``other-manager`` (of another call), ``expert`` (of the call, on the proposal concerned),
``other-expert`` (of the call, not on the proposal), ``applicant`` (the proposal's contact, or
the rehearsal's owner), ``other-applicant`` (a colleague who joined the rehearsal to score it,
no contact of any proposal)."""
WHO: Final = (
    "operator", "manager", "other-manager", "expert", "other-expert", "applicant",
    "other-applicant",
)


@dataclass(frozen=True, slots=True)
class Permission:
    """One row of the table: ``action`` (a service of :mod:`evalpanel.store`), the check that
    guards it, and the kinds of actor it allows (every other kind is refused and audited)."""

    action: str
    check: str
    allowed: frozenset[Who]


def _row(action: str, check: str, *allowed: Who) -> Permission:
    unknown = set(allowed) - set(WHO)
    if unknown:
        raise ValueError(f"unknown kinds of actor in the permission table: {sorted(unknown)}")
    return Permission(action, check, frozenset(allowed))


_MANAGERS = ("operator", "manager")
PERMISSIONS: Final = (
    _row("import_call", "can_import_call", *_MANAGERS),
    _row("call_folder", "can_manage_call", *_MANAGERS),
    _row("create_batch", "can_manage_call", *_MANAGERS),
    _row("add_task", "can_manage_call", *_MANAGERS),
    _row("scores_frame", "can_manage_call", *_MANAGERS),
    _row("audit_frame", "can_read_audit", *_MANAGERS),
    _row("list_conflicts", "can_manage_call", *_MANAGERS),
    _row("set_deadline", "can_manage_call", *_MANAGERS),
    _row("release_results", "can_manage_call", *_MANAGERS),
    _row("call_info", "can_read_queue", *_MANAGERS, "expert", "other-expert"),
    _row("list_tasks", "can_read_queue", *_MANAGERS, "expert", "other-expert"),
    _row("get_proposal", "can_read_proposal", *_MANAGERS, "expert"),
    _row("accept_task", "can_act_on_task", "expert"),
    _row("declare_conflict", "can_declare_for", *_MANAGERS, "expert"),
    _row("peer_scores", "can_read_peer_scores", *_MANAGERS),
    _row("get_consolidation", "can_take_part", *_MANAGERS, "expert"),
    _row("save_consensus", "can_lead_consolidation", "expert"),
    _row("read_released_report", "can_read_report", *_MANAGERS, "applicant"),
    _row("create_user", "can_create_user", *_MANAGERS, "other-manager"),
    _row("revoke_sessions", "can_operate", "operator"),
    _row("set_password", "can_set_password", "operator"),
    _row("list_notifications", "can_read_outbox", *_MANAGERS),
    _row("create_rehearsal", "can_rehearse", "applicant", "other-applicant"),
    _row("rehearsal_view", "can_read_rehearsal", "applicant", "other-applicant"),
    _row("save_rehearsal_scores", "can_score_rehearsal", "other-applicant"),
    _row("submitted_rehearsal_scores", "can_read_rehearsal_report", "applicant"),
)
"""The table of the module docstring as data (see :class:`Permission`)."""
