"""What one reader may see of a proposal's evaluation, asked before reading it (so that a page
can say why a section is closed instead of being refused): the checks of
:mod:`evalpanel.store.access`, never a second copy of their rules."""

from __future__ import annotations

import sqlalchemy as sa

from evalpanel.store.access import can_read_peer_scores
from evalpanel.store.actors import Actor
from evalpanel.store.engine import reading


def scores_refusal(engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str) -> str | None:
    """Why ``actor`` may not read the experts' scores on the proposal (see
    :func:`~evalpanel.store.access.can_read_peer_scores`); None for the call's managers and for
    an expert who may."""
    with reading(engine) as conn:
        verdict = can_read_peer_scores(conn, actor, call_id, proposal_id)
        return None if verdict.allowed else verdict.why
