"""Deadlines: the call's for individual evaluations and for consolidation, and per-task overrides.

A task's evaluation deadline is, in order: its own override, the call's ``evaluation`` deadline set
by a manager, the ``deadline`` of call.toml. A task's consolidation deadline is its own
``consolidation`` override, else the call's ``consolidation`` deadline (none unless set). Dates
are the last day allowed, in UTC: a task is overdue from the day after. Setting a deadline is a
manager's action, audited.

:func:`task_deadlines` returns ``task_id, call_id, proposal_id, expert_id, state, due_on``
(``due_on`` a date or null) for the open tasks of a call (assigned, accepted or draft): what the
queue shows as time left (:func:`my_deadlines`, :func:`time_left`), what reminders are
planned from, and what the overdue view lists (:func:`overdue_tasks`).

:func:`consolidation_work` returns :data:`CONSOLIDATION_SCHEMA` rows: who owes work on a running
consolidation (the consolidator while the consensus is drafted, ``step`` ``draft``; each other
expert of the panel who has not approved the submitted version, ``approve``), with that task's
consolidation deadline. Reminders, overdue notices, the approval requests and the managers'
overdue view (:func:`overdue_consolidations`) all read it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import require_manager
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, NotFound
from evalpanel.store.rows import require_call
from evalpanel.store.tables import calls, consolidation_approvals, consolidations, deadlines, tasks
from evalpanel.vocab import (
    OPEN_STATES,
    RUNNING_CONSOLIDATION,
    ConsolidationState,
    DeadlineKind,
    TaskState,
)

# assigned, accepted, draft: on the published assignment with work still due

DEADLINE_SCHEMA: dict[str, pl.DataType] = {
    "task_id": pl.Int64(),
    "call_id": pl.String(),
    "proposal_id": pl.String(),
    "expert_id": pl.String(),
    "state": pl.String(),
    "due_on": pl.Date(),
}

CONSOLIDATION_SCHEMA: dict[str, pl.DataType] = {
    "task_id": pl.Int64(),
    "call_id": pl.String(),
    "proposal_id": pl.String(),
    "expert_id": pl.String(),
    "consolidation_id": pl.Int64(),
    "version": pl.Int64(),  # the consolidation's row version the work is about
    "step": pl.String(),  # draft (the consolidator) | approve (another expert of the panel)
    "due_on": pl.Date(),
}


def set_deadline(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    kind: DeadlineKind,
    due_on: dt.date,
    *,
    task_id: int | None = None,
) -> None:
    """Set (or move) the call's ``kind`` deadline, or one task's (its evaluation, or its
    expert's part in the proposal's consolidation)."""
    if kind not in ("evaluation", "consolidation"):
        raise InvalidInput(f"{kind!r} is not a deadline kind; choose evaluation or consolidation")
    with writing(engine) as conn:
        require_manager(conn, actor, "set a deadline of", call_id)
        require_call(conn, call_id)
        if task_id is not None:
            owner = conn.execute(
                sa.select(tasks.c.call_id).where(tasks.c.task_id == task_id)).scalar()
            if owner != call_id:
                raise NotFound(f"no task {task_id} in the call {call_id!r}")
        where = sa.and_(
            deadlines.c.call_id == call_id, deadlines.c.kind == kind,
            deadlines.c.task_id.is_(None) if task_id is None else deadlines.c.task_id == task_id)
        before = conn.execute(sa.select(deadlines.c.due_on).where(where)).scalar()
        conn.execute(deadlines.delete().where(where))
        conn.execute(deadlines.insert().values(
            call_id=call_id, kind=kind, task_id=task_id, due_on=due_on, set_at=now()))
        record(conn, actor, "set_deadline", "task" if task_id else "call",
               task_id if task_id else call_id, call_id=call_id,
               before={"kind": kind, "due_on": before}, after={"kind": kind, "due_on": due_on})


def _call_file_deadline(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def open_task_deadlines(conn: sa.Connection, call_id: str | None = None) -> pl.DataFrame:
    """:data:`DEADLINE_SCHEMA` rows of every open task (of one call, or of all calls), inside the
    caller's transaction (no permission check: callers check)."""
    stmt = sa.select(tasks.c.task_id, tasks.c.call_id, tasks.c.proposal_id, tasks.c.expert_id,
                     tasks.c.state).where(tasks.c.state.in_(OPEN_STATES))
    if call_id is not None:
        stmt = stmt.where(tasks.c.call_id == call_id)
    rows = conn.execute(stmt).all()
    if not rows:
        return pl.DataFrame(schema=DEADLINE_SCHEMA)
    file_deadline = {
        cid: _call_file_deadline(text)
        for cid, text in conn.execute(sa.select(calls.c.call_id, calls.c.deadline))}
    set_rows = conn.execute(
        sa.select(deadlines.c.call_id, deadlines.c.task_id, deadlines.c.due_on)
        .where(deadlines.c.kind == "evaluation")).all()
    per_call = {c: d for c, t, d in set_rows if t is None}
    per_task = {t: d for _, t, d in set_rows if t is not None}
    out = [
        (t, c, p, e, s, per_task.get(t) or per_call.get(c) or file_deadline.get(c))
        for t, c, p, e, s in rows
    ]
    return pl.DataFrame(out, schema=DEADLINE_SCHEMA, orient="row").sort("task_id")


