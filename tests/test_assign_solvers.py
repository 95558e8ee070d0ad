"""Invariants and optimality of the assignment solvers on small generated instances.

References are independent: scipy's maximum_flow for coverage, scipy.optimize.milp for the
max-total objective and the fair floor.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import maximum_flow

from assignment import AssignmentInstance, AssignmentResult, InstanceError, assign
from benchmarks.synthetic import small_instance


def free_pairs(inst: AssignmentInstance) -> tuple[np.ndarray, np.ndarray]:
    p, e = np.nonzero(inst.eligible_mask())
    return p, e


def max_coverage(inst: AssignmentInstance) -> int:
    """Max-flow value s → proposals → eligible experts → t, computed by scipy."""
    n_p, n_e = inst.n_proposals, inst.n_experts
    p, e = free_pairs(inst)
    s, t = n_p + n_e, n_p + n_e + 1
    rows = np.concatenate([np.full(n_p, s), p, n_p + np.arange(n_e)])
    cols = np.concatenate([np.arange(n_p), n_p + e, np.full(n_e, t)])
    caps = np.concatenate([inst.free_demand, np.ones(p.size, int), inst.free_capacity])
    graph = sp.csr_matrix((caps.astype(np.int32), (rows, cols)), shape=(t + 1, t + 1))
    return int(maximum_flow(graph, s, t).flow_value)


def constraints(inst: AssignmentInstance) -> tuple[np.ndarray, np.ndarray, list[LinearConstraint]]:
    p, e = free_pairs(inst)
    n = p.size
    a_p = sp.csr_matrix((np.ones(n), (p, np.arange(n))), shape=(inst.n_proposals, n))
    a_e = sp.csr_matrix((np.ones(n), (e, np.arange(n))), shape=(inst.n_experts, n))
    cons = [
        LinearConstraint(a_p, 0, inst.free_demand),
        LinearConstraint(a_e, inst.free_min_load, inst.free_capacity),
    ]
    return p, e, cons


def milp_max_total(inst: AssignmentInstance, cap: float = 1.0) -> tuple[float, float] | None:
    """(objective over new pairs, coverage) of the lexicographic optimum; None if infeasible.
    ``cap`` < 1: the LP with every pair's value capped (randomized mode)."""
    p, e, cons = constraints(inst)
    n = p.size
    if n == 0:
        return (0.0, 0) if inst.free_min_load.sum() == 0 else None
    integ = np.ones(n) if cap == 1.0 else np.zeros(n)
    first = milp(-np.ones(n), constraints=cons, integrality=integ, bounds=Bounds(0, cap))
    if first.status != 0:
        return None
    cover = round(-first.fun) if cap == 1.0 else -first.fun
    w = inst.affinity[p, e]
    second = milp(
        -w,
        constraints=[*cons, LinearConstraint(np.ones((1, n)), cover - 1e-9, cover)],
        integrality=integ,
        bounds=Bounds(0, cap),
    )
    return float(-second.fun), cover


def milp_floor(inst: AssignmentInstance, cover: int) -> float:
    p, e, cons = constraints(inst)
    n = p.size
    fixed = inst.fixed_pairs()
    fixed_w = np.bincount(
        fixed[:, 0], weights=inst.affinity[fixed[:, 0], fixed[:, 1]], minlength=inst.n_proposals
    )
    scope = np.nonzero(inst.demand > 0)[0]
    # variables: x (n) then z; z - sum_e w x_pe <= fixed_w[p]
    w = inst.affinity[p, e]
    rows = sp.csr_matrix((w, (p, np.arange(n))), shape=(inst.n_proposals, n))[scope]
    a = sp.hstack([-rows, np.ones((scope.size, 1))])
    cons = [
        LinearConstraint(sp.hstack([c.A, sp.csr_matrix((c.A.shape[0], 1))]), c.lb, c.ub)
        for c in cons
    ]
    cons.append(LinearConstraint(a, -np.inf, fixed_w[scope]))
    cons.append(LinearConstraint(np.r_[np.ones(n), 0.0][None, :], cover, cover))
    c = np.zeros(n + 1)
    c[-1] = -1
    res = milp(
        c,
        constraints=cons,
        integrality=np.r_[np.ones(n), 0],
        bounds=Bounds(np.r_[np.zeros(n), 0], np.r_[np.ones(n), np.inf]),
    )
    assert res.status == 0
    return float(-res.fun)


