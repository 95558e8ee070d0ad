"""Managers' orders of ex-aequo proposals, each with its written justification.

When proposals of a lot are still equal after the scheme's tie-break criteria, the Programme
Guide lets the panel prioritise them further ("considering the overall project portfolio and the
creation of positive synergies between projects", documented in the panel report). The engine
never decides this itself: a manager of the call records the order here, and the ranking applies
it while exactly those proposals are tied (:func:`evalpanel.workflow.order_ties` checks that
they are tied when the order is recorded).

:func:`list_tie_orders` returns ``tie_order_id, lot_id, proposal_ids (List[String], best first),
justification, recorded_by, recorded_at`` (ISO text), sorted by ``tie_order_id``. A new order
naming any proposal of an earlier order of the lot replaces that order; both writes are
audited (``tie_order`` entity: ``record``, and ``replace`` with the old order as ``before``).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import require_manager
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, NotFound
from evalpanel.store.tables import lots, proposals, tie_orders

TIE_ORDER_SCHEMA: dict[str, pl.DataType] = {
    "tie_order_id": pl.Int64(),
    "lot_id": pl.String(),
    "proposal_ids": pl.List(pl.String()),
    "justification": pl.String(),
    "recorded_by": pl.Int64(),
    "recorded_at": pl.String(),
}
MIN_JUSTIFICATION = 10  # characters: a reason, not a placeholder


def _check(proposal_ids: Sequence[str], justification: str) -> tuple[tuple[str, ...], str]:
    ids = tuple(str(p).strip() for p in proposal_ids)
    text = justification.strip()
    if len(ids) < 2 or any(not p for p in ids):
        raise InvalidInput("an order of ex-aequo proposals needs at least two proposal ids, "
                           f"best first; got {list(ids)}")
    if len(set(ids)) != len(ids):
        raise InvalidInput(f"a proposal is listed twice in the order {list(ids)}")
    if len(text) < MIN_JUSTIFICATION:
        raise InvalidInput("write the justification of the order (the factors the panel "
                           f"considered), at least {MIN_JUSTIFICATION} characters")
    return ids, text


def record_tie_order(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    lot_id: str,
    proposal_ids: Sequence[str],
    justification: str,
) -> int:
    """A manager of the call records the order of ex-aequo proposals of ``lot_id`` (best first)
    with its justification; returns the new order's id. Earlier orders of the lot naming any of
    these proposals are replaced."""
    ids, text = _check(proposal_ids, justification)
    with writing(engine) as conn:
        require_manager(conn, actor, "order ex-aequo proposals in", call_id)
        lot = conn.execute(
            sa.select(lots.c.lot_id).where(lots.c.call_id == call_id, lots.c.lot_id == lot_id)
        ).first()
        if lot is None:
            raise NotFound(f"call {call_id} has no lot {lot_id!r}")
        found = {
            pid: lot_of
            for pid, lot_of in conn.execute(
                sa.select(proposals.c.proposal_id, proposals.c.lot_id).where(
                    proposals.c.call_id == call_id, proposals.c.proposal_id.in_(ids)
                )
            )
        }
        wrong = [p for p in ids if found.get(p) != lot_id]
        if wrong:
            raise InvalidInput(
                f"not proposals of lot {lot_id} in call {call_id}: {', '.join(wrong)}"
            )
        earlier = conn.execute(
            sa.select(tie_orders).where(
                tie_orders.c.call_id == call_id, tie_orders.c.lot_id == lot_id
            )
        ).mappings().all()
        for old in earlier:
            if set(old["proposal_ids"]) & set(ids):
                conn.execute(
                    tie_orders.delete().where(tie_orders.c.tie_order_id == old["tie_order_id"])
                )
                record(conn, actor, "replace", "tie_order", old["tie_order_id"], call_id=call_id,
                       before={"lot_id": lot_id, "proposal_ids": old["proposal_ids"],
                               "justification": old["justification"]})
        new_id = conn.execute(
            tie_orders.insert()
            .values(
                call_id=call_id, lot_id=lot_id, proposal_ids=list(ids), justification=text,
                recorded_by=actor.user_id, recorded_at=now(),
            )
            .returning(tie_orders.c.tie_order_id)
        ).scalar_one()
        record(conn, actor, "record", "tie_order", new_id, call_id=call_id,
               after={"lot_id": lot_id, "proposal_ids": list(ids), "justification": text})
    return int(new_id)


def list_tie_orders(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """The call's recorded orders of ex-aequo proposals, for its managers."""
    with reading(engine) as conn:
        require_manager(conn, actor, "read the orders of ex-aequo proposals of", call_id)
        return tie_orders_in(conn, call_id)


def tie_orders_in(conn: sa.Connection, call_id: str) -> pl.DataFrame:
    """:func:`list_tie_orders` on the caller's connection (the caller checked the actor)."""
    stmt = sa.select(
        tie_orders.c.tie_order_id,
        tie_orders.c.lot_id,
        tie_orders.c.proposal_ids,
        tie_orders.c.justification,
        tie_orders.c.recorded_by,
        tie_orders.c.recorded_at,
    ).where(tie_orders.c.call_id == call_id)
    rows = [(*r[:3], r[3], r[4], r[5].isoformat()) for r in conn.execute(stmt)]
    return pl.DataFrame(rows, schema=TIE_ORDER_SCHEMA, orient="row").sort("tie_order_id")
