"""A call manager's decisions on potential conflicts (likely, unconfirmed organisation matches).

A potential conflict is computed (:func:`assignment.find_potential_conflicts`), never stored; what
is stored is the manager's decision on a pair, one per (call, proposal, expert):

- :func:`confirm_potential_conflict`: the pair becomes a declared conflict on the proposal (kind
  ``other`` unless another is given, the note saying why), with everything a declared conflict
  does (the expert's task on the proposal is declined and gets a replacement request);
- :func:`dismiss_potential_conflict`: the pair is never shown as a potential conflict again.

:func:`potential_decisions` returns ``proposal_id, expert_id, decision, detail, note,
conflict_id, decided_by, decided_at`` (``decided_at`` ISO text) sorted by ids. Only managers of
the call read or decide; every decision is audited in its transaction.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import require_manager
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, InvalidState, NotFound
from evalpanel.store.frames import inserted_id
from evalpanel.store.tables import experts, potential_conflict_decisions, proposals
from evalpanel.store.tasks import CONFLICT_KINDS, declare_in
from evalpanel.vocab import PotentialDecision

DECISION_SCHEMA: dict[str, pl.DataType] = {
    "proposal_id": pl.String(),
    "expert_id": pl.String(),
    "decision": pl.String(),
    "detail": pl.String(),
    "note": pl.String(),
    "conflict_id": pl.Int64(),
    "decided_by": pl.Int64(),
    "decided_at": pl.String(),
}
_T = potential_conflict_decisions


def potential_decisions(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """Every decision taken on the call's potential conflicts (managers of the call)."""
    cols = [_T.c[c] for c in DECISION_SCHEMA]
    with reading(engine) as conn:
        require_manager(conn, actor, "read the potential conflicts of", call_id)
        rows = [
            (*r[:7], r.decided_at.isoformat())
            for r in conn.execute(sa.select(*cols).where(_T.c.call_id == call_id))
        ]
    return pl.DataFrame(rows, schema=DECISION_SCHEMA, orient="row").sort(
        "proposal_id", "expert_id"
    )


def _check_pair(conn: sa.Connection, call_id: str, proposal_id: str, expert_id: str) -> None:
    for col, table, value in (
        ("proposal_id", proposals, proposal_id),
        ("expert_id", experts, expert_id),
    ):
        found = conn.execute(
            sa.select(table.c[col]).where(table.c.call_id == call_id, table.c[col] == value)
        ).first()
        if found is None:
            raise NotFound(f"no {col.removesuffix('_id')} {value!r} in call {call_id!r}")
    taken = conn.execute(
        sa.select(_T.c.decision).where(
            _T.c.call_id == call_id, _T.c.proposal_id == proposal_id, _T.c.expert_id == expert_id
        )
    ).scalar()
    if taken is not None:
        raise InvalidState(
            f"the potential conflict {proposal_id}–{expert_id} was already {taken}; "
            "a confirmed one is removed on the declared conflicts, a dismissed one stays dismissed"
        )


def _decide(
    conn: sa.Connection,
    actor: Actor,
    call_id: str,
    proposal_id: str,
    expert_id: str,
    decision: str,
    detail: str,
    note: str,
    conflict_id: int | None,
) -> int:
    values = {
        "call_id": call_id,
        "proposal_id": proposal_id,
        "expert_id": expert_id,
        "decision": decision,
        "detail": detail,
        "note": note,
        "conflict_id": conflict_id,
    }
    decision_id = inserted_id(
        conn.execute(_T.insert().values(**values, decided_by=actor.user_id, decided_at=now()))
    )
    record(
        conn,
        actor,
        "confirm" if decision == "confirmed" else "dismiss",
        "potential_conflict",
        decision_id,
        call_id=call_id,
        after=values,
    )
    return int(decision_id)


def confirm_potential_conflict(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    proposal_id: str,
    expert_id: str,
    *,
    detail: str,
    note: str = "",
    kind: str = "other",
) -> int | None:
    """A manager confirms a potential conflict: it becomes a declared conflict of ``kind`` on
    the proposal, noted with ``note`` (or, when empty, the match ``detail``); returns the
    conflict's id. The expert's task on the proposal, if any, is declined for replacement; a
    submitted one gets a conflict request instead, decided like any other (the id is then None
    until it is approved)."""
    if kind not in CONFLICT_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(CONFLICT_KINDS)}; got {kind!r}")
    reason = note.strip() or f"confirmed potential conflict: {detail}"
    with writing(engine) as conn:
        require_manager(conn, actor, "confirm potential conflicts in", call_id)
        _check_pair(conn, call_id, proposal_id, expert_id)
        conflict_id, _ = declare_in(
            conn, actor, call_id, expert_id, kind, reason, proposal_id, None
        )
        _decide(conn, actor, call_id, proposal_id, expert_id, "confirmed", detail, reason,
                conflict_id)  # fmt: skip
        return conflict_id


def dismiss_potential_conflict(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    proposal_id: str,
    expert_id: str,
    *,
    detail: str,
    note: str = "",
) -> int:
    """A manager dismisses a potential conflict (the organisations are not the same): the pair
    is never shown as one again and the solver no longer avoids it; returns the decision's id."""
    with writing(engine) as conn:
        require_manager(conn, actor, "dismiss potential conflicts in", call_id)
        _check_pair(conn, call_id, proposal_id, expert_id)
        return _decide(conn, actor, call_id, proposal_id, expert_id,
                       PotentialDecision.DISMISSED, detail, note.strip(), None)  # fmt: skip
