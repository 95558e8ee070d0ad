"""Replacement requests: a declined task (or a new conflict) needs another expert.

A request is ``pending`` until someone proposes pairs for it — by hand or through a
:data:`ReplacementSolver` hook — then ``proposed``; the manager confirms (``applied``: the pairs
become tasks of origin ``replacement``) or dismisses it. Frames:

- :func:`list_replacements`: ``replacement_id, proposal_id, expert_id, reason, state,
  task_id`` sorted by ``replacement_id``;
- proposed pairs: ``proposal_id, expert_id, affinity``.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import sqlalchemy as sa

from evalpanel.callfolder.model import CallFolder
from evalpanel.store.access import require_manager, require_same_call
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.batches import PAIR_SCHEMA, published_pairs
from evalpanel.store.calls import call_folder
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, InvalidState
from evalpanel.store.exclusions import refuse_excluded
from evalpanel.store.frames import query_frame, require_columns
from evalpanel.store.rows import one_row
from evalpanel.store.tables import replacement_pairs, replacements
from evalpanel.store.tasks import insert_task
from evalpanel.vocab import ReplacementState

# (call, pending requests as returned by list_replacements, published assignment as returned by
# published_pairs) -> proposed pairs ``replacement_id, proposal_id, expert_id, affinity``.
ReplacementSolver = Callable[[CallFolder, pl.DataFrame, pl.DataFrame], pl.DataFrame]

REQUEST_SCHEMA: dict[str, pl.DataType] = {
    "replacement_id": pl.Int64(),
    "proposal_id": pl.String(),
    "expert_id": pl.String(),
    "reason": pl.String(),
    "state": pl.String(),
    "task_id": pl.Int64(),
}


def _request(conn: sa.Connection, replacement_id: int) -> sa.RowMapping:
    return one_row(conn, replacements, f"replacement request {replacement_id}",
                   replacement_id=replacement_id)


def list_replacements(
    engine: sa.Engine, actor: Actor, call_id: str, *, state: str | None = None
) -> pl.DataFrame:
    """The call's replacement requests (optionally only those in ``state``), for managers."""
    stmt = sa.select(*(replacements.c[c] for c in REQUEST_SCHEMA)).where(
        replacements.c.call_id == call_id
    )
    if state is not None:
        stmt = stmt.where(replacements.c.state == state)
    with reading(engine) as conn:
        require_manager(conn, actor, "read replacement requests of", call_id)
        return query_frame(conn, stmt, REQUEST_SCHEMA, ["replacement_id"])


def propose_replacement(
    engine: sa.Engine, actor: Actor, replacement_id: int, pairs: pl.DataFrame
) -> None:
    """Store proposed pairs (``proposal_id, expert_id[, affinity]``) for a pending or already
    proposed request (a new proposal replaces the previous one)."""
    require_columns(pairs, ["proposal_id", "expert_id"], "a replacement proposal")
    if "affinity" not in pairs.columns:
        pairs = pairs.with_columns(affinity=pl.lit(None, pl.Float64))
    with writing(engine) as conn:
        req = _request(conn, replacement_id)
        require_manager(conn, actor, "propose replacements in", req["call_id"])
        if req["state"] not in (ReplacementState.PENDING, ReplacementState.PROPOSED):
            raise InvalidState(f"replacement request {replacement_id} is {req['state']}")
        if pairs.height == 0:
            raise InvalidInput("a replacement proposal needs at least one pair")
        # refused early here; confirm_replacement checks again when it makes the tasks
        refuse_excluded(conn, req["call_id"], pairs, f"replacement request {replacement_id}")
        conn.execute(
            replacement_pairs.delete().where(replacement_pairs.c.replacement_id == replacement_id)
        )
        rows = pairs.select(*PAIR_SCHEMA).unique(["proposal_id", "expert_id"]).to_dicts()
        conn.execute(
            replacement_pairs.insert(), [{**r, "replacement_id": replacement_id} for r in rows]
        )
        conn.execute(
            replacements.update()
            .where(replacements.c.replacement_id == replacement_id)
            .values(state=ReplacementState.PROPOSED)
        )
        record(
            conn,
            actor,
            "propose",
            "replacement",
            replacement_id,
            call_id=req["call_id"],
            before={"state": req["state"]},
            after={"state": ReplacementState.PROPOSED, "pairs": rows},
        )


