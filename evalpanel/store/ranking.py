"""What the ranking of a call is computed from, read in one transaction.

:func:`ranking_inputs` reads the stored call (its configuration and proposals), the submitted
evaluations that count, the final consensus scores and the managers' recorded orders of
ex-aequo proposals from one snapshot of the database, so that a ranking never mixes a
consolidation finalised between two reads with the scores from before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from evalpanel.callfolder.model import CallFolder
from evalpanel.store.access import require_manager
from evalpanel.store.actors import Actor
from evalpanel.store.calls import read_call
from evalpanel.store.consolidation import consolidated_in
from evalpanel.store.engine import reading
from evalpanel.store.evaluations import current_scores
from evalpanel.store.tie_orders import tie_orders_in


@dataclass(frozen=True, slots=True)
class RankingInputs:
    """``call``: the stored call, its configuration and proposals only (``read_call``'s
    ``proposals_only``: a ranking reads nothing else of it); ``scores``: the evaluations that
    count (``proposal_id, expert_id, criterion, score, comment``); ``consensus``: final
    consensus scores (``proposal_id, criterion, score``); ``tie_orders``: ``(lot, proposal ids
    best first, justification)`` of each recorded order."""

    call: CallFolder
    scores: pl.DataFrame
    consensus: pl.DataFrame
    tie_orders: tuple[tuple[str, tuple[str, ...], str], ...]


def ranking_inputs(engine: sa.Engine, actor: Actor, call_id: str) -> RankingInputs:
    """Everything :func:`evalpanel.workflow.rank_call` needs, for the call's managers."""
    with reading(engine, snapshot=True) as conn:
        call = read_call(conn, call_id, with_affinity=False, proposals_only=True)
        require_manager(conn, actor, "rank", call_id)
        consensus = consolidated_in(conn, call_id, final_only=True)
        orders = tie_orders_in(conn, call_id).select("lot_id", "proposal_ids", "justification")
        return RankingInputs(
            call=call,
            scores=current_scores(conn, call_id, None),
            consensus=consensus.select("proposal_id", "criterion", "score"),
            tie_orders=tuple(
                (str(lot), tuple(ids), str(note)) for lot, ids, note in orders.iter_rows()
            ),
        )
