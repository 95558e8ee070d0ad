"""Assignment batches: a solver run stored as a preview change-set, then published as tasks.

Pair frames have the columns ``proposal_id`` (str), ``expert_id`` (str), ``affinity``
(float in [0, 1], may be null). A batch records everything needed to reproduce it: the solver's
name, its parameters (JSON), the seed, the hash of its inputs, the result summary (JSON) and
the elapsed time in seconds. Its change-set against the published assignment (the tasks in
state assigned, accepted, draft or submitted) is stored per pair as ``added``, ``kept``,
``removed`` or ``conflicted`` (a started task whose pair the conflict rule now excludes: the
batch leaves it as it is, for the manager to decline or keep, and does not count it).

:func:`publish_batch` applies the change-set in one transaction. It refuses a stale batch — the
published assignment (``base_hash``) or the conflict rule's inputs (``batch_snapshots``: the
call's content and recorded conflicts) changed after the preview — saying what changed, and
re-checks the added pairs against the conflict rule and the experts' maximum loads
(:mod:`evalpanel.store.exclusions`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import require_manager, require_same_call
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, InvalidState, NotFound, StaleWrite
from evalpanel.store.exclusions import (
    conflict_snapshot,
    describe_conflicts,
    held,
    lock_call,
    pairs_text,
    refuse_excluded,
    refuse_overload,
)
from evalpanel.store.frames import bulk_insert, inserted_id, query_frame, require_columns
from evalpanel.store.rows import one_row
from evalpanel.store.tables import (
    batch_pairs,
    batch_snapshots,
    batches,
    calls,
    experts,
    proposals,
    tasks,
)
from evalpanel.vocab import (
    ACTIVE_STATES,
    STARTED_STATES,
    BatchOrigin,
    BatchState,
    TaskState,
    values,
)

PAIR_SCHEMA: dict[str, pl.DataType] = {
    "proposal_id": pl.String(),
    "expert_id": pl.String(),
    "affinity": pl.Float64(),
}
CHANGE_SCHEMA = {**PAIR_SCHEMA, "change": pl.String()}
TASK_PAIR_SCHEMA = {
    "task_id": pl.Int64(),
    **PAIR_SCHEMA,
    "state": pl.String(),
    "origin": pl.String(),
}


def _published(conn: sa.Connection, call_id: str) -> pl.DataFrame:
    stmt = sa.select(
        tasks.c.task_id,
        tasks.c.proposal_id,
        tasks.c.expert_id,
        tasks.c.affinity,
        tasks.c.state,
        tasks.c.origin,
    ).where(tasks.c.call_id == call_id, tasks.c.state.in_(ACTIVE_STATES))
    return query_frame(conn, stmt, TASK_PAIR_SCHEMA, ["proposal_id", "expert_id"])


def _pairs_hash(pairs: pl.DataFrame) -> str:
    keys = pairs.select("proposal_id", "expert_id").sort("proposal_id", "expert_id")
    text = "\n".join(f"{p}\t{e}" for p, e in keys.iter_rows())
    return hashlib.sha256(text.encode()).hexdigest()


def _check_pairs(conn: sa.Connection, call_id: str, pairs: pl.DataFrame) -> pl.DataFrame:
    require_columns(pairs, ["proposal_id", "expert_id"], "a batch's pair frame")
    if "affinity" not in pairs.columns:
        pairs = pairs.with_columns(affinity=pl.lit(None, pl.Float64))
    pairs = pairs.select(
        pl.col("proposal_id").cast(pl.String),
        pl.col("expert_id").cast(pl.String),
        pl.col("affinity").cast(pl.Float64),
    )
    dup = pairs.filter(pl.struct("proposal_id", "expert_id").is_duplicated())
    if dup.height:
        raise InvalidInput(
            f"the pair frame repeats {dup.height} rows, e.g. "
            f"{dup.row(0)[:2]}; each (proposal_id, expert_id) at most once"
        )
    for col, table in (("proposal_id", proposals), ("expert_id", experts)):
        known = set(
            conn.execute(sa.select(table.c[col]).where(table.c.call_id == call_id)).scalars()
        )
        unknown = sorted(set(pairs[col].to_list()) - known)
        if unknown:
            raise InvalidInput(
                f"the pair frame names {col} values not in call {call_id!r}: {unknown[:5]}"
            )
    refuse_excluded(conn, call_id, pairs, "the batch")
    return pairs.sort("proposal_id", "expert_id")


KEYS = ["proposal_id", "expert_id"]
ORIGINS = values(BatchOrigin)


def _change_set(conn: sa.Connection, call_id: str, pairs: pl.DataFrame) -> pl.DataFrame:
    """``pairs`` against the published assignment: ``CHANGE_SCHEMA`` rows. A published started
    task that the rule now excludes and ``pairs`` leaves out is ``conflicted``, not removed."""
    published = _published(conn, call_id)
    stuck = held(conn, call_id).filter(pl.col("state").is_in(STARTED_STATES)).select(KEYS)
    gone = published.select(*PAIR_SCHEMA).join(pairs, on=KEYS, how="anti")
    return pl.concat(
        [
            pairs.join(published, on=KEYS, how="anti").with_columns(change=pl.lit("added")),
            pairs.join(published, on=KEYS, how="semi").with_columns(change=pl.lit("kept")),
            gone.join(stuck, on=KEYS, how="anti").with_columns(change=pl.lit("removed")),
            gone.join(stuck, on=KEYS, how="semi").with_columns(change=pl.lit("conflicted")),
        ]
    )


def create_batch(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    pairs: pl.DataFrame,
    *,
    solver: str,
    parameters: Mapping[str, Any],
    seed: int | None,
    summary: Mapping[str, Any],
    elapsed_s: float,
    inputs_hash: str | None = None,
    origin: str = "batch",
) -> int:
    """Store a solver's assignment as a preview batch and return its id. ``inputs_hash``
    defaults to the stored call's content hash; ``origin`` is that of the tasks publishing
    creates (``"extra"`` for further experts on divergent proposals). Refused when a pair is
    excluded by the conflict rule or an added pair would take an expert over their maximum
    load."""
    if origin not in ORIGINS:
        raise InvalidInput(f"a batch's origin must be one of {', '.join(ORIGINS)}; got {origin!r}")
    with writing(engine) as conn:
        require_manager(conn, actor, "create a batch for", call_id)
        call_hash = conn.execute(
            sa.select(calls.c.content_hash).where(calls.c.call_id == call_id)
        ).scalar()
        if call_hash is None:
            raise NotFound(f"no call {call_id!r} in this database; import it first")
        pairs = _check_pairs(conn, call_id, pairs)
        published = _published(conn, call_id)
        changes = _change_set(conn, call_id, pairs)
        refuse_overload(
            conn,
            call_id,
            changes.filter(pl.col("change") == "added"),
            "the batch",
            released=published.join(
                changes.filter(pl.col("change") == "removed"), on=KEYS, how="semi"
            )["task_id"].to_list(),
        )
        conflicts_hash, conflict_ids = conflict_snapshot(conn, call_id)
        batch_id = inserted_id(
            conn.execute(
                batches.insert().values(
                    call_id=call_id,
                    status=BatchState.PREVIEW,
                    solver=solver,
                    parameters=dict(parameters),
                    seed=seed,
                    inputs_hash=inputs_hash or call_hash,
                    summary=dict(summary),
                    elapsed_s=float(elapsed_s),
                    base_hash=_pairs_hash(published),
                    created_by=actor.user_id,
                    created_at=now(),
                )
            )
        )
        conn.execute(
            batch_snapshots.insert().values(
                batch_id=batch_id,
                conflicts_hash=conflicts_hash,
                conflict_ids=conflict_ids,
                origin=origin,
            )
        )
        if changes.height:
            bulk_insert(
                conn, batch_pairs, changes.with_columns(batch_id=pl.lit(batch_id)).to_dicts()
            )
        counts = changes.group_by("change").len().sort("change")
        record(
            conn,
            actor,
            "create",
            "batch",
            batch_id,
            call_id=call_id,
            after={
                "solver": solver,
                "seed": seed,
                "parameters": dict(parameters),
                "origin": origin,
                "changes": dict(counts.iter_rows()),
            },
        )
        return int(batch_id)


def _batch(conn: sa.Connection, batch_id: int) -> sa.RowMapping:
    return one_row(conn, batches, f"batch {batch_id}", batch_id=batch_id)


def batch_changes(
    engine: sa.Engine, actor: Actor, batch_id: int, *, call_id: str | None = None
) -> pl.DataFrame:
    """The change-set: ``proposal_id, expert_id, affinity, change`` sorted by ids. With
    ``call_id``, refused (:class:`CallMismatch`) unless the batch is of that call."""
    with reading(engine) as conn:
        row = _batch(conn, batch_id)
        require_manager(conn, actor, "read batches of", row["call_id"])
        require_same_call(actor, "read", "batch", batch_id, row["call_id"], call_id)
        stmt = sa.select(
            batch_pairs.c.proposal_id,
            batch_pairs.c.expert_id,
            batch_pairs.c.affinity,
            batch_pairs.c.change,
        ).where(batch_pairs.c.batch_id == batch_id)
        return query_frame(conn, stmt, CHANGE_SCHEMA, ["proposal_id", "expert_id"])


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """Everything stored about a batch (the ``batches`` row: ``parameters`` as the solver was
    called, ``summary`` its diagnostics, ``inputs_hash`` the call's content hash, ``base_hash``
    the published assignment it was made against) plus ``pairs``, the proposed assignment: a
    ``proposal_id`` (String), ``expert_id`` (String), ``affinity`` (Float64) frame sorted by
    ids."""

    batch_id: int
    call_id: str
    status: BatchState
    solver: str
    parameters: dict[str, Any]
    seed: int | None
    inputs_hash: str
    summary: dict[str, Any]
    elapsed_s: float
    base_hash: str
    created_by: int | None
    created_at: dt.datetime
    published_at: dt.datetime | None
    published_by: int | None
    pairs: pl.DataFrame


def batch_record(
    engine: sa.Engine, actor: Actor, batch_id: int, *, call_id: str | None = None
) -> BatchRecord:
    """Everything stored about a batch (:class:`BatchRecord`), enough to rerun the solver and
    compare. With ``call_id``, refused (:class:`CallMismatch`) unless the batch is of that
    call."""
    with reading(engine) as conn:
        row = _batch(conn, batch_id)
        require_manager(conn, actor, "read batches of", row["call_id"])
        require_same_call(actor, "read", "batch", batch_id, row["call_id"], call_id)
    changes = batch_changes(engine, actor, batch_id)
    return BatchRecord(
        batch_id=int(row["batch_id"]),
        call_id=row["call_id"],
        status=BatchState(row["status"]),
        solver=row["solver"],
        parameters=dict(row["parameters"]),
        seed=row["seed"],
        inputs_hash=row["inputs_hash"],
        summary=dict(row["summary"]),
        elapsed_s=float(row["elapsed_s"]),
        base_hash=row["base_hash"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        published_at=row["published_at"],
        published_by=row["published_by"],
        pairs=changes.filter(pl.col("change") != "removed").select(*PAIR_SCHEMA),
    )


def publish_batch(
    engine: sa.Engine, actor: Actor, batch_id: int, *, call_id: str | None = None
) -> dict[str, int]:
    """Turn a preview into tasks in one transaction: added pairs become ``assigned`` tasks,
    removed pairs' tasks are ``withdrawn``; returns the counts per change (``conflicted`` only
    when there are any). Refused with :class:`StaleWrite` when the batch is stale, saying what
    changed, and with :class:`InvalidInput` / :class:`InvalidState` when an added pair is
    excluded by the conflict rule or would take an expert over their maximum load. With
    ``call_id`` (the call the user is shown), refused with :class:`CallMismatch` (audited)
    unless the batch is of that call."""
    named = call_id
    with writing(engine) as conn:
        row = _batch(conn, batch_id)
        call_id = row["call_id"]
        require_manager(conn, actor, "publish batches of", call_id)
        require_same_call(actor, "publish", "batch", batch_id, call_id, named)
        # Serialise the call's writers of tasks and conflicts from here on.
        lock_call(conn, call_id)
        if row["status"] != BatchState.PREVIEW:
            raise InvalidState(f"batch {batch_id} is {row['status']}; only a preview is published")
        published = _published(conn, call_id)
        changes = query_frame(
            conn,
            sa.select(
                batch_pairs.c.proposal_id,
                batch_pairs.c.expert_id,
                batch_pairs.c.affinity,
                batch_pairs.c.change,
            ).where(batch_pairs.c.batch_id == batch_id),
            CHANGE_SCHEMA,
        )
        _refuse_stale(conn, row, published, changes)
        keys = KEYS
        removed = published.join(changes.filter(pl.col("change") == "removed"), on=keys, how="semi")
        frozen = removed.filter(pl.col("state") == TaskState.SUBMITTED)
        if frozen.height:
            raise InvalidState(
                f"batch {batch_id} removes {frozen.height} pairs whose evaluation "
                f"is submitted, e.g. {frozen.row(0)[1:3]}; keep them in the batch"
            )
        added = changes.filter(pl.col("change") == "added")
        # the rule and the loads again, inside this transaction (a conflict may have been
        # recorded by a path the snapshot does not cover, e.g. a dated one coming into force)
        refuse_excluded(conn, call_id, added, f"batch {batch_id}")
        refuse_overload(
            conn, call_id, added, f"batch {batch_id}", released=removed["task_id"].to_list()
        )
        origin = conn.execute(
            sa.select(batch_snapshots.c.origin).where(batch_snapshots.c.batch_id == batch_id)
        ).scalar() or "batch"
        stamp = now()
        if removed.height:
            conn.execute(
                tasks.update()
                .where(tasks.c.task_id.in_(removed["task_id"].to_list()))
                .values(state=TaskState.WITHDRAWN, updated_at=stamp)
            )
        existing = query_frame(
            conn,
            sa.select(tasks.c.task_id, tasks.c.proposal_id, tasks.c.expert_id).where(
                tasks.c.call_id == call_id
            ),
            {"task_id": pl.Int64(), "proposal_id": pl.String(), "expert_id": pl.String()},
        )
        reuse = added.join(existing, on=keys)
        if reuse.height:  # withdrawn earlier, assigned again
            conn.execute(
                tasks.update()
                .where(tasks.c.task_id == sa.bindparam("t_id"))
                .values(
                    state=TaskState.ASSIGNED,
                    origin=origin,
                    batch_id=batch_id,
                    affinity=sa.bindparam("t_aff"),
                    decline_reason=None,
                    updated_at=stamp,
                ),
                [
                    {"t_id": t, "t_aff": a}
                    for t, a in reuse.select("task_id", "affinity").iter_rows()
                ],
            )
        fresh = added.join(existing, on=keys, how="anti")
        if fresh.height:
            bulk_insert(
                conn,
                tasks,
                [
                    {
                        **r,
                        "call_id": call_id,
                        "state": TaskState.ASSIGNED,
                        "origin": origin,
                        "batch_id": batch_id,
                        "created_at": stamp,
                        "updated_at": stamp,
                    }
                    for r in fresh.select(*PAIR_SCHEMA).to_dicts()
                ],
            )
        conn.execute(
            batches.update()
            .where(batches.c.batch_id == batch_id)
            .values(status=BatchState.PUBLISHED, published_at=stamp, published_by=actor.user_id)
        )
        counts = {
            "added": added.height,
            "removed": removed.height,
            "kept": changes.filter(pl.col("change") == "kept").height,
        }
        if held_back := changes.filter(pl.col("change") == "conflicted").height:
            counts["conflicted"] = held_back  # left as they are, for the manager
        record(
            conn,
            actor,
            "publish",
            "batch",
            batch_id,
            call_id=call_id,
            before={"status": BatchState.PREVIEW},
            after={"status": BatchState.PUBLISHED, **counts},
        )
        return counts


def _refuse_stale(
    conn: sa.Connection, row: sa.RowMapping, published: pl.DataFrame, changes: pl.DataFrame
) -> None:
    """Raise :class:`StaleWrite` saying what changed when the published assignment or the
    conflict rule's inputs are no longer those the batch was previewed against."""
    batch_id, call_id = row["batch_id"], row["call_id"]
    if _pairs_hash(published) != row["base_hash"]:
        then = changes.filter(pl.col("change") != "added").select(KEYS)
        now_ = published.select(KEYS)
        new = now_.join(then, on=KEYS, how="anti").sort(KEYS)
        gone = then.join(now_, on=KEYS, how="anti").sort(KEYS)
        parts = []
        if new.height:
            parts.append(f"{new.height} task(s) added ({pairs_text(new)})")
        if gone.height:
            parts.append(f"{gone.height} task(s) withdrawn or declined ({pairs_text(gone)})")
        raise StaleWrite(
            f"the published assignment of {call_id!r} changed after batch {batch_id} was "
            f"previewed: {', '.join(parts) or 'tasks were replaced'}; create a new batch from "
            "the current one (run the assignment again)"
        )
    snap = conn.execute(
        sa.select(batch_snapshots).where(batch_snapshots.c.batch_id == batch_id)
    ).mappings().first()
    if snap is None:  # a batch from before the snapshots: the re-check of the pairs remains
        return
    digest, ids = conflict_snapshot(conn, call_id)
    if digest == snap["conflicts_hash"]:
        return
    before, after = {int(i) for i in snap["conflict_ids"]}, set(ids)
    parts = []
    content = conn.execute(
        sa.select(calls.c.content_hash).where(calls.c.call_id == call_id)
    ).scalar()
    if content != row["inputs_hash"]:
        parts.append("the call was re-imported with other content")
    if after - before:
        parts.append(f"{len(after - before)} conflict(s) recorded "
                     f"({describe_conflicts(conn, after - before)})")
    if before - after:
        parts.append(f"{len(before - after)} conflict(s) removed")
    raise StaleWrite(
        f"the conflicts of {call_id!r} changed after batch {batch_id} was previewed: "
        f"{', '.join(parts) or 'the call was re-imported'}; create a new batch (run the "
        "assignment again) so that it respects them"
    )