def proposed_pairs(engine: sa.Engine, actor: Actor, replacement_id: int) -> pl.DataFrame:
    with reading(engine) as conn:
        req = _request(conn, replacement_id)
        require_manager(conn, actor, "read replacements of", req["call_id"])
        stmt = sa.select(
            replacement_pairs.c.proposal_id,
            replacement_pairs.c.expert_id,
            replacement_pairs.c.affinity,
        ).where(replacement_pairs.c.replacement_id == replacement_id)
        return query_frame(conn, stmt, PAIR_SCHEMA, ["proposal_id", "expert_id"])


def propose_with(
    engine: sa.Engine, actor: Actor, call_id: str, solver: ReplacementSolver
) -> list[int]:
    """Run a replacement solver on every pending request of the call and store what it proposes;
    returns the ids of the requests that got a proposal."""
    pending = list_replacements(engine, actor, call_id, state=ReplacementState.PENDING)
    if pending.is_empty():
        return []
    proposal = solver(
        call_folder(engine, actor, call_id), pending, published_pairs(engine, actor, call_id)
    )
    require_columns(
        proposal, ["replacement_id", "proposal_id", "expert_id"], "the replacement solver's result"
    )
    done = []
    for (rid,), group in proposal.sort("replacement_id").group_by(
        "replacement_id", maintain_order=True
    ):
        propose_replacement(engine, actor, int(rid), group.drop("replacement_id"))
        done.append(int(rid))
    return done


def confirm_replacement(
    engine: sa.Engine, actor: Actor, replacement_id: int, *, call_id: str | None = None
) -> list[int]:
    """Apply a proposed replacement in one transaction (all pairs or none, each checked against
    the conflict rule and the expert's maximum load when its task is made); returns the new
    task ids. With ``call_id``, refused (:class:`CallMismatch`) unless the request is of that
    call."""
    named = call_id
    with writing(engine) as conn:
        req = _request(conn, replacement_id)
        call_id = req["call_id"]
        require_manager(conn, actor, "confirm replacements in", call_id)
        require_same_call(actor, "confirm", "replacement", replacement_id, call_id, named)
        if req["state"] != ReplacementState.PROPOSED:
            raise InvalidState(
                f"replacement request {replacement_id} is {req['state']}; "
                "propose pairs for it first"
            )
        pairs = (
            conn.execute(
                sa.select(replacement_pairs)
                .where(replacement_pairs.c.replacement_id == replacement_id)
                .order_by(replacement_pairs.c.proposal_id, replacement_pairs.c.expert_id)
            )
            .mappings()
            .all()
        )
        created = [
            insert_task(
                conn,
                actor,
                call_id,
                p["proposal_id"],
                p["expert_id"],
                origin="replacement",
                affinity=p["affinity"],
            )
            for p in pairs
        ]
        done = conn.execute(
            replacements.update()
            .where(
                replacements.c.replacement_id == replacement_id,
                replacements.c.state == ReplacementState.PROPOSED,
            )
            .values(state=ReplacementState.APPLIED, resolved_at=now(), resolved_by=actor.user_id)
        ).rowcount
        if not done:
            raise InvalidState(f"replacement request {replacement_id} changed meanwhile")
        record(
            conn,
            actor,
            "apply",
            "replacement",
            replacement_id,
            call_id=call_id,
            before={"state": ReplacementState.PROPOSED},
            after={"state": ReplacementState.APPLIED, "tasks": created},
        )
        return created


def dismiss_replacement(
    engine: sa.Engine, actor: Actor, replacement_id: int, *, call_id: str | None = None
) -> None:
    """Close a request without a replacement (e.g. enough experts remain). With ``call_id``,
    refused (:class:`CallMismatch`) unless the request is of that call."""
    with writing(engine) as conn:
        req = _request(conn, replacement_id)
        require_manager(conn, actor, "dismiss replacements in", req["call_id"])
        require_same_call(actor, "dismiss", "replacement", replacement_id, req["call_id"],
                          call_id)
        if req["state"] not in (ReplacementState.PENDING, ReplacementState.PROPOSED):
            raise InvalidState(f"replacement request {replacement_id} is {req['state']}")
        conn.execute(
            replacements.update()
            .where(replacements.c.replacement_id == replacement_id)
            .values(state=ReplacementState.DISMISSED, resolved_at=now(), resolved_by=actor.user_id)
        )
        record(
            conn,
            actor,
            "dismiss",
            "replacement",
            replacement_id,
            call_id=req["call_id"],
            before={"state": req["state"]},
            after={"state": ReplacementState.DISMISSED},
        )
