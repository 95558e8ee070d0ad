"""Growing a candidate set until it can fill every slot and meet every minimum load.

With tight loads, each proposal's best experts and each expert's best proposals (see
:mod:`._sparse`) may not be able to fill every slot although the whole pair set can: the exact
formulation (see :mod:`._network`) is then infeasible on the candidates, and the coverage-bonus
fallback's node potentials, dominated by the bonus, leave millions of violations and cost the
certificate two more rounds.

A maximum flow on the candidates (source → proposal ``demand``, pair ``pair_cap``, expert → sink
``capacity``; OR-Tools ``SimpleMaxFlow``, about 0.01 s at 5,000 × 2,000 with 100,000 pairs) finds
a minimum cut: the proposals reachable from the source in its residual graph (``S``) only reach
experts that are full. Only an eligible pair from a proposal in ``S`` to an expert outside it can
raise the flow, so each such proposal gets its best ``per`` of those pairs and the flow is solved
again. When no eligible pair crosses the cut, the cut is one of the whole pair set as well: no
choice of pairs fills every slot (proven, so the exact formulation need not be tried again). The
minimum loads are grown the same way on the flow from the experts' lower loads to the proposals.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import max_flow

from assignment import _sets
from assignment.instance import AssignmentInstance, IntArray
from assignment.solvers._columns import best_in_block, best_in_columns
from assignment.solvers._network import FlowSpec, SolverFailure

MAX_GROWTH = 20  # flows per side before leaving the rest to the coverage-bonus formulation


def _cut(
    supply: IntArray, tail: IntArray, head: IntArray, arc_cap: int, demand: IntArray
) -> tuple[bool, IntArray, IntArray]:
    """Maximum flow source → ``supply`` side → ``demand`` side → sink over the arcs
    ``tail → head`` (indices into each side). Returns whether every supply is routed and the
    supply-side and demand-side indices on the source side of a minimum cut."""
    n_s, n_d = supply.size, demand.size
    tails = np.concatenate([np.zeros(n_s, np.int64), 2 + tail, 2 + n_s + np.arange(n_d)])
    heads = np.concatenate([2 + np.arange(n_s), 2 + n_s + head, np.ones(n_d, np.int64)])
    caps = np.concatenate([supply, np.full(tail.size, arc_cap), demand]).astype(np.int64)
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(tails, heads, caps)
    status = flow.solve(0, 1)
    if status != flow.OPTIMAL:
        raise SolverFailure(f"max-flow solver returned status {status}")
    if flow.optimal_flow() >= int(supply.sum()):
        return True, np.zeros(0, np.int64), np.zeros(0, np.int64)
    side = np.sort(np.asarray(flow.get_source_side_min_cut(), dtype=np.int64))
    s_side = side[(side >= 2) & (side < 2 + n_s)] - 2
    d_side = side[side >= 2 + n_s] - 2 - n_s
    return False, s_side, d_side


def _best_in_rows(
    inst: AssignmentInstance,
    masked: tuple[IntArray, ...],
    rows: IntArray,
    skip: IntArray,
    per: int,
) -> IntArray:
    """Codes of the best ``per`` pairs of each of the sorted proposals ``rows`` with an expert
    outside ``skip`` and not in any of the sorted code sets ``masked``."""
    n_e = inst.n_experts
    block = np.array(inst.affinity[rows], dtype=np.float32)
    for codes in masked:
        owner, inside = _sets.in_rows(codes, n_e, rows)
        block[owner, inside % n_e] = -1.0
    block[:, skip] = -1.0
    i, e = best_in_block(block, per)
    return _sets.unique(rows[i] * n_e + e)


def cover_candidates(
    inst: AssignmentInstance, spec: FlowSpec, blocked: IntArray, cand: IntArray, per: int
) -> tuple[IntArray, bool]:
    """``cand`` (sorted codes) grown until a flow on it can fill every slot of ``spec`` and meet
    every minimum load, and whether that was proven impossible with any eligible pairs
    (``blocked``: sorted codes of the pairs that are not).

    Stops after :data:`MAX_GROWTH` flows per side without a proof either way (the caller then
    tries the exact formulation and falls back to the coverage bonus)."""
    n_e = inst.n_experts
    for _ in range(MAX_GROWTH):
        full, short_p, full_e = _cut(spec.demand, cand // n_e, cand % n_e, spec.pair_cap,
                                     spec.capacity)  # fmt: skip
        if full:
            break
        new = _best_in_rows(inst, (blocked, cand), short_p, full_e, per)
        if new.size == 0:
            return cand, True
        cand = _sets.union(cand, new)
    else:
        return cand, False
    if not spec.low.any():
        return cand, False
    for _ in range(MAX_GROWTH):
        full, short_e, full_p = _cut(spec.low, cand % n_e, cand // n_e, spec.pair_cap,
                                     spec.demand)  # fmt: skip
        if full:
            return cand, False
        new = best_in_columns(inst, short_e, per, masked=(blocked, cand), skip=full_p)
        if new.size == 0:
            return cand, True
        cand = _sets.union(cand, new)
    return cand, False