def consolidation_deadline(conn: sa.Connection, call_id: str) -> dt.date | None:
    """The call's own consolidation deadline (tasks may override it)."""
    return conn.execute(sa.select(deadlines.c.due_on).where(
        deadlines.c.call_id == call_id, deadlines.c.kind == "consolidation",
        deadlines.c.task_id.is_(None))).scalar()


def consolidation_work(conn: sa.Connection, call_id: str | None = None) -> pl.DataFrame:
    """:data:`CONSOLIDATION_SCHEMA` rows of every expert who owes work on a running
    consolidation (of one call, or of all calls), sorted by ``task_id``, inside the caller's
    transaction (no permission check: callers check). A suspended or final consolidation owes
    nothing."""
    stmt = (
        sa.select(tasks.c.task_id, tasks.c.call_id, tasks.c.proposal_id, tasks.c.expert_id,
                  consolidations.c.consolidation_id, consolidations.c.row_version,
                  consolidations.c.state, consolidations.c.consolidator)
        .join(consolidations, sa.and_(consolidations.c.call_id == tasks.c.call_id,
                                      consolidations.c.proposal_id == tasks.c.proposal_id))
        .where(tasks.c.state == TaskState.SUBMITTED,
               consolidations.c.state.in_(RUNNING_CONSOLIDATION))
    )
    if call_id is not None:
        stmt = stmt.where(tasks.c.call_id == call_id)
    rows = conn.execute(stmt).all()
    if not rows:
        return pl.DataFrame(schema=CONSOLIDATION_SCHEMA)
    approved = {(c, e, v) for c, e, v in conn.execute(sa.select(
        consolidation_approvals.c.consolidation_id, consolidation_approvals.c.expert_id,
        consolidation_approvals.c.row_version))}
    set_rows = conn.execute(
        sa.select(deadlines.c.call_id, deadlines.c.task_id, deadlines.c.due_on)
        .where(deadlines.c.kind == "consolidation")).all()
    per_call = {c: d for c, t, d in set_rows if t is None}
    per_task = {t: d for _, t, d in set_rows if t is not None}
    out = []
    for task, cid, pid, expert, cons, version, state, consolidator in rows:
        if expert == consolidator:
            if state != ConsolidationState.DRAFTING:
                continue
            step = "draft"
        elif state != ConsolidationState.APPROVAL or (cons, expert, version) in approved:
            continue
        else:
            step = "approve"
        out.append((task, cid, pid, expert, cons, version, step,
                    per_task.get(task) or per_call.get(cid)))
    return pl.DataFrame(out, schema=CONSOLIDATION_SCHEMA, orient="row").sort("task_id")


def overdue_consolidations(
    engine: sa.Engine, actor: Actor, call_id: str, today: dt.date | None = None
) -> pl.DataFrame:
    """The consolidation work past its deadline (:data:`CONSOLIDATION_SCHEMA` and
    ``days_overdue``; managers of the call)."""
    today = today or dt.datetime.now(dt.UTC).date()
    with reading(engine) as conn:
        require_manager(conn, actor, "read the deadlines of", call_id)
        frame = consolidation_work(conn, call_id)
    return frame.filter(pl.col("due_on") < today).with_columns(
        days_overdue=(pl.lit(today) - pl.col("due_on")).dt.total_days())


def task_deadlines(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """The open tasks of a call with their evaluation deadline (managers of the call)."""
    with reading(engine) as conn:
        require_manager(conn, actor, "read the deadlines of", call_id)
        return open_task_deadlines(conn, call_id)


def overdue_tasks(
    engine: sa.Engine, actor: Actor, call_id: str, today: dt.date | None = None
) -> pl.DataFrame:
    """The open tasks whose deadline has passed, with ``days_overdue`` (managers of the call)."""
    today = today or dt.datetime.now(dt.UTC).date()
    frame = task_deadlines(engine, actor, call_id)
    return frame.filter(pl.col("due_on") < today).with_columns(
        days_overdue=(pl.lit(today) - pl.col("due_on")).dt.total_days())


def my_deadlines(
    engine: sa.Engine, actor: Actor, call_id: str, today: dt.date | None = None
) -> pl.DataFrame:
    """``task_id, due_on, days_left`` of the open tasks an expert of the call works on (their
    own) or a manager oversees (all); ``days_left`` is negative once overdue, null without a
    deadline."""
    from evalpanel.store.queue import call_member

    today = today or dt.datetime.now(dt.UTC).date()
    with reading(engine) as conn:
        expert_id = call_member(conn, actor, call_id, "read the deadlines of", "tasks")
        frame = open_task_deadlines(conn, call_id)
    if expert_id is not None:
        frame = frame.filter(pl.col("expert_id") == expert_id)
    return frame.select(
        "task_id", "due_on",
        days_left=(pl.col("due_on") - pl.lit(today)).dt.total_days().cast(pl.Int64))


def time_left(days_left: int | None) -> str:
    """The time left before a deadline, in words: "3 days left", "due today", "2 days overdue",
    "no deadline"."""
    if days_left is None:
        return "no deadline"
    if days_left == 0:
        return "due today"
    n = abs(days_left)
    unit = "day" if n == 1 else "days"
    return f"{n} {unit} left" if days_left > 0 else f"{n} {unit} overdue"