def check_invariants(inst: AssignmentInstance, mode: str) -> None:
    res = assign(inst, mode, seed=3)
    pid = {v: i for i, v in enumerate(inst.proposal_ids.tolist())}
    eid = {v: i for i, v in enumerate(inst.expert_ids.tolist())}
    p = np.array([pid[v] for v in res.pairs["proposal_id"]], dtype=np.int64)
    e = np.array([eid[v] for v in res.pairs["expert_id"]], dtype=np.int64)
    codes = p * inst.n_experts + e
    assert np.unique(codes).size == codes.size, "a pair is assigned twice"
    assert not np.isin(codes, inst.ineligible_codes()).any(), "conflicted/forbidden pair assigned"
    assert np.isin(inst.codes(inst.pinned), codes).all(), "a pinned pair is missing"
    assert np.isin(inst.codes(inst.existing), codes).all(), "an existing pair is missing"
    loads = np.bincount(e, minlength=inst.n_experts)
    # minimum loads hold unless fixed pairs leave too few open slots (a repair), which is said
    fixed = np.bincount(inst.fixed_pairs()[:, 1], minlength=inst.n_experts)
    relaxed = not inst.free_min_load.any() and np.maximum(inst.min_load - fixed, 0).sum() > 0
    assert relaxed == any("not enforced" in w for w in inst.warnings())
    assert (loads <= inst.max_load).all() and (loads >= (fixed if relaxed else inst.min_load)).all()
    per_p = np.bincount(p, minlength=inst.n_proposals)
    assert (per_p <= inst.k).all(), "demand exceeded"
    if mode != "randomized":
        assert res.slots_filled == max_coverage(inst) + inst.pinned.shape[0]
        assert res.shortfalls["missing"].sum() == res.slots_demanded - res.slots_filled
    assert res.status == ("complete" if res.slots_filled == res.slots_demanded else "partial")
    assert np.allclose(res.pairs["affinity"].to_numpy(), inst.affinity[p, e])
    assert res.pairs.select("proposal_id", "expert_id").is_duplicated().sum() == 0
    assert res.pairs.equals(res.pairs.sort("proposal_id", "expert_id"))


instances = st.builds(
    small_instance,
    seed=st.integers(0, 10_000),
    n_proposals=st.integers(1, 8),
    n_experts=st.integers(1, 8),
    k=st.integers(1, 3),
    conflict_rate=st.sampled_from([0.0, 0.2, 0.6]),
    min_load_rate=st.sampled_from([0.0, 0.3]),
    pins=st.integers(0, 2),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), mode=st.sampled_from(["max-total", "fair", "randomized"]))
def test_invariants_hold_on_generated_instances(data: st.DataObject, mode: str) -> None:
    try:
        inst = data.draw(instances)
    except InstanceError:
        assume(False)
        return
    try:
        check_invariants(inst, mode)
    except InstanceError as err:  # only when the minimum loads are truly infeasible
        assert "min_load" in str(err)
        assert milp_max_total(inst, 0.5 if mode == "randomized" else 1.0) is None


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_p=st.integers(1, 7),
    n_e=st.integers(1, 7),
    k=st.integers(1, 3),
    pins=st.integers(0, 2),
)
def test_max_total_matches_milp(seed: int, n_p: int, n_e: int, k: int, pins: int) -> None:
    try:
        inst = small_instance(seed, n_p, n_e, k, min_load_rate=0.2, pins=pins)
    except InstanceError:
        assume(False)
        return
    ref = milp_max_total(inst)
    assume(ref is not None)
    assert ref is not None
    res = assign(inst, "max-total")
    fixed = inst.fixed_pairs()
    fixed_total = float(inst.affinity[fixed[:, 0], fixed[:, 1]].sum())
    assert res.slots_filled - inst.pinned.shape[0] == ref[1]
    assert res.objective - fixed_total == pytest.approx(ref[0], abs=1e-6 * (ref[1] + 1))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000), n_p=st.integers(2, 6), n_e=st.integers(2, 7), k=st.integers(1, 3)
)
def test_fair_floor_matches_milp(seed: int, n_p: int, n_e: int, k: int) -> None:
    inst = small_instance(seed, n_p, n_e, k, conflict_rate=0.3, max_load=(1, 3))
    ref = milp_max_total(inst)
    assert ref is not None
    floor = milp_floor(inst, round(ref[1]))
    res = assign(inst, "fair", candidates=n_e)
    assert res.slots_filled == ref[1]
    assert res.min_proposal_affinity == pytest.approx(floor, abs=1e-5)
    maxtot = assign(inst, "max-total")
    assert res.min_proposal_affinity >= maxtot.min_proposal_affinity - 1e-9


