"""What one reader may see of a proposal's evaluation, asked before reading it (so that a page
can say why a section is closed instead of being refused): the store's permission helpers,
never a second copy of their rules."""

from __future__ import annotations

import sqlalchemy as sa

from evalpanel.store.accounts import expert_of
from evalpanel.store.audit import Actor, manages
from evalpanel.store.engine import reading
from evalpanel.store.independence import peer_refusal


def scores_refusal(engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str) -> str | None:
    """Why ``actor`` may not read the experts' scores on the proposal (see
    :func:`~evalpanel.store.independence.peer_refusal`); None for the call's managers and for
    an expert who may."""
    with reading(engine) as conn:
        if manages(conn, actor, call_id):
            return None
        return peer_refusal(conn, call_id, proposal_id, expert_of(conn, actor, call_id))
