"""Randomized assignment: LP optimum, probability caps, marginals kept by the sampling."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from assignment import AssignmentInstance, assign
from assignment.solvers.rounding import dependent_round
from benchmarks.synthetic import small_instance


def test_expected_affinity_is_the_lp_optimum_and_caps_hold() -> None:
    inst = small_instance(3, 12, 10, 2, conflict_rate=0.2, max_load=(2, 4))
    res = assign(inst, "randomized", q=0.5, seed=1)
    p, e = np.nonzero(inst.eligible_mask())
    n = p.size
    a_p = sp.csr_matrix((np.ones(n), (p, np.arange(n))), shape=(inst.n_proposals, n))
    a_e = sp.csr_matrix((np.ones(n), (e, np.arange(n))), shape=(inst.n_experts, n))
    cons = [
        LinearConstraint(a_p, 0, inst.free_demand),
        LinearConstraint(a_e, inst.free_min_load, inst.free_capacity),
    ]
    cover = -milp(-np.ones(n), constraints=cons, bounds=Bounds(0, 0.5)).fun
    cons.append(LinearConstraint(np.ones((1, n)), cover - 1e-9, cover + 1e-9))
    best = -milp(-inst.affinity[p, e], constraints=cons, bounds=Bounds(0, 0.5)).fun
    assert res.details["expected_new_affinity"] == pytest.approx(best, abs=1e-5)
    assert res.details["expected_new_pairs"] == pytest.approx(cover, abs=1e-9)
    assert res.marginals is not None
    assert res.marginals["probability"].max() <= 0.5 + 1e-12  # type: ignore[operator]
    again = assign(inst, "randomized", q=0.5, seed=1)
    assert again.pairs.equals(res.pairs)  # reproducible from the seed


def test_dependent_rounding_keeps_marginals_and_degrees() -> None:
    inst = small_instance(8, 10, 9, 3, conflict_rate=0.15, max_load=(3, 5))
    res = assign(inst, "randomized", q=0.4, seed=0)
    assert res.marginals is not None
    pid = {v: i for i, v in enumerate(inst.proposal_ids.tolist())}
    eid = {v: i for i, v in enumerate(inst.expert_ids.tolist())}
    p = np.array([pid[v] for v in res.marginals["proposal_id"]])
    e = np.array([eid[v] for v in res.marginals["expert_id"]])
    scale = 5  # q = 2/5
    x = np.rint(res.marginals["probability"].to_numpy() * scale).astype(np.int64)
    assert np.allclose(x / scale, res.marginals["probability"].to_numpy())
    assert (x % scale != 0).sum() >= 4  # genuinely fractional
    rng = np.random.default_rng(42)
    samples = 2000
    counts = np.zeros(x.size)
    frac_p = np.bincount(p, weights=x / scale, minlength=inst.n_proposals)
    frac_e = np.bincount(e, weights=x / scale, minlength=inst.n_experts)
    for _ in range(samples):
        chosen = dependent_round(p, e, x, scale, rng)
        counts += chosen
        deg_p = np.bincount(p[chosen], minlength=inst.n_proposals)
        deg_e = np.bincount(e[chosen], minlength=inst.n_experts)
        assert (deg_p >= np.floor(frac_p - 1e-9)).all() and (deg_p <= np.ceil(frac_p + 1e-9)).all()
        assert (deg_e >= np.floor(frac_e - 1e-9)).all() and (deg_e <= np.ceil(frac_e + 1e-9)).all()
    prob = x / scale
    tol = 4.5 * np.sqrt(prob * (1 - prob) / samples) + 1e-9
    assert (np.abs(counts / samples - prob) <= tol).all()


def _lp_optimum(inst: AssignmentInstance, q: float) -> float:
    """Most expected affinity at maximum expected coverage, every pair capped at q (HiGHS)."""
    p, e = np.nonzero(inst.eligible_mask())
    n = p.size
    a_p = sp.csr_matrix((np.ones(n), (p, np.arange(n))), shape=(inst.n_proposals, n))
    a_e = sp.csr_matrix((np.ones(n), (e, np.arange(n))), shape=(inst.n_experts, n))
    cons = [LinearConstraint(a_p, 0, inst.free_demand),
            LinearConstraint(a_e, inst.free_min_load, inst.free_capacity)]
    cover = -milp(-np.ones(n), constraints=cons, bounds=Bounds(0, q)).fun
    cons.append(LinearConstraint(np.ones((1, n)), cover - 1e-9, cover + 1e-9))
    return float(-milp(-inst.affinity[p, e], constraints=cons, bounds=Bounds(0, q)).fun)


@pytest.mark.parametrize(
    ("seed", "n_p", "n_e", "k", "q", "max_load", "min_load_rate"),
    [
        (3, 12, 10, 2, 0.5, (2, 4), 0.0),
        (11, 9, 8, 3, 0.4, (2, 4), 0.5),  # minimum loads: their duals enter the bound
        (5, 12, 6, 3, 0.4, (1, 2), 0.0),  # too few slots: the coverage-bonus formulation
    ],
)
def test_the_lp_reports_a_zero_gap_at_the_lp_optimum(
    seed: int, n_p: int, n_e: int, k: int, q: float, max_load: tuple[int, int],
    min_load_rate: float,
) -> None:
    """The dual value computed from the flow's potentials bounds the LP from above; it meets
    the primal value, and both are scipy's LP optimum over every eligible pair."""
    inst = small_instance(seed, n_p, n_e, k, conflict_rate=0.2, max_load=max_load,
                          min_load_rate=min_load_rate)
    res = assign(inst, "randomized", q=q, seed=0)
    gap = res.details["lp_gap"]
    best = _lp_optimum(inst, q)
    assert gap["primal"] == pytest.approx(best, abs=1e-5)
    assert gap["dual"] == pytest.approx(best, abs=1e-5)
    assert gap["gap"] == 0 and gap["full_matrix"] is True


def test_the_lp_gap_includes_the_diversity_gadgets() -> None:
    """With the diversity chain the flow has gadget arcs; the dual still meets the primal, and
    the primal is the expected affinity less the penalties (so below the plain LP optimum)."""
    inst = small_instance(3, 12, 10, 2, conflict_rate=0.2, max_load=(2, 4))
    res = assign(inst, "randomized", q=0.5, seed=0, diversity=True)
    gap = res.details["lp_gap"]
    assert gap["gap"] == 0 and gap["dual"] == pytest.approx(gap["primal"])
    assert gap["primal"] <= _lp_optimum(inst, 0.5) + 1e-9