def discard_batch(
    engine: sa.Engine, actor: Actor, batch_id: int, *, call_id: str | None = None
) -> None:
    """Mark a preview as discarded (it stays on record). With ``call_id``, refused with
    :class:`CallMismatch` (audited) unless the batch is of that call."""
    with writing(engine) as conn:
        row = _batch(conn, batch_id)
        require_manager(conn, actor, "discard batches of", row["call_id"])
        require_same_call(actor, "discard", "batch", batch_id, row["call_id"], call_id)
        if row["status"] != BatchState.PREVIEW:
            raise InvalidState(f"batch {batch_id} is {row['status']}; only a preview is discarded")
        conn.execute(
            batches.update()
            .where(batches.c.batch_id == batch_id)
            .values(status=BatchState.DISCARDED)
        )
        record(
            conn,
            actor,
            "discard",
            "batch",
            batch_id,
            call_id=row["call_id"],
            before={"status": BatchState.PREVIEW},
            after={"status": BatchState.DISCARDED},
        )


def published_pairs(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """The published assignment: ``task_id, proposal_id, expert_id, affinity, state, origin``
    for active tasks, sorted by ids (managers of the call)."""
    with reading(engine) as conn:
        require_manager(conn, actor, "read the assignment of", call_id)
        return _published(conn, call_id)
