"""Diagnostics name exactly the proposals that cannot all be covered, with actionable reasons."""

from __future__ import annotations

import numpy as np
import polars as pl
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from assignment import AssignmentInstance, assign, build_instance
from assignment.diagnostics import at_risk, deficient_sets
from benchmarks.synthetic import small_instance


def lp_value(inst: AssignmentInstance, force: int | None) -> float:
    """Max coverage (LP, integral by total unimodularity); ``force``: that proposal one short."""
    p, e = np.nonzero(inst.eligible_mask())
    n = p.size
    a_p = sp.csr_matrix((np.ones(n), (p, np.arange(n))), shape=(inst.n_proposals, n))
    a_e = sp.csr_matrix((np.ones(n), (e, np.arange(n))), shape=(inst.n_experts, n))
    upper = inst.free_demand.astype(float)
    if force is not None:
        upper[force] -= 1
    cons = [
        LinearConstraint(a_p, 0, upper),
        LinearConstraint(a_e, 0, inst.free_capacity),
    ]
    if n == 0:
        return 0.0
    res = milp(-np.ones(n), constraints=cons, bounds=Bounds(0, 1))
    assert res.status == 0
    return float(-res.fun)


def brute_force_at_risk(inst: AssignmentInstance) -> set[str]:
    """Proposals with an open slot in some maximum-coverage assignment: coverage stays
    maximal when the proposal gets one expert less."""
    best = lp_value(inst, None)
    out = set()
    for p in np.nonzero(inst.free_demand > 0)[0]:
        if lp_value(inst, int(p)) >= best - 1e-7:
            out.add(str(inst.proposal_ids[p]))
    return out


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_p=st.integers(1, 8),
    n_e=st.integers(1, 6),
    k=st.integers(1, 3),
    rate=st.sampled_from([0.1, 0.4, 0.7]),
)
def test_diagnostics_name_exactly_the_uncoverable(
    seed: int, n_p: int, n_e: int, k: int, rate: float
) -> None:
    inst = small_instance(seed, n_p, n_e, k, conflict_rate=rate, max_load=(0, 3))
    res = assign(inst, "max-total")
    pid = {v: i for i, v in enumerate(inst.proposal_ids.tolist())}
    eid = {v: i for i, v in enumerate(inst.expert_ids.tolist())}
    new = np.array(
        [[pid[a], eid[b]] for a, b in res.pairs.select("proposal_id", "expert_id").iter_rows()],
        dtype=np.int64,
    ).reshape(-1, 2)
    named = set(inst.proposal_ids[at_risk(inst, new)].tolist())
    assert named == brute_force_at_risk(inst)
    short = set(res.shortfalls["proposal_id"].to_list())
    assert short <= named
    assert (res.shortfalls["missing"] > 0).all()
    assert int(res.shortfalls["missing"].sum()) == res.slots_demanded - res.slots_filled
    for proposal, reason in res.shortfalls.select("proposal_id", "reason").iter_rows():
        assert reason in res.messages  # every short proposal carries its set's message
        assert proposal in reason or "proposals (" in reason  # named, or counted when many



@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_p=st.integers(2, 14),
    n_e=st.integers(2, 12),
    k=st.integers(1, 3),
    rate=st.sampled_from([0.1, 0.5, 0.8]),
    halve=st.booleans(),
)
def test_deficient_sets_are_the_components_of_every_residual_edge(
    seed: int, n_p: int, n_e: int, k: int, rate: float, halve: bool
) -> None:
    """The components of the reached nodes equal those of the graph with an edge per eligible
    pair not on the panel and per assigned pair (scipy over the dense mask), labels included:
    proposals eligible with most experts are joined through one node instead."""
    inst = small_instance(seed, n_p, n_e, k, conflict_rate=rate, max_load=(0, 3))
    res = assign(inst, "max-total")
    pid = {v: i for i, v in enumerate(inst.proposal_ids.tolist())}
    eid = {v: i for i, v in enumerate(inst.expert_ids.tolist())}
    rows = res.pairs.select("proposal_id", "expert_id").iter_rows()
    new = np.array([[pid[a], eid[b]] for a, b in rows], dtype=np.int64).reshape(-1, 2)
    new = new[len(inst.fixed_pairs()):][:: 2 if halve else 1]  # halved: more demand short
    seen_p, seen_e, comp_p, comp_e = deficient_sets(inst, new)
    residual = inst.eligible_mask()
    residual[new[:, 0], new[:, 1]] = False
    residual &= seen_p[:, None]
    fp, fe = np.nonzero(residual)
    assigned = new[seen_e[new[:, 1]]]
    ep = np.concatenate([fp, assigned[:, 0]])
    ee = np.concatenate([fe, assigned[:, 1]])
    graph = sp.coo_matrix((np.ones(ep.size), (ep, n_p + ee)), shape=(n_p + n_e, n_p + n_e))
    _, labels = sp.csgraph.connected_components(graph, directed=False)
    if seen_p.any():
        assert comp_p.tolist() == np.where(seen_p, labels[:n_p], -1).tolist()
        assert comp_e.tolist() == np.where(seen_e, labels[n_p:], -1).tolist()
    else:
        assert (comp_p == -1).all() and (comp_e == -1).all()

def _frames(n_p: int, n_e: int, loads: list[int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    proposals = pl.DataFrame(
        {"proposal_id": [f"P{i}" for i in range(n_p)], "fields": [["0714"]] * n_p}
    )
    experts = pl.DataFrame({"expert_id": [f"X{i}" for i in range(n_e)], "max_load": loads})
    return proposals, experts


def test_message_names_group_experts_field_and_remedy() -> None:
    # P0 and P1 may only use X0 and X1 (X2 is conflicted for both), k = 2, X0/X1 carry 1 each;
    # X2 is on P2's panel already, so it is not named
    proposals, experts = _frames(3, 3, [1, 1, 5])
    conflicts = pl.DataFrame(
        {
            "proposal_id": ["P0", "P1"],
            "expert_id": ["X2", "X2"],
            "reason": ["employment", "declared"],
            "detail": ["", ""],
        }
    )
    inst = build_instance(proposals, experts, np.full((3, 3), 0.5), conflicts, k=2)
    res = assign(inst)
    assert res.status == "partial"
    assert set(res.shortfalls["proposal_id"]) <= {"P0", "P1"}
    # P2 takes X2 and one of X0/X1: one slot is left for P0 and P1, which need 4
    assert int(res.shortfalls["missing"].sum()) == 3
    (msg,) = res.messages
    assert msg.startswith("P0 and P1 need 3 more experts")
    assert "X0 and X1" in msg and "X2" not in msg
    assert "raise their max_load" in msg and "field 0714" in msg


def test_proposal_without_eligible_expert_names_dominant_conflicts() -> None:
    proposals, experts = _frames(2, 3, [2, 2, 2])
    conflicts = pl.DataFrame(
        {
            "proposal_id": ["P0"] * 4,
            "expert_id": ["X0", "X1", "X2", "X0"],
            "reason": ["employment", "employment", "declared", "collaboration"],
            "detail": [""] * 4,
        }
    )
    inst = build_instance(proposals, experts, np.full((2, 3), 0.5), conflicts, k=2)
    res = assign(inst)
    assert res.shortfalls["proposal_id"].to_list() == ["P0"]
    (msg,) = res.messages
    assert msg.startswith("P0 has no eligible expert")
    assert msg.index("employment (2)") < msg.index("declared (1)")
