"""One proposal on one page: its data, partners and conflicts with their reasons, its tasks and
their states, the experts' scores once the reader may see them, the divergence and the
consolidation, and its rank and decision with the reason the scoring engine gave.

The call's managers see every section. An expert sees a proposal only once they accepted its
task without a conflict (:func:`evalpanel.store.get_proposal` refuses otherwise), then their own
task, the panel's scores once the independence rule opens them, and the consolidation they take
part in; the conflicts of other experts and the ranking stay with the managers, and
:attr:`ProposalDossier.closed` says why each closed section is closed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa

from evalpanel.planning import conflicts_of
from evalpanel.store import (
    Actor,
    Consolidation,
    NotFound,
    Proposal,
    call_folder,
    call_names,
    get_consolidation,
    get_proposal,
    list_consolidations,
    list_tasks,
    peer_scores,
    with_names,
)
from evalpanel.store.access import manages
from evalpanel.store.engine import reading
from evalpanel.store.visibility import scores_refusal
from evalpanel.workflow import rank_call

MANAGERS_ONLY = "shown to the call's managers only"


@dataclass(frozen=True)
class ProposalDossier:
    """``proposal``: the stored proposal (:class:`~evalpanel.store.proposals.Proposal`, its
    partners also as the ``partners`` frame); ``partners``: ``org_id, org_name, country, role``;
    ``conflicts``: ``expert_id, expert_name, reason, detail`` (None when closed); ``tasks``:
    ``task_id, expert_id, expert_name, state, origin, decline_reason``; ``scores``:
    ``expert_id, expert_name, criterion, score, comment`` (None when closed); ``ranking``: the
    proposal's row of the call's ranking (``rank, total, band, decision, decision_reason,
    divergent, needs_expert, ...``; None when closed); ``consolidation``: see
    :func:`evalpanel.store.get_consolidation` (None when there is none or it is closed)."""

    manager: bool
    proposal: Proposal
    partners: pl.DataFrame
    conflicts: pl.DataFrame | None
    tasks: pl.DataFrame
    scores: pl.DataFrame | None
    ranking: dict[str, Any] | None
    consolidation: Consolidation | None
    closed: dict[str, str] = field(default_factory=dict)


def proposal_dossier(
    engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str
) -> ProposalDossier:
    """Everything ``actor`` may see of one proposal (see the module docstring). Refused with
    :class:`~evalpanel.store.PermissionDenied` for an expert whose task on it is not accepted
    without a conflict, and for anyone outside the call."""
    found = get_proposal(engine, actor, call_id, proposal_id)
    partners = pl.DataFrame([dataclasses.asdict(p) for p in found.partners], schema={
        "org_id": pl.String, "org_name": pl.String, "country": pl.String, "role": pl.String})
    with reading(engine) as conn:
        manager = manages(conn, actor, call_id)
    closed: dict[str, str] = {}
    tasks = list_tasks(engine, actor, call_id).filter(pl.col("proposal_id") == proposal_id)
    conflicts = ranking = names = None
    if manager:
        names = call_names(engine, actor, call_id)
        call = call_folder(engine, actor, call_id)
        # the conflict rule on this proposal only: the same rule, one row of the call
        one = dataclasses.replace(
            call, proposals=call.proposals.filter(pl.col("proposal_id") == proposal_id),
            partners=call.partners.filter(pl.col("proposal_id") == proposal_id))
        conflicts = with_names(conflicts_of(one).drop("proposal_id"), names)
        tasks = with_names(tasks, names, proposal_fields=())  # the page names it
        ranked = rank_call(engine, actor, call_id, call=call).proposals.filter(
            pl.col("proposal_id") == proposal_id)
        ranking = ranked.row(0, named=True) if ranked.height else None
    else:
        closed["conflicts"] = closed["ranking"] = MANAGERS_ONLY
    why = scores_refusal(engine, actor, call_id, proposal_id)
    scores = None
    if why is None:
        scores = peer_scores(engine, actor, call_id, proposal_id).drop("proposal_id")
        if names is not None:
            scores = with_names(scores, names)
    else:
        closed["scores"] = why
    consolidation = None
    if manager or not list_consolidations(engine, actor, call_id).filter(
            pl.col("proposal_id") == proposal_id).is_empty():
        try:
            consolidation = get_consolidation(engine, actor, call_id, proposal_id)
        except NotFound:
            consolidation = None
    else:
        closed["consolidation"] = ("shown to the experts of its panel once they have submitted, "
                                   "and to the call's managers")
    return ProposalDossier(manager, found, partners, conflicts, tasks.drop("proposal_id"),
                           scores, ranking, consolidation, closed)
