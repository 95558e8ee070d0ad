"""The result of an assignment run and its summary statistics.

``pairs``: frame ``proposal_id, expert_id, affinity`` (String, String, Float64) of the whole
assignment (existing, pinned and new pairs), sorted by ``proposal_id, expert_id``.
``shortfalls``: frame ``proposal_id, missing, reason`` (String, Int64, String), one row per
proposal that did not get its k experts. Affinities are in [0, 1]; objective and floor are sums
of affinities; seconds is wall time of the solve.
``potential_used``: frame ``proposal_id, expert_id, detail, fixed`` (String, String, String,
Boolean) of every pair of the assignment that is a potential conflict (a likely, unconfirmed
organisation match the solver avoids where it can), ``fixed`` when existing or pinned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from assignment.diversity import panel_stats
from assignment.instance import AssignmentInstance, IntArray

SHORTFALL_SCHEMA = {"proposal_id": pl.String, "missing": pl.Int64, "reason": pl.String}
POTENTIAL_USED_SCHEMA = {"proposal_id": pl.String, "expert_id": pl.String, "detail": pl.String,
                         "fixed": pl.Boolean}


@dataclass(frozen=True, slots=True)
class Certificate:
    """How the solution was proven optimal over all eligible pairs."""

    method: str  # "dense" (every eligible pair in the flow) or "reduced-costs"
    candidate_pairs: int  # pairs in the final flow network
    checked_pairs: int  # eligible pairs outside it whose reduced cost was checked
    violations: int  # of the final check: 0 means optimal over the full matrix
    rounds: int  # solves needed
    scan_seconds: float = 0.0  # wall time of the full-matrix reduced-cost scans

    def to_json_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "candidate_pairs": self.candidate_pairs,
            "checked_pairs": self.checked_pairs,
            "violations": self.violations,
            "rounds": self.rounds,
            "optimal": self.violations == 0,
            "scan_seconds": round(self.scan_seconds, 3),
        }


@dataclass(frozen=True, slots=True)
class AssignmentResult:
    mode: str
    pairs: pl.DataFrame
    status: str  # "complete" or "partial"
    slots_demanded: int  # free demand: k minus existing pairs, summed
    slots_filled: int  # pinned plus new pairs
    coverage: float  # slots_filled / slots_demanded (1.0 when nothing was demanded)
    objective: float  # total affinity of all pairs
    min_proposal_affinity: float  # lowest panel total among proposals with demand
    shortfalls: pl.DataFrame
    messages: tuple[str, ...]  # one per deficient group of proposals, for a manager
    certificate: Certificate
    seconds: float
    load_histogram: dict[int, int]  # load -> number of experts
    affinity_distribution: dict[str, float]
    main_field_share: float | None  # proposals with >= 1 expert in their main field
    diversity: dict[str, dict[str, float]]
    details: dict[str, Any] = field(default_factory=dict)  # mode-specific numbers
    marginals: pl.DataFrame | None = None  # randomized: proposal_id, expert_id, probability
    potential_used: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=POTENTIAL_USED_SCHEMA)
    )
    # seconds of the run's parts: "solve" (the solver, certificate included), "certify" (its
    # full-matrix scans), "diagnostics" (shortfall reasons and the result's statistics)
    timings: dict[str, float] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "status": self.status,
            "pairs": self.pairs.height,
            "slots_demanded": self.slots_demanded,
            "slots_filled": self.slots_filled,
            "coverage": self.coverage,
            "objective": self.objective,
            "min_proposal_affinity": self.min_proposal_affinity,
            "shortfalls": self.shortfalls.to_dicts(),
            "messages": list(self.messages),
            "certificate": self.certificate.to_json_dict(),
            "seconds": self.seconds,
            "load_histogram": {str(k): v for k, v in self.load_histogram.items()},
            "affinity_distribution": self.affinity_distribution,
            "main_field_share": self.main_field_share,
            "diversity": self.diversity,
            "details": self.details,
            "potential_pairs_used": self.potential_used.to_dicts(),
        }


def proposal_totals(inst: AssignmentInstance, pairs: IntArray) -> np.ndarray:
    """(P,) float64 panel affinity totals."""
    aff = np.asarray(inst.affinity[pairs[:, 0], pairs[:, 1]], dtype=np.float64)
    return np.bincount(pairs[:, 0], weights=aff, minlength=inst.n_proposals)


def floor_of(inst: AssignmentInstance, pairs: IntArray) -> float:
    """Lowest panel total over proposals with demand (all proposals when none has)."""
    totals = proposal_totals(inst, pairs)
    scope = inst.demand > 0
    if not scope.any():
        scope = np.ones(inst.n_proposals, dtype=bool)
    return float(totals[scope].min()) if scope.any() else 0.0


def potential_used(inst: AssignmentInstance, pairs: IntArray, n_fixed: int) -> pl.DataFrame:
    """The potential-conflict pairs among ``pairs`` (the first ``n_fixed`` of them fixed)."""
    if inst.potential.height == 0 or pairs.shape[0] == 0:
        return pl.DataFrame(schema=POTENTIAL_USED_SCHEMA)
    codes = inst.codes(pairs)
    chosen = pl.DataFrame({"code": codes, "fixed": np.arange(codes.size) < n_fixed})
    pot = inst.potential.with_columns(code=pl.col("p") * inst.n_experts + pl.col("e"))
    hit = pot.join(chosen, on="code")
    return pl.DataFrame(
        {
            "proposal_id": inst.proposal_ids[hit["p"].to_numpy()].tolist(),
            "expert_id": inst.expert_ids[hit["e"].to_numpy()].tolist(),
            "detail": hit["detail"],
            "fixed": hit["fixed"],
        },
        schema=POTENTIAL_USED_SCHEMA,
    ).group_by("proposal_id", "expert_id", "fixed").agg(
        pl.col("detail").unique().sort().str.join("; ")
    ).select(*POTENTIAL_USED_SCHEMA).sort("proposal_id", "expert_id")


def make_result(
    inst: AssignmentInstance,
    mode: str,
    new_pairs: IntArray,
    certificate: Certificate,
    seconds: float,
    shortfalls: pl.DataFrame,
    messages: tuple[str, ...],
    details: dict[str, Any] | None = None,
    marginals: pl.DataFrame | None = None,
) -> AssignmentResult:
    """Assemble a result from the new (n, 2) index pairs (fixed pairs are added here)."""
    pairs = np.concatenate([inst.fixed_pairs(), new_pairs.reshape(-1, 2)]).astype(np.int64)
    aff = np.asarray(inst.affinity[pairs[:, 0], pairs[:, 1]], dtype=np.float64)
    demanded = int(inst.demand.sum())
    filled = int(pairs.shape[0] - inst.existing.shape[0])
    loads = np.bincount(pairs[:, 1], minlength=inst.n_experts)
    hist_vals, hist_counts = np.unique(loads, return_counts=True)
    dist: dict[str, float] = {}
    if aff.size:
        qs = np.quantile(aff, [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])
        dist = dict(
            zip(("min", "p10", "p25", "median", "p75", "p90", "max"), map(float, qs), strict=True)
        )
        dist["mean"] = float(aff.mean())
    share: float | None = None
    if inst.main_field is not None:
        hit = np.zeros(inst.n_proposals, dtype=bool)
        ok = inst.main_field[pairs[:, 0], pairs[:, 1]]
        hit[pairs[ok, 0]] = True
        share = float(hit.mean()) if inst.n_proposals else 1.0
    return AssignmentResult(
        mode=mode,
        pairs=inst.pairs_frame(pairs),
        status="complete" if shortfalls.height == 0 else "partial",
        slots_demanded=demanded,
        slots_filled=filled,
        coverage=filled / demanded if demanded else 1.0,
        objective=float(aff.sum()),
        min_proposal_affinity=floor_of(inst, pairs),
        shortfalls=shortfalls,
        messages=messages,
        certificate=certificate,
        seconds=seconds,
        load_histogram={int(v): int(c) for v, c in zip(hist_vals, hist_counts, strict=True)},
        affinity_distribution=dist,
        main_field_share=share,
        diversity=panel_stats(inst, pairs),
        details=details or {},
        marginals=marginals,
        potential_used=potential_used(inst, pairs, inst.fixed_pairs().shape[0]),
    )
