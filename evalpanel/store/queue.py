"""What an expert needs to see before and while working: the call's facts and their queue.

:func:`call_info` returns the call's ``call_id, title, scheme, scheme_overrides`` (dict of the
call's own scheme numbers over the preset), ``deadline`` (ISO date text or None) and
``experts_per_proposal`` to its managers and experts. :func:`task_queue` returns
``task_id, proposal_id, expert_id, title, lot, state, origin, deadline`` sorted by
``proposal_id, expert_id``: the call's tasks for a manager, an expert's own for an expert. The
queue shows only a proposal's title and lot; its abstract and partners open through
:func:`~evalpanel.store.calls.get_proposal` once the task is accepted without a conflict.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import can_read_queue, expert_of, manages, require
from evalpanel.store.audit import Actor
from evalpanel.store.engine import reading
from evalpanel.store.frames import query_frame
from evalpanel.store.rows import require_call
from evalpanel.store.tables import calls, proposals, tasks

QUEUE_SCHEMA: dict[str, pl.DataType] = {
    "task_id": pl.Int64(),
    "proposal_id": pl.String(),
    "expert_id": pl.String(),
    "title": pl.String(),
    "lot": pl.String(),
    "state": pl.String(),
    "origin": pl.String(),
    "deadline": pl.String(),
}


def call_member(
    conn: sa.Connection, actor: Actor, call_id: str, action: str, entity: str
) -> str | None:
    """None for a manager of the call, the expert id for one of its experts; refused (and
    audit-logged) for anyone else. Raises :class:`NotFound` for an unknown call."""
    require_call(conn, call_id)
    require(can_read_queue(conn, actor, call_id), actor, action, entity, call_id, call_id=call_id)
    return None if manages(conn, actor, call_id) else expert_of(conn, actor, call_id)


def call_info(engine: sa.Engine, actor: Actor, call_id: str) -> dict[str, Any]:
    """The call's facts an expert scores by: its scheme preset with the call's overrides, the
    deadline and the panel size. For the call's managers and experts."""
    with reading(engine) as conn:
        call_member(conn, actor, call_id, "read", "call")
        row = conn.execute(sa.select(calls).where(calls.c.call_id == call_id)).mappings().one()
        return {
            "call_id": row["call_id"],
            "title": row["title"],
            "scheme": row["scheme"],
            "scheme_overrides": dict(row["scheme_overrides"] or {}),
            "deadline": row["deadline"],
            "experts_per_proposal": row["experts_per_proposal"],
        }


def task_queue(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """Tasks with what an expert may know before accepting: the proposal's title and lot and
    the call's deadline. An expert gets only their own tasks; a manager all of the call's."""
    stmt = (
        sa.select(
            tasks.c.task_id,
            tasks.c.proposal_id,
            tasks.c.expert_id,
            proposals.c.title,
            proposals.c.lot_id,
            tasks.c.state,
            tasks.c.origin,
            calls.c.deadline,
        )
        .select_from(
            tasks.join(
                proposals,
                sa.and_(
                    proposals.c.call_id == tasks.c.call_id,
                    proposals.c.proposal_id == tasks.c.proposal_id,
                ),
            ).join(calls, calls.c.call_id == tasks.c.call_id)
        )
        .where(tasks.c.call_id == call_id)
    )
    with reading(engine) as conn:
        expert_id = call_member(conn, actor, call_id, "list", "tasks")
        if expert_id is not None:
            stmt = stmt.where(tasks.c.expert_id == expert_id)
        return query_frame(conn, stmt, QUEUE_SCHEMA, ["proposal_id", "expert_id"])
