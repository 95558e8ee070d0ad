"""The conflict rule and the load limit, applied inside the transactions that make tasks.

The rule itself is :func:`assignment.excluded_pairs` (the same function the planner's
:func:`assignment.find_conflicts` builds on); this module only reads the stored call's rows it
needs, in the caller's connection, so that a conflict declared by a concurrent writer is seen by
the transaction that would create the task. Every path that creates or moves a task — publishing
a batch (also a further-expert change-set), a manual add, a confirmed replacement — calls
:func:`refuse_excluded` and :func:`refuse_overload`; accepting a task and opening a proposal
call :func:`pair_reasons`.

Frames: ``excluded``: ``proposal_id, expert_id, reason, detail`` (the rule's rows);
:func:`held_tasks`: ``task_id, proposal_id, expert_id, state, reason`` (active tasks whose pair
the rule now excludes, reasons joined by "; ").
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

import polars as pl
import sqlalchemy as sa

import assignment
from evalpanel.store.access import require_manager
from evalpanel.store.audit import Actor
from evalpanel.store.engine import reading
from evalpanel.store.errors import InvalidInput, InvalidState
from evalpanel.store.frames import query_frame, rows_frame
from evalpanel.store.tables import (
    calls,
    conflicts,
    experts,
    partners,
    proposals,
    tasks,
)
from evalpanel.vocab import ACTIVE_STATES

_S = pl.String()
_FILTER_LIMIT = 500  # above this many ids, read the whole call rather than a long IN (...)
HELD_SCHEMA: dict[str, pl.DataType] = {
    "task_id": pl.Int64(),
    "proposal_id": _S,
    "expert_id": _S,
    "state": _S,
    "reason": _S,
}


def _only(column: sa.ColumnElement[Any], ids: list[str] | None) -> sa.ColumnElement[bool]:
    return column.in_(ids) if ids is not None and len(ids) <= _FILTER_LIMIT else sa.true()


def _rule_inputs(
    conn: sa.Connection,
    call_id: str,
    proposal_ids: list[str] | None,
    expert_ids: list[str] | None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The frames :func:`assignment.excluded_pairs` takes, read from the store for the named
    proposals and experts (None: all of them): proposals, partners, experts, declared
    (``conflicts.csv``) rows."""
    props = query_frame(
        conn,
        sa.select(proposals.c.proposal_id, proposals.c.language).where(
            proposals.c.call_id == call_id, _only(proposals.c.proposal_id, proposal_ids)
        ),
        {"proposal_id": _S, "language": _S},
    )
    parts = query_frame(
        conn,
        sa.select(
            partners.c.proposal_id,
            partners.c.org_id,
            partners.c.org_name,
            partners.c.country,
            partners.c.role,
        ).where(partners.c.call_id == call_id, _only(partners.c.proposal_id, proposal_ids)),
        {"proposal_id": _S, "org_id": _S, "org_name": _S, "country": _S, "role": _S},
    )
    exps = rows_frame(
        (
            (r.expert_id, r.org_id, r.org_name, r.country, list(r.languages or []))
            for r in conn.execute(
                sa.select(
                    experts.c.expert_id,
                    experts.c.org_id,
                    experts.c.org_name,
                    experts.c.country,
                    experts.c.languages,
                ).where(experts.c.call_id == call_id, _only(experts.c.expert_id, expert_ids))
            )
        ),
        {"expert_id": _S, "org_id": _S, "org_name": _S, "country": _S, "languages": pl.List(_S)},
    )
    declared = query_frame(
        conn,
        sa.select(
            conflicts.c.expert_id,
            conflicts.c.proposal_id,
            conflicts.c.org_id,
            conflicts.c.kind,
            conflicts.c.since,
            conflicts.c.note,
        ).where(conflicts.c.call_id == call_id, _only(conflicts.c.expert_id, expert_ids)),
        {
            "expert_id": _S,
            "proposal_id": _S,
            "org_id": _S,
            "kind": _S,
            "since": pl.Date(),
            "note": _S,
        },
    )
    return props, parts, exps, declared


