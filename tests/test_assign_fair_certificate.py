"""The fair floor's full-matrix certificate: the LP relaxation priced over every eligible pair,
and candidate sets too small for the true floor caught (checked against scipy's MILP)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from assignment import InstanceError, assign
from assignment.solvers._network import weights
from assignment.solvers.fair_bound import floor_bound
from assignment.solvers.max_total import flow_spec
from benchmarks.synthetic import small_instance
from tests.test_assign_solvers import milp_floor, milp_max_total


def _fixed_w(inst):  # type: ignore[no-untyped-def]
    fixed = inst.fixed_pairs()
    return np.bincount(fixed[:, 0], weights=weights(inst.affinity[fixed[:, 0], fixed[:, 1]]),
                       minlength=inst.n_proposals).astype(np.int64)


def _lp_reference(inst, cover: int) -> float:  # type: ignore[no-untyped-def]
    """The floor's LP relaxation over every eligible pair, by scipy's HiGHS."""
    p, e = np.nonzero(inst.eligible_mask())
    n = p.size
    w = weights(inst.affinity[p, e]).astype(float)
    scope = np.nonzero(inst.demand > 0)[0]
    fixed_w = _fixed_w(inst)
    rows, rhs = [], []
    for q in scope:
        rows.append(np.r_[np.where(p == q, -w, 0.0), 1.0])
        rhs.append(fixed_w[q])
    for q in range(inst.n_proposals):
        rows.append(np.r_[(p == q).astype(float), 0.0])
        rhs.append(inst.free_demand[q])
    for j in range(inst.n_experts):
        rows.append(np.r_[(e == j).astype(float), 0.0])
        rhs.append(inst.free_capacity[j])
        rows.append(np.r_[-(e == j).astype(float), 0.0])
        rhs.append(-inst.free_min_load[j])
    c = np.zeros(n + 1)
    c[-1] = -1
    res = linprog(c, A_ub=np.array(rows), b_ub=np.array(rhs, dtype=float),
                  A_eq=np.r_[np.ones(n), 0.0][None, :], b_eq=[cover],
                  bounds=[(0, 1)] * n + [(0, None)], method="highs")
    assert res.status == 0
    return float(-res.fun)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_p=st.integers(2, 6), n_e=st.integers(2, 7),
       k=st.integers(1, 3), min_load_rate=st.sampled_from([0.0, 0.5]))
def test_the_priced_lp_equals_the_full_lp(seed: int, n_p: int, n_e: int, k: int,
                                           min_load_rate: float) -> None:
    """Column generation from the max-total pairs reaches the LP over all pairs (minimum loads
    included, so every dual's sign is exercised)."""
    try:
        inst = small_instance(seed, n_p, n_e, k, conflict_rate=0.3, max_load=(1, 3),
                              min_load_rate=min_load_rate)
    except InstanceError:
        return
    if milp_max_total(inst) is None:
        return
    ref = milp_max_total(inst)
    assert ref is not None
    cover = round(ref[1])
    if cover == 0:
        return
    max_total = assign(inst, "max-total")
    ids = {v: i for i, v in enumerate(inst.proposal_ids.tolist())}
    eids = {v: i for i, v in enumerate(inst.expert_ids.tolist())}
    start = np.unique(np.array([ids[p] * inst.n_experts + eids[e] for p, e in
                                max_total.pairs.select("proposal_id", "expert_id").iter_rows()
                                if (ids[p], eids[e]) not in set(map(tuple, inst.fixed_pairs()))],
                               dtype=np.int64))
    scope = np.nonzero(inst.demand > 0)[0]
    bound = floor_bound(inst, flow_spec(inst), start, _fixed_w(inst), scope, int(start.size))
    assert bound.status == "optimal"
    assert bound.bound == pytest.approx(_lp_reference(inst, int(start.size)), rel=1e-7, abs=1e-3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_p=st.integers(3, 7), n_e=st.integers(3, 8),
       k=st.integers(1, 3))
def test_a_candidate_set_too_small_is_caught(seed: int, n_p: int, n_e: int, k: int) -> None:
    """With one candidate expert per proposal the CP-SAT floor alone is often below the true
    one; the certificate's pricing must find the missing pairs, so the floor is the MILP's."""
    inst = small_instance(seed, n_p, n_e, k, conflict_rate=0.3, max_load=(1, 3))
    ref = milp_max_total(inst)
    assert ref is not None
    floor = milp_floor(inst, round(ref[1]))
    res = assign(inst, "fair", candidates=1)
    assert res.slots_filled == ref[1]
    # never below the exact floor (HiGHS has been seen to stop at a lower floor than a
    # feasible one: seed 3784 gives 0.81 where 0.93 is reached, so "above" is not a failure)
    assert res.min_proposal_affinity >= floor - 1e-5
    status = res.details.get("floor_status", "")
    assert status.startswith(("proven", "optimal over the candidate pairs", "no proposal")), status


def test_a_hand_made_instance_where_the_candidates_miss_the_floor() -> None:
    """Three proposals wanting 3 experts of 4 (loads 1, 2, 1, 1; P2 conflicts with X0 and X2).
    One candidate per proposal, the max-total pairs and the boosted hint give a floor of 0.59;
    the true floor (scipy's MILP) is 0.64, reached only with pairs outside that set."""
    import polars as pl

    from assignment import build_instance

    proposals = pl.DataFrame({"proposal_id": ["P0", "P1", "P2"]})
    experts = pl.DataFrame({"expert_id": ["X0", "X1", "X2", "X3"], "max_load": [1, 2, 1, 1]})
    affinity = np.array([[0.24, 0.43, 0.09, 0.59],
                         [0.78, 0.87, 0.33, 0.11],
                         [0.40, 0.59, 0.25, 0.64]])
    conflicts = pl.DataFrame({"proposal_id": ["P2", "P2"], "expert_id": ["X0", "X2"],
                              "reason": ["declared", "declared"], "detail": ["", ""]})
    inst = build_instance(proposals, experts, affinity, conflicts, k=3)
    ref = milp_max_total(inst)
    assert ref is not None
    true_floor = milp_floor(inst, round(ref[1]))
    assert true_floor == pytest.approx(0.64)
    res = assign(inst, "fair", candidates=1)
    assert res.min_proposal_affinity == pytest.approx(true_floor)
    assert res.details["floor_status"].startswith("proven over the full matrix")
    assert res.details.get("floor_pairs_added", 0) > 0