def test_sparsified_solution_is_certified_and_equals_dense() -> None:
    inst = small_instance(
        7, 60, 40, 3, conflict_rate=0.1, max_load=(3, 6), min_load_rate=0.3, pins=6
    )
    assert inst.pinned.shape[0] == 6 and inst.free_min_load.sum() > 0
    dense = assign(inst, "max-total", dense=True)
    sparse = assign(inst, "max-total", dense=False, candidates=2)
    assert sparse.certificate.method == "reduced-costs"
    assert sparse.certificate.violations == 0
    assert sparse.certificate.rounds > 1  # 2 candidates per proposal cannot be enough
    assert sparse.certificate.checked_pairs > 0
    assert sparse.slots_filled == dense.slots_filled
    assert sparse.objective == pytest.approx(dense.objective, abs=1e-5)


def penalised(inst: AssignmentInstance, res: AssignmentResult, penalty: float) -> float:
    """Total affinity minus ``penalty`` per repeated nationality and per repeated
    (nationality, organisation) on a panel: the objective of the diversity chain."""
    pid = {v: i for i, v in enumerate(inst.proposal_ids.tolist())}
    p = np.array([pid[v] for v in res.pairs["proposal_id"]])
    nat = res.pairs["expert_id"].replace_strict(inst.expert_ids.tolist(), inst.nationality.tolist())
    org = res.pairs["expert_id"].replace_strict(inst.expert_ids.tolist(), inst.org.tolist())
    total = res.objective
    for keys in (nat.to_list(), [f"{a}|{b}" for a, b in zip(nat, org, strict=True)]):
        _, counts = np.unique(
            np.array([f"{a}#{b}" for a, b in zip(p, keys, strict=True)]), return_counts=True
        )
        total -= penalty * float((counts - 1).sum())
    return total


def test_sparsified_with_diversity_equals_dense() -> None:
    inst = small_instance(11, 50, 30, 3, conflict_rate=0.1, max_load=(3, 6))
    dense = assign(inst, "max-total", dense=True, diversity=True)
    sparse = assign(inst, "max-total", dense=False, candidates=3, diversity=True)
    assert sparse.certificate.violations == 0
    assert sparse.certificate.rounds > 1
    assert sparse.slots_filled == dense.slots_filled
    assert penalised(inst, sparse, 0.05) == pytest.approx(penalised(inst, dense, 0.05), abs=1e-5)


def test_diversity_keeps_more_panels_mixed() -> None:
    inst = small_instance(5, 40, 30, 3, conflict_rate=0.0, max_load=(4, 6), diversity_values=4)
    plain = assign(inst, "max-total")
    diverse = assign(inst, "max-total", diversity=(("nationality", 0.5), ("org", 0.5)))
    assert diverse.slots_filled == plain.slots_filled
    for key in ("nationality", "organisation"):
        assert diverse.diversity[key]["kept"] >= plain.diversity[key]["kept"]
    assert diverse.diversity["nationality"]["kept"] > plain.diversity["nationality"]["kept"]
    assert diverse.objective <= plain.objective + 1e-9


def test_invalid_parameters_say_what_to_change() -> None:
    inst = small_instance(1, 3, 3, 1)
    for kwargs, needle in (
        ({"mode": "best"}, "`mode` parameter"),
        ({"q": 0}, "`q` parameter"),
        ({"q": 1.5}, "`q` parameter"),
        ({"seed": -1}, "`seed` parameter"),
        ({"candidates": 0}, "`candidates` parameter"),
        ({"diversity": (("height", 0.1),)}, "`diversity` parameter"),
    ):
        with pytest.raises(InstanceError, match=needle):
            assign(inst, **kwargs)


def test_gender_chain_mixes_panels() -> None:
    inst = small_instance(9, 40, 30, 2, conflict_rate=0.0, max_load=(3, 5))
    plain = assign(inst, "max-total")
    mixed = assign(inst, "max-total", diversity=(("gender", 0.5), ("nationality", 0.1)))
    assert mixed.slots_filled == plain.slots_filled
    assert mixed.diversity["gender"]["kept"] > plain.diversity["gender"]["kept"]
    assert mixed.diversity["gender"]["share"] == 1.0  # both genders have spare capacity here