def rule_frames(
    engine: sa.Engine, actor: Actor, call_id: str
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """What the conflict rule reads of the whole stored call, for its managers: proposals
    (``proposal_id, language``), partners, experts and declared conflicts, in the columns
    :func:`assignment.find_conflicts` takes (a fraction of :func:`call_folder`'s read)."""
    with reading(engine) as conn:
        require_manager(conn, actor, "read the conflicts of", call_id)
        return _rule_inputs(conn, call_id, None, None)


def lock_call(conn: sa.Connection, call_id: str) -> None:
    """Serialise the writers of one call's tasks and conflicts until the transaction ends
    (PostgreSQL row lock; SQLite's ``BEGIN IMMEDIATE`` already serialises every writer). Taken
    before the rule reads, and by every writer of a conflict, so that a conflict committed by
    a concurrent transaction is either seen by the check or declines the new task after it."""
    conn.execute(sa.select(calls.c.call_id).where(calls.c.call_id == call_id).with_for_update())


def excluded(
    conn: sa.Connection, call_id: str, pairs: pl.DataFrame, *, today: dt.date | None = None
) -> pl.DataFrame:
    """The rule's rows for ``pairs`` (``proposal_id, expert_id``) of the stored call."""
    keys = pairs.select(pl.col("proposal_id", "expert_id").cast(pl.String)).unique()
    if keys.is_empty():
        return pl.DataFrame(
            schema={"proposal_id": _S, "expert_id": _S, "reason": _S, "detail": _S}
        )
    props, parts, exps, declared = _rule_inputs(
        conn,
        call_id,
        sorted(keys["proposal_id"].unique().to_list()),
        sorted(keys["expert_id"].unique().to_list()),
    )
    return assignment.excluded_pairs(
        keys, props, parts, exps, declared, today=today or dt.date.today()
    )


def pair_reasons(conn: sa.Connection, call_id: str, proposal_id: str, expert_id: str) -> list[str]:
    """Why the rule excludes ``expert_id`` from ``proposal_id`` (empty when it does not): one
    sentence per reason, ``"reason: detail"``."""
    rows = excluded(conn, call_id, pl.DataFrame({"proposal_id": [proposal_id],
                                                 "expert_id": [expert_id]}))
    return [f"{r}: {d}" for r, d in rows.select("reason", "detail").iter_rows()]


def pairs_text(frame: pl.DataFrame, limit: int = 3) -> str:
    """``"P01–E03, P02–E04 and 5 more"`` for a frame of ``proposal_id, expert_id``."""
    shown = [f"{p}–{e}" for p, e in frame.select("proposal_id", "expert_id").head(limit).rows()]
    more = frame.height - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def refuse_excluded(conn: sa.Connection, call_id: str, pairs: pl.DataFrame, what: str) -> None:
    """Raise :class:`InvalidInput` naming the pairs of ``pairs`` the rule excludes, with their
    reasons; ``what`` names the change (``"batch 3"``, ``"the new task"``). Takes the call's
    lock (:func:`lock_call`) first."""
    lock_call(conn, call_id)
    bad = excluded(conn, call_id, pairs)
    if bad.is_empty():
        return
    per_pair = bad.group_by("proposal_id", "expert_id", maintain_order=True).agg(
        pl.format("{} ({})", "reason", "detail").str.join("; ").alias("why")
    )
    first = per_pair.row(0, named=True)
    raise InvalidInput(
        f"{what} would make {per_pair.height} task(s) on a pair excluded by a conflict of "
        f"interest: {first['proposal_id']}–{first['expert_id']}: {first['why']}"
        + (f"; also {pairs_text(per_pair.slice(1))}" if per_pair.height > 1 else "")
        + "; choose another expert or lift the exclusion"
    )


def refuse_overload(
    conn: sa.Connection,
    call_id: str,
    added: pl.DataFrame,
    what: str,
    *,
    released: Iterable[int] = (),
) -> None:
    """Raise :class:`InvalidState` when the ``added`` pairs (``proposal_id, expert_id``) would
    take an expert over their ``max_load``, counting their active tasks except the ``released``
    task ids (tasks the same change withdraws). Experts already over it by earlier work keep
    their tasks; they only get no more."""
    if added.is_empty():
        return
    new = added.group_by("expert_id").len("new")
    ids = sorted(new["expert_id"].to_list())
    free = [int(t) for t in released]
    active = query_frame(
        conn,
        sa.select(tasks.c.expert_id, sa.func.count().label("n"))
        .where(
            tasks.c.call_id == call_id,
            tasks.c.state.in_(ACTIVE_STATES),
            _only(tasks.c.expert_id, ids),
            tasks.c.task_id.not_in(free) if free else sa.true(),
        )
        .group_by(tasks.c.expert_id),
        {"expert_id": _S, "active": pl.Int64()},
    )
    limits = query_frame(
        conn,
        sa.select(experts.c.expert_id, experts.c.max_load).where(
            experts.c.call_id == call_id, _only(experts.c.expert_id, ids)
        ),
        {"expert_id": _S, "max_load": pl.Int64()},
    )
    over = (
        new.join(limits, on="expert_id")
        .join(active, on="expert_id", how="left")
        .with_columns(load=pl.col("active").fill_null(0) + pl.col("new"))
        .filter(pl.col("load") > pl.col("max_load"))
        .sort("expert_id")
    )
    if over.height:
        first = over.row(0, named=True)
        raise InvalidState(
            f"{what} would give {over.height} expert(s) more tasks than their maximum load: "
            f"{first['expert_id']} would have {first['load']} (max_load {first['max_load']})"
            + (f"; also {', '.join(over['expert_id'].to_list()[1:4])}" if over.height > 1 else "")
            + "; choose another expert or raise the maximum load in the call folder"
        )


def conflict_snapshot(conn: sa.Connection, call_id: str) -> tuple[str, list[int]]:
    """What the rule's inputs are now: a hash of the call's content and its recorded conflicts,
    and the ids of those conflicts (to tell later which ones were added or removed)."""
    content = conn.execute(
        sa.select(calls.c.content_hash).where(calls.c.call_id == call_id)
    ).scalar()
    rows = conn.execute(
        sa.select(
            conflicts.c.conflict_id,
            conflicts.c.expert_id,
            conflicts.c.proposal_id,
            conflicts.c.org_id,
            conflicts.c.kind,
            conflicts.c.since,
        )
        .where(conflicts.c.call_id == call_id)
        .order_by(conflicts.c.conflict_id)
    ).all()
    text = "\n".join([str(content), *("\t".join(map(str, r)) for r in rows)])
    return hashlib.sha256(text.encode()).hexdigest(), [int(r.conflict_id) for r in rows]


def describe_conflicts(conn: sa.Connection, conflict_ids: Iterable[int], limit: int = 3) -> str:
    """``"E03 on P04 (declared), E05 on organisation 9001 (employment)"`` for stored ids."""
    ids = sorted(int(i) for i in conflict_ids)
    rows = conn.execute(
        sa.select(conflicts.c.expert_id, conflicts.c.proposal_id, conflicts.c.org_id,
                  conflicts.c.kind)
        .where(conflicts.c.conflict_id.in_(ids[:limit]))
        .order_by(conflicts.c.conflict_id)
    ).all()
    text = ", ".join(
        f"{r.expert_id} on {r.proposal_id or 'organisation ' + str(r.org_id)} ({r.kind})"
        for r in rows
    )
    return text + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _active_tasks(conn: sa.Connection, call_id: str) -> pl.DataFrame:
    return query_frame(
        conn,
        sa.select(tasks.c.task_id, tasks.c.proposal_id, tasks.c.expert_id, tasks.c.state).where(
            tasks.c.call_id == call_id, tasks.c.state.in_(ACTIVE_STATES)
        ),
        {k: v for k, v in HELD_SCHEMA.items() if k != "reason"},
    )


def _held_of(active: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """The ``active`` tasks that the rule's ``rows`` (``proposal_id, expert_id, reason,
    detail``) exclude, their reasons joined (``HELD_SCHEMA``)."""
    why = rows.group_by("proposal_id", "expert_id").agg(
        pl.format("{}: {}", "reason", "detail").sort().str.join("; ").alias("reason")
    )
    return active.join(why, on=["proposal_id", "expert_id"]).select(*HELD_SCHEMA).sort(
        "proposal_id", "expert_id"
    )


def held(conn: sa.Connection, call_id: str) -> pl.DataFrame:
    """Active tasks whose pair the rule excludes now (``HELD_SCHEMA``), e.g. a started task
    from before the rule covered its reason. They stay as they are (work is never dropped
    silently) for the manager to decline or keep, and a batch neither counts nor removes them."""
    active = _active_tasks(conn, call_id)
    return _held_of(active, excluded(conn, call_id, active))


def conflicted_tasks(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    *,
    conflicts: assignment.Conflicts | None = None,
) -> pl.DataFrame:
    """For the call's managers: active tasks whose pair is excluded by the conflict rule now
    (:func:`held`), to decline or keep by hand. ``conflicts``: the rule's result for the whole
    stored call (:func:`assignment.conflict_set` of :func:`rule_frames`, proposals and experts
    in id order) when the caller has it already; only the active tasks are then read."""
    with reading(engine) as conn:
        require_manager(conn, actor, "read the tasks of", call_id)
        if conflicts is None:
            return held(conn, call_id)
        active = _active_tasks(conn, call_id)
        return _held_of(active, conflicts.rows_for(active))
