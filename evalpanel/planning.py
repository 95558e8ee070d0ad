"""From a validated call to what the pure packages take: an assignment instance (conflicts,
affinity, panel sizes), and the scheme and lot rules for scoring.

Shared by the ``evalpanel assign`` command and the stored workflow, so that both assign a call
the same way. Frames from the reader are sorted by id, which fixes the (proposals × experts)
orientation of every matrix built here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

import assignment
import scoring
from evalpanel.callfolder import CallFolder


@dataclass(frozen=True, slots=True)
class Plan:
    """An instance ready for :func:`assignment.assign`, with what went into it."""

    instance: assignment.AssignmentInstance
    conflicts: pl.DataFrame  # proposal_id, expert_id, reason, detail
    affinity_source: str  # "affinity file" or "computed"
    potential: pl.DataFrame  # proposal_id, expert_id, reason, detail: undecided potential pairs


def conflicts_of(
    call: CallFolder, *, today: dt.date | None = None, exclude_coordinator_country: bool = False
) -> pl.DataFrame:
    """Every excluded pair of the call with its reason(s)."""
    return assignment.find_conflicts(
        call.proposals,
        call.partners,
        call.experts,
        call.conflicts,
        today=today or dt.date.today(),
        exclude_coordinator_country=exclude_coordinator_country,
    )


def potential_of(
    call: CallFolder, conflicts: pl.DataFrame, decided: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The call's potential conflicts (likely organisation matches by name, not excluded for
    another reason) that the manager has not yet confirmed or dismissed (``decided``:
    ``proposal_id, expert_id``)."""
    found = assignment.find_potential_conflicts(call.partners, call.experts, conflicts)
    if decided is not None and decided.height:
        found = found.join(
            decided.select("proposal_id", "expert_id").cast(pl.String),
            on=["proposal_id", "expert_id"],
            how="anti",
        )
    return found


def affinity_of(
    call: CallFolder, text_similarity: np.ndarray | None = None
) -> tuple[np.ndarray, str]:
    """(P, E) float32 affinity: the call's affinity file when given, else computed."""
    proposal_ids = call.proposals["proposal_id"].to_list()
    expert_ids = call.experts["expert_id"].to_list()
    if call.affinity is not None:
        matrix = assignment.affinity_from_frame(
            call.affinity, proposal_ids, expert_ids, grid=call.affinity_grid
        )
        return matrix, "affinity file"
    return assignment.compute_affinity(
        call.proposals, call.experts, text_similarity=text_similarity
    ), "computed"


def plan(
    call: CallFolder,
    *,
    k: int | None = None,
    today: dt.date | None = None,
    exclude_coordinator_country: bool = False,
    pinned: pl.DataFrame | None = None,
    forbidden: pl.DataFrame | None = None,
    existing: pl.DataFrame | None = None,
    text_similarity: np.ndarray | None = None,
    decided: pl.DataFrame | None = None,
) -> Plan:
    """The instance for ``call``; ``k`` overrides every lot's panel size when given. The
    potential conflicts not in ``decided`` (pairs the manager confirmed or dismissed) are
    avoided by the solvers' penalty."""
    conflicts = conflicts_of(
        call, today=today, exclude_coordinator_country=exclude_coordinator_country
    )
    potential = potential_of(call, conflicts, decided)
    affinity, source = affinity_of(call, text_similarity)
    if k is None:
        default = call.config.experts_per_proposal
        by_lot = {lot: call.experts_per_proposal(lot) for lot in call.config.lots}
    else:
        default, by_lot = k, {}
    instance = assignment.build_instance(
        call.proposals,
        call.experts,
        affinity,
        conflicts,
        k=default,
        k_by_lot=by_lot,
        pinned=pinned,
        forbidden=forbidden,
        existing=existing,
        main_field=assignment.main_field_match(call.proposals, call.experts),
        potential=potential,
    )
    return Plan(instance, conflicts, source, potential)


def scheme_of(call: CallFolder) -> scoring.Scheme:
    """The call's scheme: its preset with call.toml's overrides."""
    if call.scheme is not None:
        return call.scheme
    return scoring.load_scheme(call.config.scheme, call.config.scheme_overrides or None)


def lot_rules(call: CallFolder) -> dict[str, scoring.LotRules]:
    """The call's lots as the scoring package's rules."""
    return {
        lot.id: scoring.LotRules(
            budget_eur=lot.budget_eur,
            one_per=lot.one_per,
            experts_per_proposal=call.experts_per_proposal(lot.id),
        )
        for lot in call.config.lots.values()
    }


CONFLICT_COLUMNS: dict[str, pl.DataType] = {
    "proposal_id": pl.String(),
    "expert_id": pl.String(),
    "reason": pl.String(),
    "detail": pl.String(),
}


def potential_conflicts_of(call: CallFolder) -> pl.DataFrame:
    """Likely but unconfirmed conflicts (e.g. similar organisation names with no id to confirm
    them), in the columns of :func:`conflicts_of`: a separate result, never an exclusion.
    ``assignment`` does not yet report such matches, so this is empty; it is the one place
    that reports them to the conflict report (:func:`conflict_report`)."""
    del call
    return pl.DataFrame(schema=CONFLICT_COLUMNS)


def conflict_report(call: CallFolder, *, today: dt.date | None = None) -> pl.DataFrame:
    """Every excluded pair with its reasons, and the potential conflicts marked as such:
    ``proposal_id, expert_id, reason, detail, potential`` (Boolean), sorted by ids, the hard
    exclusions of a pair before its potential ones."""
    hard = conflicts_of(call, today=today).select(
        pl.col(c).cast(t) for c, t in CONFLICT_COLUMNS.items()
    )
    likely = potential_conflicts_of(call).select(
        pl.col(c).cast(t) for c, t in CONFLICT_COLUMNS.items()
    )
    return pl.concat(
        [hard.with_columns(potential=pl.lit(False)), likely.with_columns(potential=pl.lit(True))]
    ).sort("proposal_id", "expert_id", "potential", maintain_order=True)
