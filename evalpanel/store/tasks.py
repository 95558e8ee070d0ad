"""Tasks: one expert's work on one proposal, and the steps an expert or manager takes on them.

States: ``assigned`` → ``accepted`` (no conflict) or ``declined`` (a conflict declared, with its
reason) → ``draft`` (first save) → ``submitted``; ``withdrawn`` when a published batch drops the
pair. Declining, or a conflict declared later, records the conflict and opens a pending
replacement request for the manager (:mod:`evalpanel.store.replacements`). A conflict declared
on a *submitted* task is a request instead (:mod:`evalpanel.store.requests`): the evaluation
keeps counting until the manager approves it (:mod:`evalpanel.store.decisions`).
:func:`list_tasks` returns ``task_id, proposal_id, expert_id, state, origin, batch_id,
affinity, decline_reason`` sorted by ``proposal_id, expert_id``; an expert gets only their own.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import (
    can_act_on_task,
    can_declare_for,
    can_read_queue,
    expert_of,
    manages,
    require,
    require_manager,
    require_same_call,
)
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, InvalidState, NotFound
from evalpanel.store.exclusions import lock_call, pair_reasons, refuse_excluded, refuse_overload
from evalpanel.store.frames import inserted_id, query_frame
from evalpanel.store.requests import open_request
from evalpanel.store.rows import one_row
from evalpanel.store.tables import (
    conflicts,
    experts,
    partners,
    proposals,
    replacements,
    tasks,
)
from evalpanel.vocab import (
    ACTIVE_STATES,
    OPEN_STATES,
    ConflictKind,
    RequestKind,
    RequestState,
    TaskState,
    values,
)

CONFLICT_KINDS = values(ConflictKind)
TASK_SCHEMA: dict[str, pl.DataType] = {
    "task_id": pl.Int64(),
    "proposal_id": pl.String(),
    "expert_id": pl.String(),
    "state": pl.String(),
    "origin": pl.String(),
    "batch_id": pl.Int64(),
    "affinity": pl.Float64(),
    "decline_reason": pl.String(),
}


def load_task(conn: sa.Connection, task_id: int) -> sa.RowMapping:
    return one_row(conn, tasks, f"task {task_id}", task_id=task_id)


def own_task(
    conn: sa.Connection, actor: Actor, task_id: int, action: str, *, manager_too: bool = False
) -> sa.RowMapping:
    """The task, when it is the actor's own (or the actor manages its call and ``manager_too``);
    otherwise the access is refused."""
    task = load_task(conn, task_id)
    require(can_act_on_task(conn, actor, task, manager_too=manager_too), actor, action, "task",
            task_id, call_id=task["call_id"])
    return task


def list_tasks(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """The call's tasks for a manager; an expert's own queue for an expert."""
    stmt = sa.select(*(tasks.c[c] for c in TASK_SCHEMA)).where(tasks.c.call_id == call_id)
    with reading(engine) as conn:
        require(can_read_queue(conn, actor, call_id), actor, "list", "tasks", call_id,
                call_id=call_id)
        if not manages(conn, actor, call_id):
            expert_id = expert_of(conn, actor, call_id)
            stmt = stmt.where(tasks.c.expert_id == expert_id)
        return query_frame(conn, stmt, TASK_SCHEMA, ["proposal_id", "expert_id"])


def _set_state(
    conn: sa.Connection,
    actor: Actor,
    task: sa.RowMapping,
    allowed: tuple[str, ...],
    new: str,
    **values: Any,
) -> None:
    """Move a task to ``new`` if it is (still) in one of ``allowed`` — checked in the UPDATE."""
    done = conn.execute(
        tasks.update()
        .where(tasks.c.task_id == task["task_id"], tasks.c.state.in_(allowed))
        .values(state=new, updated_at=now(), **values)
    ).rowcount
    if not done:
        current = conn.execute(
            sa.select(tasks.c.state).where(tasks.c.task_id == task["task_id"])
        ).scalar()
        raise InvalidState(
            f"task {task['task_id']} is {current}; it can become {new} only "
            f"from {' or '.join(allowed)}"
        )
    record(
        conn,
        actor,
        new,
        "task",
        task["task_id"],
        call_id=task["call_id"],
        before={"state": task["state"]},
        after={"state": new, **values},
    )


def accept_task(
    engine: sa.Engine, actor: Actor, task_id: int, *, call_id: str | None = None
) -> None:
    """The expert confirms having no conflict of interest; the proposal opens to them. Refused
    when the conflict rule excludes the pair (a recorded conflict, a shared organisation, a
    language the expert does not read, ...), and with ``call_id`` (:class:`CallMismatch`)
    unless the task is of that call."""
    with writing(engine) as conn:
        task = own_task(conn, actor, task_id, "accept")
        require_same_call(actor, "accept", "task", task_id, task["call_id"], call_id)
        lock_call(conn, task["call_id"])
        reasons = pair_reasons(conn, task["call_id"], task["proposal_id"], task["expert_id"])
        if reasons:
            raise InvalidState(
                f"task {task_id} cannot be accepted: the conflict rule excludes the pair "
                f"({'; '.join(reasons)}); decline it instead"
            )
        _set_state(conn, actor, task, (TaskState.ASSIGNED,), TaskState.ACCEPTED)


def _open_replacement(conn: sa.Connection, actor: Actor, task: sa.RowMapping, reason: str) -> int:
    rid = inserted_id(
        conn.execute(
            replacements.insert().values(
                call_id=task["call_id"],
                task_id=task["task_id"],
                proposal_id=task["proposal_id"],
                expert_id=task["expert_id"],
                reason=reason,
                state=RequestState.PENDING,
                created_at=now(),
            )
        )
    )
    record(
        conn,
        actor,
        "create",
        "replacement",
        rid,
        call_id=task["call_id"],
        after={"task_id": task["task_id"], "reason": reason, "state": RequestState.PENDING},
    )
    return int(rid)


def _add_conflict(
    conn: sa.Connection,
    actor: Actor,
    call_id: str,
    expert_id: str,
    proposal_id: str | None,
    org_id: str | None,
    kind: str,
    note: str,
) -> int:
    if kind not in CONFLICT_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(CONFLICT_KINDS)}; got {kind!r}")
    lock_call(conn, call_id)  # a concurrent task maker sees this conflict, or is declined by it
    values = {
        "call_id": call_id,
        "expert_id": expert_id,
        "proposal_id": proposal_id,
        "org_id": org_id,
        "kind": kind,
        "note": note,
        "source": "declared",
    }
    cid = inserted_id(conn.execute(conflicts.insert().values(created_at=now(), **values)))
    record(conn, actor, "create", "conflict", cid, call_id=call_id, after=values)
    return int(cid)


def decline_task(
    engine: sa.Engine,
    actor: Actor,
    task_id: int,
    reason: str,
    *,
    kind: str = "declared",
    call_id: str | None = None,
) -> int:
    """Decline a task by declaring a conflict (its ``kind`` and ``reason``); returns the id of
    the pending replacement request. The expert or a manager of the call may do this; with
    ``call_id``, refused (:class:`CallMismatch`) unless the task is of that call."""
    if not reason.strip():
        raise InvalidInput("say why the task is declined (the conflict's reason)")
    with writing(engine) as conn:
        task = own_task(conn, actor, task_id, "decline", manager_too=True)
        require_same_call(actor, "decline", "task", task_id, task["call_id"], call_id)
        lock_call(conn, task["call_id"])  # before the task row: the order publishers take
        _set_state(
            conn, actor, task, OPEN_STATES, TaskState.DECLINED, decline_reason=reason
        )
        _add_conflict(
            conn, actor, task["call_id"], task["expert_id"], task["proposal_id"], None, kind, reason
        )
        return _open_replacement(conn, actor, task, f"declined: {reason}")


def declare_conflict(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    expert_id: str,
    *,
    kind: str,
    note: str,
    proposal_id: str | None = None,
    org_id: str | None = None,
) -> list[int]:
    """Record a new conflict (on a proposal or an organisation) for an expert — the expert
    themself or a manager. Every task of that expert it touches that is not submitted yet is
    declined and gets a replacement request; returns those request ids. A submitted task is
    not withdrawn: it gets a pending conflict request (see :func:`~evalpanel.store.requests.
    list_requests`) and its evaluation counts until the manager approves it. A conflict on the
    proposal of a submitted task is recorded only then; one on an organisation at once."""
    if (proposal_id is None) == (org_id is None):
        raise InvalidInput("give either proposal_id or org_id for a conflict, not both or none")
    with writing(engine) as conn:
        require(can_declare_for(conn, actor, call_id, expert_id), actor,
                "declare a conflict for", "expert", expert_id, call_id=call_id)
        return declare_in(conn, actor, call_id, expert_id, kind, note, proposal_id, org_id)[1]


def declare_in(
    conn: sa.Connection,
    actor: Actor,
    call_id: str,
    expert_id: str,
    kind: str,
    note: str,
    proposal_id: str | None,
    org_id: str | None,
) -> tuple[int | None, list[int]]:
    """:func:`declare_conflict` inside the caller's transaction, permission already checked:
    record the conflict, decline every task it touches that is not submitted and open their
    replacement requests; a submitted task gets a conflict request instead. Returns the
    conflict's id (None when it waits for the manager's decision on a submitted task) and the
    replacement request ids."""
    lock_call(conn, call_id)  # before reading the tasks: a task added meanwhile is seen
    hit = sa.select(tasks).where(
        tasks.c.call_id == call_id,
        tasks.c.expert_id == expert_id,
        tasks.c.state.in_(ACTIVE_STATES),
    )
    if proposal_id is not None:
        hit = hit.where(tasks.c.proposal_id == proposal_id)
    else:
        hit = hit.where(
            tasks.c.proposal_id.in_(
                sa.select(partners.c.proposal_id).where(
                    partners.c.call_id == call_id, partners.c.org_id == org_id
                )
            )
        )
    touched = conn.execute(hit.order_by(tasks.c.task_id)).mappings().all()
    submitted = [t for t in touched if t["state"] == TaskState.SUBMITTED]
    if submitted and not note.strip():
        raise InvalidInput(
            "say why (the note): a conflict on a submitted evaluation is a request that "
            "the call manager decides"
        )
    conflict_id = None
    if org_id is not None or not submitted:
        conflict_id = _add_conflict(conn, actor, call_id, expert_id, proposal_id, org_id, kind,
                                    note)
    elif kind not in CONFLICT_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(CONFLICT_KINDS)}; got {kind!r}")
    reason = f"conflict ({kind}): {note}"
    opened = []
    for task in touched:
        if task["state"] == TaskState.SUBMITTED:
            details = {"kind": kind, "note": note, "org_id": org_id}
            open_request(conn, actor, task, RequestKind.CONFLICT, reason, details=details)
            continue
        _set_state(conn, actor, task, (task["state"],), TaskState.DECLINED, decline_reason=reason)
        opened.append(_open_replacement(conn, actor, task, reason))
    return conflict_id, opened


def add_task(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    proposal_id: str,
    expert_id: str,
    *,
    origin: str = "extra",
    affinity: float | None = None,
) -> int:
    """A manager adds one task (e.g. a further expert for a divergent proposal); refused
    (:class:`InvalidInput`) for a pair the conflict rule excludes, (:class:`InvalidState`) for
    one that already has a task or an expert at their maximum load. Returns the task id."""
    with writing(engine) as conn:
        require_manager(conn, actor, "add tasks to", call_id)
        return insert_task(
            conn, actor, call_id, proposal_id, expert_id, origin=origin, affinity=affinity
        )


def insert_task(
    conn: sa.Connection,
    actor: Actor,
    call_id: str,
    proposal_id: str,
    expert_id: str,
    *,
    origin: str,
    affinity: float | None,
    batch_id: int | None = None,
) -> int:
    """Create (or revive a withdrawn) task inside the caller's transaction, after checking the
    pair against the conflict rule and the expert's maximum load in that transaction."""
    found = conn.execute(
        sa.select(proposals.c.proposal_id).where(
            proposals.c.call_id == call_id, proposals.c.proposal_id == proposal_id
        )
    ).first()
    if found is None:
        raise NotFound(f"no proposal {proposal_id!r} in call {call_id!r}")
    known = conn.execute(
        sa.select(experts.c.expert_id).where(
            experts.c.call_id == call_id, experts.c.expert_id == expert_id
        )
    ).first()
    if known is None:
        raise NotFound(f"no expert {expert_id!r} in call {call_id!r}")
    pair = pl.DataFrame({"proposal_id": [proposal_id], "expert_id": [expert_id]})
    refuse_excluded(conn, call_id, pair, f"adding {expert_id} to {proposal_id}")
    old = (
        conn.execute(
            sa.select(tasks).where(
                tasks.c.call_id == call_id,
                tasks.c.proposal_id == proposal_id,
                tasks.c.expert_id == expert_id,
            )
        )
        .mappings()
        .first()
    )
    if old is not None and old["state"] != TaskState.WITHDRAWN:
        raise InvalidState(
            f"{expert_id} already has task {old['task_id']} on {proposal_id} ({old['state']})"
        )
    refuse_overload(conn, call_id, pair, f"adding {expert_id} to {proposal_id}")
    stamp = now()
    values = {
        "state": TaskState.ASSIGNED,
        "origin": origin,
        "affinity": affinity,
        "batch_id": batch_id,
        "decline_reason": None,
        "updated_at": stamp,
    }
    if old is None:
        task_id = inserted_id(
            conn.execute(
                tasks.insert().values(
                    call_id=call_id,
                    proposal_id=proposal_id,
                    expert_id=expert_id,
                    created_at=stamp,
                    **values,
                )
            )
        )
    else:
        task_id = old["task_id"]
        conn.execute(
            tasks.update()
            .where(tasks.c.task_id == task_id, tasks.c.state == TaskState.WITHDRAWN)
            .values(**values)
        )
    record(
        conn,
        actor,
        "create",
        "task",
        task_id,
        call_id=call_id,
        before=None if old is None else {"state": old["state"]},
        after={"proposal_id": proposal_id, "expert_id": expert_id, "origin": origin},
    )
    return int(task_id)


def withdraw_task(
    engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str, expert_id: str
) -> int:
    """A manager takes the expert's active task on the proposal back (``withdrawn``, as a
    published batch does); refused once the evaluation is submitted. Returns the task id."""
    with writing(engine) as conn:
        require_manager(conn, actor, "withdraw tasks of", call_id)
        task = (
            conn.execute(
                sa.select(tasks).where(
                    tasks.c.call_id == call_id,
                    tasks.c.proposal_id == proposal_id,
                    tasks.c.expert_id == expert_id,
                )
            )
            .mappings()
            .first()
        )
        if task is None or task["state"] not in ACTIVE_STATES:
            state = "" if task is None else f" (its task is {task['state']})"
            raise NotFound(f"{expert_id} has no active task on {proposal_id}{state}")
        if task["state"] == TaskState.SUBMITTED:
            raise InvalidState(
                f"task {task['task_id']} of {expert_id} on {proposal_id} is submitted; its "
                "evaluation is frozen and stays"
            )
        _set_state(conn, actor, task, OPEN_STATES, TaskState.WITHDRAWN)
        return int(task["task_id"])
