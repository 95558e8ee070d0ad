"""The max-total certificate's one-pass scan against every pair's reduced cost computed one by
one, and the rounds it drives: a candidate set that misses the optimum must be caught and grown
to the dense optimum."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from assignment import AssignmentInstance, _sets, assign
from assignment.instance import IntArray
from assignment.solvers import _columns, _sparse
from assignment.solvers._network import (
    SCALE,
    FlowSpec,
    NetworkSolution,
    Uncoverable,
    pair_reduced_costs,
    solve_network,
)
from assignment.solvers.max_total import flow_spec
from benchmarks.synthetic import small_instance


def _brute_violations(
    inst: AssignmentInstance, spec: FlowSpec, sol: NetworkSolution, blocked: IntArray
) -> tuple[IntArray, IntArray]:
    outside = _sets.difference(_sparse.eligible_codes(inst, blocked), sol.cand)
    n_e = inst.n_experts
    rc = pair_reduced_costs(inst, spec, sol, outside // n_e, outside % n_e)
    return outside, rc


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("variant", ["exact", "bonus", "boost", "potential"])
def test_scan_counts_exactly_the_negative_reduced_costs(seed: int, variant: str) -> None:
    inst = small_instance(seed, 40, 30, 3, conflict_rate=0.2, max_load=(3, 6), min_load_rate=0.3)
    if variant == "potential":  # some pairs are potential conflicts: their weight is lowered
        rng = np.random.default_rng(seed)
        p, e = rng.integers(0, 40, 60), rng.integers(0, 30, 60)
        inst = replace(inst, potential=pl.DataFrame(
            {"p": p, "e": e, "detail": ["likely"] * 60},
            schema={"p": pl.Int64, "e": pl.Int64, "detail": pl.String}).unique(["p", "e"]))
    spec = flow_spec(inst)
    if variant == "boost":
        boost = 1 + np.random.default_rng(seed).random(inst.n_proposals)
        spec = replace(spec, boost=boost)
    blocked = inst.blocked_codes()
    first = _sparse.initial_candidates(inst, blocked, 2, 2)  # few candidates: violations
    if variant == "bonus":  # the coverage-bonus formulation, large potentials
        sol = solve_network(inst, spec, first)
    else:
        sol, spec = _sparse.solve_filled_first(inst, spec, first)
    outside, rc = _brute_violations(inst, spec, sol, blocked)
    add, violations, checked = _sparse.scan_reduced_costs(
        inst, spec, sol, blocked, per_row=3, per_col=2, near=SCALE // 10)
    assert checked == outside.size
    assert violations == int((rc < 0).sum())
    if violations:
        assert add.size and _sets.member(add, outside).all()  # only pairs left out, never blocked
        # every proposal's most negative pair is among those added
        worst = pl.DataFrame({"code": outside, "rc": rc, "p": outside // inst.n_experts}).filter(
            pl.col("rc") < 0).sort("rc").group_by("p", maintain_order=True).first()
        assert _sets.member(np.sort(worst["code"].to_numpy()), add).all()
    else:
        assert add.size == 0


def test_a_candidate_set_that_misses_the_optimum_is_caught_and_fixed() -> None:
    # the candidates are each proposal's worst eligible experts: the optimum lies outside them;
    # the certificate must find violations and the rounds must end at the dense optimum
    inst = small_instance(11, 120, 60, 2, conflict_rate=0.1, max_load=(4, 8))
    n_e = inst.n_experts
    aff = np.where(inst.eligible_mask(), inst.affinity, 2.0)
    worst = np.argsort(aff, axis=1)[:, :6]
    first = _sets.unique((np.arange(inst.n_proposals)[:, None] * n_e + worst).reshape(-1))
    sol, cert = _sparse.solve_certified(inst, flow_spec(inst), dense=False, initial=first)
    assert cert.method == "reduced-costs" and cert.violations == 0 and cert.rounds >= 2
    assert cert.checked_pairs + cert.candidate_pairs == int(inst.eligible_mask().sum())
    chosen = sol.cand[sol.flow > 0]
    total = float(inst.affinity[chosen // n_e, chosen % n_e].astype(np.float64).sum())
    dense = assign(inst, "max-total", dense=True)
    assert total == pytest.approx(dense.objective, abs=1e-6)
    # the first set alone is worse: the certificate did catch something
    alone, _ = _sparse.solve_filled_first(inst, flow_spec(inst), first)
    picked = alone.cand[alone.flow > 0]
    assert float(inst.affinity[picked // n_e, picked % n_e].astype(np.float64).sum()) < total - 1


def test_tight_loads_a_first_set_that_cannot_fill_every_slot_is_certified_in_two_rounds() -> None:
    # every proposal ranks the same popular experts first, and the loads leave 5 % spare: each
    # proposal's 5 best experts cannot fill every slot, the whole matrix can. The set is grown
    # to one that can before the first flow (the coverage bonus's potentials, dominated by the
    # bonus, took a third round here), and the rounds end at the dense optimum
    inst = small_instance(0, 400, 120, 3, conflict_rate=0.1, max_load=(10, 11))
    rng = np.random.default_rng(0)
    popular = rng.random(inst.n_experts)
    aff = np.round(0.6 * popular[None, :] + 0.4 * rng.random(inst.affinity.shape), 2)
    inst = replace(inst, affinity=aff)
    n_e = inst.n_experts
    assert inst.free_demand.sum() <= inst.free_capacity.sum() < 1.06 * inst.free_demand.sum()
    top = np.argsort(np.where(inst.eligible_mask(), aff, -1.0), axis=1)[:, ::-1][:, :5]
    first = _sets.unique(np.arange(inst.n_proposals)[:, None] * n_e + top)
    with pytest.raises(Uncoverable):
        solve_network(inst, replace(flow_spec(inst), exact=True), first)
    sol, cert = _sparse.solve_certified(inst, flow_spec(inst), dense=False, initial=first)
    assert cert.method == "reduced-costs" and cert.violations == 0 and cert.rounds <= 2
    chosen = sol.cand[sol.flow > 0]
    assert chosen.size == inst.free_demand.sum()
    assert not _sets.member(chosen, inst.blocked_codes()).any()
    total = float(aff[chosen // n_e, chosen % n_e].sum())
    assert total == pytest.approx(assign(inst, "max-total", dense=True).objective, abs=1e-6)


@pytest.mark.parametrize("block", [_columns.SLAB, 64])
def test_first_candidates_are_each_proposals_best_and_each_short_experts_best(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # distinct affinities (no ties): the m best eligible experts of every proposal, and for the
    # experts with fewer than r of those pairs their r best eligible proposals, nothing else;
    # a small SLAB splits the rows into several slabs, merged on two threads
    monkeypatch.setattr(_columns, "SLAB", block)
    inst = small_instance(5, 45, 25, 2, conflict_rate=0.3, max_load=(1, 4))
    rng = np.random.default_rng(5)
    inst = replace(inst, affinity=rng.permutation(45 * 25).reshape(45, 25) / (45 * 25))
    m, r = 3, 4
    ok = inst.eligible_mask()
    aff = np.where(ok, inst.affinity, -1.0)
    rows = np.argsort(-aff, axis=1)[:, :m]
    want = {(p, e) for p in range(45) for e in rows[p] if ok[p, e]}
    per_expert = np.bincount([e for _, e in want], minlength=25)
    cols = np.argsort(-aff, axis=0)[:r]
    want |= {(p, e) for e in range(25) if per_expert[e] < r for p in cols[:, e] if ok[p, e]}
    got = _sparse.initial_candidates(inst, inst.blocked_codes(), m, r)
    assert {(int(c) // 25, int(c) % 25) for c in got} == want


@pytest.mark.parametrize("scale", [1.0, 2.0**55])
def test_lowest_per_group_keeps_each_groups_lowest_values(scale: float) -> None:
    # integer values held as float64, ties included; a huge range takes the two-key sort
    rng = np.random.default_rng(int(np.log2(scale)))
    n = 5_000
    codes = np.sort(rng.choice(10**7, n, replace=False)).astype(np.int64)
    values = rng.integers(-50, 50, n).astype(np.float64) * scale
    group = codes % 97
    got = _columns.lowest_per(codes, values, group, 4)
    assert np.unique(got).size == got.size
    for g in range(97):
        mine = np.sort(values[np.isin(codes, got) & (group == g)])
        want = np.sort(values[group == g])[:4]
        assert np.array_equal(mine, want), g
