"""``max-total``: cover as many slots as possible, then maximise total affinity.

One min-cost flow (see :mod:`._network`) over all eligible pairs, or over a candidate set certified
against the full (P, E) affinity matrix (see :mod:`._sparse`). Returns the new pairs as an (n, 2)
int64 index array (fixed pairs excluded) and the certificate.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from assignment.diversity import chain_codes
from assignment.instance import AssignmentInstance, IntArray
from assignment.result import Certificate
from assignment.solvers._network import SCALE, FlowSpec, solve_network
from assignment.solvers._sparse import eligible_codes, solve_certified

Chain = tuple[tuple[str, float], ...]


def flow_spec(
    inst: AssignmentInstance, *, unit: int = 1, pair_cap: int = 1, diversity: Chain = ()
) -> FlowSpec:
    """Flow units: ``unit`` per expert, ``pair_cap`` per pair (fractional flows use unit > 1)."""
    attrs = tuple(a for a, _ in diversity)
    penalised = inst.potential_codes()
    return FlowSpec(
        demand=inst.free_demand * unit,
        capacity=inst.free_capacity * unit,
        low=inst.free_min_load * unit,
        unit=unit,
        pair_cap=pair_cap,
        levels=chain_codes(inst, attrs) if attrs else (),
        penalties=tuple(round(w * SCALE) for _, w in diversity),
        penalised=penalised,
        penalty=round(inst.potential_penalty * SCALE) if penalised.size else 0,
    )


def solve_max_total(
    inst: AssignmentInstance,
    *,
    diversity: Chain = (),
    candidates: int | None = None,
    dense: bool | None = None,
) -> tuple[IntArray, Certificate]:
    """New (n, 2) pairs of a maximum-coverage, maximum-affinity assignment, and its certificate."""
    sol, cert = solve_certified(
        inst, flow_spec(inst, diversity=diversity), candidates=candidates, dense=dense
    )
    chosen = sol.cand[sol.flow > 0]
    pairs = np.stack([chosen // inst.n_experts, chosen % inst.n_experts], axis=1)
    return pairs.astype(np.int64), cert


def solve_dense_baseline(
    inst: AssignmentInstance, *, exact: bool = False
) -> tuple[IntArray, float]:
    """The straightforward method: one min-cost flow over every eligible pair, with no candidate
    set and no certificate (a flow over every pair needs none).

    ``exact=False`` solves the coverage-first objective in that one flow (coverage bonus and
    bypass arc, for calls where some slot may stay empty); ``exact=True`` is the formulation that
    requires every slot filled (:class:`Uncoverable` when it cannot be). Returns the new pairs
    and their total affinity (for side-by-side benchmarks).
    """
    spec = replace(flow_spec(inst), exact=exact)
    codes = eligible_codes(inst, inst.blocked_codes())
    sol = solve_network(inst, spec, codes, with_potentials=False)
    chosen = sol.cand[sol.flow > 0]
    pairs = np.stack([chosen // inst.n_experts, chosen % inst.n_experts], axis=1)
    return pairs, float(np.asarray(inst.affinity[pairs[:, 0], pairs[:, 1]], np.float64).sum())