def test_filling_every_slot_and_the_coverage_bonus_reach_the_same_optimum() -> None:
    from assignment.solvers import solve_dense_baseline
    from assignment.solvers._network import Uncoverable

    coverable = small_instance(5, 30, 20, 2, conflict_rate=0.2, max_load=(3, 5))
    assert max_coverage(coverable) == coverable.free_demand.sum()
    bonus_pairs, bonus_total = solve_dense_baseline(coverable)
    exact_pairs, exact_total = solve_dense_baseline(coverable, exact=True)
    ref = milp_max_total(coverable)
    assert ref is not None
    assert len(bonus_pairs) == len(exact_pairs) == ref[1]
    assert bonus_total == pytest.approx(ref[0], abs=1e-6) and exact_total == pytest.approx(ref[0])

    short = small_instance(5, 30, 20, 3, conflict_rate=0.2, max_load=(0, 2))
    assert max_coverage(short) < short.free_demand.sum()
    with pytest.raises(Uncoverable):
        solve_dense_baseline(short, exact=True)
    ref = milp_max_total(short)
    assert ref is not None
    pairs, total = solve_dense_baseline(short)
    assert len(pairs) == ref[1] and total == pytest.approx(ref[0], abs=1e-6)


def test_a_first_candidate_set_that_cannot_fill_every_slot_is_grown_until_it_can() -> None:
    from assignment.solvers._network import Uncoverable, solve_network
    from assignment.solvers._sparse import solve_certified
    from assignment.solvers.max_total import flow_spec

    # the first candidates are one expert per proposal with k = 3: the first flow cannot fill
    # every slot, the full matrix can; the set is grown (within the first round) so that it can,
    # and the rounds must end at the dense optimum
    inst = small_instance(3, 80, 40, 3, conflict_rate=0.1, max_load=(6, 9))
    assert max_coverage(inst) == inst.free_demand.sum()
    n_e = inst.n_experts
    top = np.argmax(np.where(inst.eligible_mask(), inst.affinity, -1.0), axis=1)
    first = np.sort(np.arange(inst.n_proposals) * n_e + top).astype(np.int64)
    with pytest.raises(Uncoverable):
        solve_network(inst, replace(flow_spec(inst), exact=True), first)
    sol, cert = solve_certified(inst, flow_spec(inst), dense=False, initial=first)
    assert cert.method == "reduced-costs" and cert.violations == 0 and cert.rounds <= 2
    assert cert.candidate_pairs > first.size
    chosen = sol.cand[sol.flow > 0]
    assert chosen.size == inst.free_demand.sum()
    dense = assign(inst, "max-total", dense=True)
    total = float(inst.affinity[chosen // n_e, chosen % n_e].astype(np.float64).sum())
    assert total == pytest.approx(dense.objective, abs=1e-5)


def test_a_call_short_of_capacity_is_proven_so_and_solved_with_the_coverage_bonus() -> None:
    from assignment.solvers._cover import cover_candidates
    from assignment.solvers._network import Uncoverable, solve_network
    from assignment.solvers._sparse import eligible_codes, initial_candidates
    from assignment.solvers.max_total import flow_spec

    # too little capacity for every slot: the cut proves it on the first candidates, later
    # rounds solve the coverage-bonus formulation only, and the result is the dense one's
    inst = small_instance(8, 60, 30, 3, conflict_rate=0.2, max_load=(0, 5))
    assert max_coverage(inst) < inst.free_demand.sum()
    exact = replace(flow_spec(inst), exact=True)
    blocked = inst.blocked_codes()
    with pytest.raises(Uncoverable):
        solve_network(inst, exact, eligible_codes(inst, blocked))
    first = initial_candidates(inst, blocked, 2, 2)
    _, impossible = cover_candidates(inst, exact, blocked, first, 2)
    assert impossible
    sparse = assign(inst, "max-total", dense=False, candidates=2)
    dense = assign(inst, "max-total", dense=True)
    assert sparse.certificate.method == "reduced-costs" and sparse.certificate.violations == 0
    assert sparse.slots_filled == dense.slots_filled == max_coverage(inst)
    assert sparse.objective == pytest.approx(dense.objective, abs=1e-5)
