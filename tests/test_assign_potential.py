"""Potential conflicts in the solvers: eligible pairs avoided by a penalty, never excluded, and
listed when an assignment still uses them. Reference optimum: scipy's MILP on the penalised
weights (coverage first, then affinity minus the penalty on potential pairs)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from assignment import AssignmentInstance, InstanceError, assign, build_instance
from benchmarks.synthetic import small_instance
from tests.test_assign_solvers import constraints


def with_potential(inst: AssignmentInstance, rate: float, seed: int) -> AssignmentInstance:
    rng = np.random.default_rng(seed)
    p, e = np.nonzero(rng.random((inst.n_proposals, inst.n_experts)) < rate)
    frame = pl.DataFrame(
        {"p": p.astype(np.int64), "e": e.astype(np.int64), "detail": ["likely"] * p.size},
        schema={"p": pl.Int64, "e": pl.Int64, "detail": pl.String},
    )
    return replace(inst, potential=frame)


def milp_penalised(inst: AssignmentInstance) -> tuple[int, float]:
    """(coverage, penalised total of the new pairs) of the lexicographic optimum."""
    p, e, cons = constraints(inst)
    n = p.size
    first = milp(-np.ones(n), constraints=cons, integrality=np.ones(n), bounds=Bounds(0, 1))
    cover = round(-first.fun)
    codes = p.astype(np.int64) * inst.n_experts + e
    w = inst.affinity[p, e] - inst.potential_penalty * np.isin(codes, inst.potential_codes())
    second = milp(
        -w,
        constraints=[*cons, LinearConstraint(np.ones((1, n)), cover - 1e-9, cover)],
        integrality=np.ones(n),
        bounds=Bounds(0, 1),
    )
    return cover, float(-second.fun)


def penalised_total(inst: AssignmentInstance, pairs: pl.DataFrame, used: pl.DataFrame) -> float:
    new = pairs.join(
        pl.DataFrame({"proposal_id": inst.proposal_ids[inst.fixed_pairs()[:, 0]].tolist(),
                      "expert_id": inst.expert_ids[inst.fixed_pairs()[:, 1]].tolist()},
                     schema={"proposal_id": pl.String, "expert_id": pl.String}),
        on=["proposal_id", "expert_id"], how="anti",
    )  # fmt: skip
    return float(new["affinity"].sum()) - inst.potential_penalty * int((~used["fixed"]).sum())


def frames(n_p: int, n_e: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    proposals = pl.DataFrame({"proposal_id": [f"P{i}" for i in range(n_p)]})
    experts = pl.DataFrame({"expert_id": [f"X{j}" for j in range(n_e)], "max_load": [1] * n_e})
    return proposals, experts


@pytest.mark.parametrize("mode", ["max-total", "fair", "randomized"])
def test_a_potential_pair_is_avoided_where_another_expert_can_serve(mode: str) -> None:
    proposals, experts = frames(2, 3)
    aff = np.array([[0.9, 0.2, 0.1], [0.1, 0.1, 0.8]])
    potential = pl.DataFrame({"proposal_id": ["P0"], "expert_id": ["X0"], "detail": ["likely"]})
    inst = build_instance(proposals, experts, aff, k=1, potential=potential)
    res = assign(inst, mode, q=1.0)
    assert ("P0", "X0") not in set(res.pairs.select("proposal_id", "expert_id").rows())
    assert res.status == "complete" and res.potential_used.height == 0
    assert res.to_json_dict()["potential_pairs_used"] == []
    # without the potential conflict the pair is the best one
    plain = assign(build_instance(proposals, experts, aff, k=1), mode, q=1.0)
    assert ("P0", "X0") in set(plain.pairs.select("proposal_id", "expert_id").rows())


def test_a_potential_pair_is_used_when_coverage_needs_it_and_listed() -> None:
    proposals, experts = frames(2, 2)
    conflicts = pl.DataFrame({"proposal_id": ["P0"], "expert_id": ["X1"], "reason": ["declared"],
                              "detail": ["declared conflict"]})  # fmt: skip
    potential = pl.DataFrame(
        {"proposal_id": ["P0", "P1"], "expert_id": ["X0", "X0"], "detail": ["a", "b"]}
    )
    inst = build_instance(proposals, experts, np.full((2, 2), 0.5), conflicts, k=1,
                          potential=potential)  # fmt: skip
    res = assign(inst)
    assert res.status == "complete"  # a penalty, not a constraint
    assert res.potential_used.rows() == [("P0", "X0", "a", False)]
    assert res.to_json_dict()["potential_pairs_used"] == [
        {"proposal_id": "P0", "expert_id": "X0", "detail": "a", "fixed": False}
    ]


def test_a_pinned_potential_pair_is_listed_as_fixed() -> None:
    proposals, experts = frames(1, 2)
    pin = pl.DataFrame({"proposal_id": ["P0"], "expert_id": ["X1"]})
    potential = pl.DataFrame({"proposal_id": ["P0"], "expert_id": ["X1"], "detail": ["likely"]})
    inst = build_instance(proposals, experts, np.full((1, 2), 0.5), k=1, pinned=pin,
                          potential=potential)  # fmt: skip
    assert assign(inst).potential_used.rows() == [("P0", "X1", "likely", True)]


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 9), st.integers(3, 8), st.integers(1, 3))
def test_max_total_with_potential_pairs_matches_milp(seed: int, n_p: int, n_e: int, k: int) -> None:
    inst = with_potential(small_instance(seed, n_p, n_e, k, max_load=(1, 4)), 0.3, seed)
    res = assign(inst, "max-total")
    cover, best = milp_penalised(inst)
    assert res.slots_filled - inst.pinned.shape[0] == cover
    assert penalised_total(inst, res.pairs, res.potential_used) == pytest.approx(best, abs=1e-5)


def test_the_certified_candidate_set_handles_potential_pairs() -> None:
    inst = small_instance(7, 60, 40, 3, conflict_rate=0.1, max_load=(3, 6), min_load_rate=0.3,
                          pins=6)  # fmt: skip
    # the potential pairs are many proposals' best experts: left out of a first candidate set
    # they would be chosen; the certificate must see their penalised cost
    best = np.argsort(-np.asarray(inst.affinity), axis=1)[:, :3]
    p = np.repeat(np.arange(inst.n_proposals), 3)
    frame = pl.DataFrame({"p": p, "e": best.reshape(-1).astype(np.int64), "detail": "likely"})
    pinned = set(map(tuple, inst.pinned.tolist()))
    frame = frame.filter(~pl.struct("p", "e").map_elements(
        lambda r: (r["p"], r["e"]) in pinned, return_dtype=pl.Boolean))  # fmt: skip
    inst = replace(inst, potential=frame)
    dense = assign(inst, "max-total", dense=True)
    sparse = assign(inst, "max-total", dense=False, candidates=2)
    assert sparse.certificate.violations == 0 and sparse.certificate.rounds > 1
    assert sparse.slots_filled == dense.slots_filled
    assert penalised_total(inst, sparse.pairs, sparse.potential_used) == pytest.approx(
        penalised_total(inst, dense.pairs, dense.potential_used), abs=1e-5
    )
    assert sparse.potential_used.height == dense.potential_used.height


def test_the_penalty_is_checked() -> None:
    proposals, experts = frames(1, 1)
    with pytest.raises(InstanceError, match="potential-conflict penalty"):
        build_instance(proposals, experts, np.full((1, 1), 0.5), k=1, potential_penalty=-1.0)
    with pytest.raises(InstanceError, match="potential: expert_id has unknown ids"):
        build_instance(proposals, experts, np.full((1, 1), 0.5), k=1, potential=pl.DataFrame(
            {"proposal_id": ["P0"], "expert_id": ["nobody"], "detail": ["x"]}))  # fmt: skip
