"""A full-matrix certificate for the ``fair`` mode's second stage: the total given the floor.

Stage 2 maximises the total weight of the new pairs subject to every proposal with open slots
keeping the floor ``z*`` found by stage 1, at maximum coverage ``F``; CP-SAT solves it over a
candidate set. Its LP relaxation over *all* eligible pairs (integer weights ``w``)::

    max Σ w x  s.t.  -Σ_e w[p,e] x[p,e] <= fixed_w[p] - z*   (p with open slots)  dual μ[p] >= 0
                     Σ_e x[p,e] <= free_demand[p]                                 dual π[p] >= 0
                     Σ_p x[p,e] <= free_capacity[e]                               dual λ[e] >= 0
                     -Σ_p x[p,e] <= -free_min_load[e]                             dual ν[e] >= 0
                     Σ x = F                                                      dual γ
                     0 <= x <= 1

is solved by column generation (scipy's HiGHS over the candidates, one vectorised pricing pass
over the (P, E) matrix per round; pairs with a positive reduced cost
``(1 + μ[p])·w[p,e] − π[p] − λ[e] + ν[e] − γ`` join and the LP is solved again, until none
prices out). The bound reported is the *dual* value of the final duals, computed from them
directly: for any μ, π, λ, ν >= 0 and any γ, every solution over the full matrix has a total of
at most ``Σ duals × right-hand sides + Σ_{every eligible pair} max(0, reduced cost)`` (weak
duality with ``x <= 1``), whatever the LP solver's tolerances. With integer weights an integer
total equal to ``⌊bound⌋`` is optimal. Otherwise reduced-cost fixing applies: a solution using a
pair of reduced cost ``rc <= 0`` has a total of at most ``bound + rc``, so only pairs with
``rc >= total + 1 − bound`` can be part of a better one; when all of them are among CP-SAT's
candidates and CP-SAT proved its total optimal there, the total is optimal over the full matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assignment.instance import AssignmentInstance, IntArray
from assignment.solvers._columns import map_blocks
from assignment.solvers._network import SCALE, FlowSpec
from assignment.solvers._sparse import _mask_in_block, _row_blocks
from assignment.solvers.fair_bound import _block_weights

# reduced cost (weight units) above which a pair joins the LP: HiGHS's tolerances are about
# 1e-7 of an affinity unit (0.1 weight units), so smaller values are noise, and the dual bound
# stays valid whatever is left out (its positive reduced costs are added to it)
PRICE_CUT = 1.0


@dataclass(frozen=True, slots=True)
class TotalBound:
    bound: float  # dual bound on the new pairs' total weight over the full matrix (inf: none)
    rounds: int  # LP solves
    cand: IntArray  # sorted codes of the LP's final candidates
    checked: int  # eligible pairs outside them priced in the last pass
    status: str  # "optimal" when no pair priced out, else why not
    duals: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None  # 1 + μ, π, λ - ν, γ


def _lp(
    inst: AssignmentInstance, spec: FlowSpec, cand: IntArray, fixed_w: IntArray,
    scope: IntArray, coverage: int, floor: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float] | None:
    """HiGHS over ``cand`` in affinity units: (μ, π, λ, ν, γ) in weight units, or None."""
    import scipy.sparse as sp
    from scipy.optimize import linprog

    n_p, n_e, n = inst.n_proposals, inst.n_experts, cand.size
    cp, ce = cand // n_e, cand % n_e
    a = spec.pair_weights(inst.affinity[cp, ce], cp, cand).astype(np.float64) / SCALE
    col = np.arange(n)
    row_of_p = np.full(n_p, -1)
    row_of_p[scope] = np.arange(scope.size)
    in_scope = row_of_p[cp] >= 0
    lows = np.nonzero(inst.free_min_load > 0)[0]
    row_of_low = np.full(n_e, -1)
    row_of_low[lows] = np.arange(lows.size)
    has_low = row_of_low[ce] >= 0
    blocks = [
        sp.csr_matrix((-a[in_scope], (row_of_p[cp[in_scope]], col[in_scope])), (scope.size, n)),
        sp.csr_matrix((np.ones(n), (cp, col)), (n_p, n)),
        sp.csr_matrix((np.ones(n), (ce, col)), (n_e, n)),
        sp.csr_matrix((-np.ones(int(has_low.sum())), (row_of_low[ce[has_low]], col[has_low])),
                      (lows.size, n)),
    ]
    b = np.concatenate([
        (fixed_w[scope] - floor) / SCALE,
        inst.free_demand.astype(np.float64),
        inst.free_capacity.astype(np.float64),
        -inst.free_min_load[lows].astype(np.float64),
    ])
    res = linprog(-a, A_ub=sp.vstack(blocks, format="csr"), b_ub=b,
                  A_eq=sp.csr_matrix(np.ones((1, n))), b_eq=[float(coverage)],
                  bounds=(0.0, 1.0), method="highs")
    if res.status != 0:
        return None
    y = np.maximum(-np.asarray(res.ineqlin.marginals, dtype=np.float64), 0.0) * SCALE
    mu = np.zeros(n_p)
    mu[scope] = y[: scope.size] / SCALE  # μ multiplies weights: no unit
    at = scope.size
    pi, lam = y[at : at + n_p], y[at + n_p : at + n_p + n_e]
    nu = np.zeros(n_e)
    nu[lows] = y[at + n_p + n_e :]
    gamma = -float(res.eqlin.marginals[0]) * SCALE
    return mu, pi, lam, nu, gamma


def _scan(
    inst: AssignmentInstance, spec: FlowSpec, cand: IntArray, blocked: IntArray,
    mult: np.ndarray, pi: np.ndarray, col: np.ndarray, above: float, limit: int,
) -> tuple[IntArray, float, int]:
    """One pass over the eligible pairs outside ``cand``: the codes of those with a reduced cost
    ``mult[p]·w − pi[p] − col[e]`` above ``above`` (at most ``limit``, the highest first), the
    sum of the positive reduced costs, and how many pairs were priced."""
    n_e = inst.n_experts

    def block(rows: slice) -> tuple[IntArray, np.ndarray, float, int]:
        rc = _block_weights(inst, spec, rows) * mult[rows, None] - pi[rows, None] - col[None, :]
        bad = np.zeros(rc.shape, dtype=bool)
        _mask_in_block(blocked, rows, n_e, bad)
        _mask_in_block(cand, rows, n_e, bad)
        rc[bad] = -np.inf
        positive = float(rc[rc > 0].sum())
        hit = np.nonzero(rc > above)
        codes = (hit[0] + rows.start).astype(np.int64) * n_e + hit[1]
        return codes, rc[hit], positive, int(bad.size - bad.sum())

    parts = map_blocks(block, _row_blocks(inst))
    codes = np.concatenate([c for c, _, _, _ in parts]) if parts else np.zeros(0, np.int64)
    vals = np.concatenate([v for _, v, _, _ in parts]) if parts else np.zeros(0)
    if codes.size > limit:
        codes = codes[np.argpartition(-vals, limit - 1)[:limit]]
    return np.sort(codes), sum(s for _, _, s, _ in parts), sum(n for _, _, _, n in parts)


def total_bound(
    inst: AssignmentInstance, spec: FlowSpec, cand: IntArray, fixed_w: IntArray,
    scope: IntArray, coverage: int, floor: int, *, max_rounds: int = 8,
) -> TotalBound:
    """The dual bound on stage 2's total over every eligible pair (see the module docstring).
    ``cand``: candidate codes to start from; ``floor``: stage 1's floor (weight units).
    The bound holds after any number of rounds (the positive reduced costs of the pairs left
    out are part of it), so pricing stops after ``max_rounds`` full-matrix passes with a
    valid, if weaker, bound."""
    blocked = inst.blocked_codes()
    cand = np.unique(cand)
    limit = max(4 * inst.n_proposals, 64)
    for rounds in range(1, max_rounds + 1):
        lp = _lp(inst, spec, cand, fixed_w, scope, coverage, floor)
        if lp is None:
            return TotalBound(np.inf, rounds, cand, 0, "LP not solved")
        mu, pi, lam, nu, gamma = lp
        mult, col = 1.0 + mu, lam - nu + gamma
        new, outside_positive, checked = _scan(
            inst, spec, cand, blocked, mult, pi, col, PRICE_CUT, limit)
        if new.size == 0 or rounds == max_rounds:
            cp, ce = cand // inst.n_experts, cand % inst.n_experts
            w = spec.pair_weights(inst.affinity[cp, ce], cp, cand).astype(np.float64)
            inside = np.maximum(mult[cp] * w - pi[cp] - col[ce], 0.0).sum()
            rhs = (float(mu[scope] @ (fixed_w[scope] - floor).astype(np.float64))
                   + float(pi @ inst.free_demand) + float(lam @ inst.free_capacity)
                   - float(nu @ inst.free_min_load) + gamma * coverage)
            bound = rhs + float(inside) + outside_positive
            status = "optimal" if new.size == 0 else f"pricing stopped after {max_rounds} rounds"
            return TotalBound(bound, rounds, cand, checked, status, (mult, pi, lam - nu, gamma))
        cand = np.union1d(cand, new)
    raise AssertionError("unreachable")  # pragma: no cover


def could_improve(
    inst: AssignmentInstance, spec: FlowSpec, tb: TotalBound, total: int, limit: int
) -> IntArray | None:
    """Reduced-cost fixing: codes of the eligible pairs outside the LP's candidates that can be
    part of a solution with a total above ``total`` (weight units), or None when there are more
    than ``limit`` of them (or there are no duals)."""
    if tb.duals is None or not np.isfinite(tb.bound):
        return None
    mult, pi, col, gamma = tb.duals
    cut = float(total + 1) - tb.bound - 1e-6 * max(1.0, abs(tb.bound))
    found, _, _ = _scan(inst, spec, tb.cand, inst.blocked_codes(), mult, pi, col + gamma,
                        cut, limit + 1)
    return None if found.size > limit else found
