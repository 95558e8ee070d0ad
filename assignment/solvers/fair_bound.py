"""A full-matrix certificate for the ``fair`` floor: its LP relaxation, priced over every pair.

The fair mode maximises ``z``, the lowest panel total over the proposals with open slots, at
maximum coverage ``F``; CP-SAT solves that exactly, but over a candidate set of pairs. Whether a
pair outside the set could raise the floor is answered here with the LP relaxation over *all*
eligible pairs (integer weights ``w = affinity × SCALE``)::

    max z   s.t.  z - Σ_e w[p,e] x[p,e] <= fixed_w[p]     (p with open slots)   dual μ[p] >= 0
                  Σ_e x[p,e] <= free_demand[p]                                    dual π[p] >= 0
                  Σ_p x[p,e] <= free_capacity[e]                                  dual λ[e] >= 0
                  Σ_p x[p,e] >= free_min_load[e]                                  dual ν[e] <= 0
                  Σ x = F                                                         dual γ
                  0 <= x <= 1

(weights of potential-conflict pairs lowered by the instance's penalty, as the solver counts
them) solved by column generation: GLOP solves it over the candidate set, then one vectorised
pass over the (P, E) matrix computes every eligible pair's reduced cost ``μ[p]·w[p,e] − π[p] −
λ[e] − ν[e] − γ``; pairs with a positive one join the set and the LP is solved again, until none
is left. The final LP value is then an upper bound on the floor over the whole matrix, and since
weights are integers so is its floor: an integer solution reaching ``⌊z_LP⌋`` is proven optimal.
Pairs that joined are handed back, so the caller can search them too (they are where the
candidate set was too small).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assignment.instance import AssignmentInstance, IntArray
from assignment.solvers._network import FlowSpec, weights
from assignment.solvers._sparse import _mask_in_block, _row_blocks

TOLERANCE = 1e-6  # reduced cost (weight units × dual) treated as zero


@dataclass(frozen=True, slots=True)
class FloorBound:
    bound: float  # the LP's value: the floor (weight units) cannot exceed it
    rounds: int  # LP solves
    added: IntArray  # sorted codes (p * E + e) of the pairs pricing added to the candidates
    status: str  # "optimal" when no eligible pair had a positive reduced cost
    duals: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None  # μ, π, λ + ν, γ
    cand: IntArray | None = None  # the final candidate codes of the LP


def _solve_lp(
    inst: AssignmentInstance, spec: FlowSpec, cand: IntArray, fixed_w: IntArray,
    scope: IntArray, coverage: int,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float] | None:
    """GLOP over ``cand``: (z, μ (P,), π (P,), λ (E,), ν (E,), γ), or None if not optimal."""
    from ortools.linear_solver import pywraplp

    n_p, n_e = inst.n_proposals, inst.n_experts
    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:  # pragma: no cover - GLOP ships with OR-Tools
        return None
    cp, ce = cand // n_e, cand % n_e
    w = spec.pair_weights(inst.affinity[cp, ce], cp, cand).astype(np.float64)
    x = [solver.NumVar(0.0, 1.0, "") for _ in range(cand.size)]
    z = solver.NumVar(-solver.infinity(), solver.infinity(), "z")  # penalised weights may be < 0
    rows_mu = {int(p): solver.Constraint(-solver.infinity(), float(fixed_w[p])) for p in scope}
    for c in rows_mu.values():
        c.SetCoefficient(z, 1.0)
    rows_pi = [solver.Constraint(-solver.infinity(), float(inst.free_demand[p]))
               for p in range(n_p)]
    rows_lam = [solver.Constraint(-solver.infinity(), float(inst.free_capacity[e]))
                for e in range(n_e)]
    min_load = inst.free_min_load
    rows_nu = {int(e): solver.Constraint(float(min_load[e]), solver.infinity())
               for e in np.nonzero(min_load > 0)[0]}
    row_cov = solver.Constraint(float(coverage), float(coverage))
    for i, (p, e) in enumerate(zip(cp.tolist(), ce.tolist(), strict=True)):
        var = x[i]
        if p in rows_mu:
            rows_mu[p].SetCoefficient(var, -w[i])
        rows_pi[p].SetCoefficient(var, 1.0)
        rows_lam[e].SetCoefficient(var, 1.0)
        if e in rows_nu:
            rows_nu[e].SetCoefficient(var, 1.0)
        row_cov.SetCoefficient(var, 1.0)
    objective = solver.Objective()
    objective.SetCoefficient(z, 1.0)
    objective.SetMaximization()
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    mu = np.zeros(n_p)
    for p, c in rows_mu.items():
        mu[p] = c.dual_value()
    pi = np.array([c.dual_value() for c in rows_pi])
    lam = np.array([c.dual_value() for c in rows_lam])
    nu = np.zeros(n_e)
    for e, c in rows_nu.items():
        nu[e] = c.dual_value()
    return float(z.solution_value()), mu, pi, lam, nu, float(row_cov.dual_value())


def _block_weights(inst: AssignmentInstance, spec: FlowSpec, rows: slice) -> np.ndarray:
    """(rows, E) int64 weights of a row block, potential-conflict pairs penalised as in
    :meth:`FlowSpec.pair_weights`."""
    w = weights(inst.affinity[rows])
    if spec.penalty and spec.penalised is not None and spec.penalised.size:
        hit = np.zeros(w.shape, dtype=bool)
        _mask_in_block(spec.penalised, rows, inst.n_experts, hit)
        w[hit] -= spec.penalty
    return w


def _price(
    inst: AssignmentInstance, spec: FlowSpec, cand: IntArray, blocked: IntArray,
    mu: np.ndarray, pi: np.ndarray, lam: np.ndarray, nu: np.ndarray, gamma: float, limit: int,
    above: float | None = None,
) -> IntArray:
    """Codes of eligible pairs outside ``cand`` whose reduced cost is positive (or above
    ``above`` when given), at most ``limit``, the highest first, from one pass over the matrix
    in row blocks."""
    n_e = inst.n_experts
    found: list[IntArray] = []
    values: list[np.ndarray] = []
    col = lam + nu + gamma
    for rows in _row_blocks(inst):
        rc = _block_weights(inst, spec, rows) * mu[rows, None] - pi[rows, None] - col[None, :]
        bad = np.zeros(rc.shape, dtype=bool)
        _mask_in_block(blocked, rows, n_e, bad)
        _mask_in_block(cand, rows, n_e, bad)
        rc[bad] = -np.inf
        cut = TOLERANCE * max(1.0, float(mu[rows].max(initial=0.0))) if above is None else above
        hit = np.nonzero(rc > cut)
        if hit[0].size:
            found.append((hit[0] + rows.start).astype(np.int64) * n_e + hit[1])
            values.append(rc[hit])
    if not found:
        return np.zeros(0, np.int64)
    codes, vals = np.concatenate(found), np.concatenate(values)
    if codes.size > limit:
        codes = codes[np.argpartition(-vals, limit - 1)[:limit]]
    return np.sort(codes)


def floor_bound(
    inst: AssignmentInstance, spec: FlowSpec, cand: IntArray, fixed_w: IntArray,
    scope: IntArray, coverage: int, *, max_rounds: int = 20,
) -> FloorBound:
    """The LP bound on the fair floor over every eligible pair (see the module docstring).
    ``cand``: sorted candidate codes; ``fixed_w``: (P,) weight of each proposal's fixed pairs;
    ``scope``: proposals with open slots; ``coverage``: the number of new pairs (F)."""
    blocked = inst.blocked_codes()
    cand = np.unique(cand)
    start = cand
    limit = max(4 * inst.n_proposals, 64)
    for rounds in range(1, max_rounds + 1):
        lp = _solve_lp(inst, spec, cand, fixed_w, scope, coverage)
        if lp is None:
            return FloorBound(np.inf, rounds, np.setdiff1d(cand, start), "LP not solved")
        z, mu, pi, lam, nu, gamma = lp
        new = _price(inst, spec, cand, blocked, mu, pi, lam, nu, gamma, limit)
        if new.size == 0:
            return FloorBound(z, rounds, np.setdiff1d(cand, start), "optimal",
                              (mu, pi, lam + nu, gamma), cand)
        cand = np.union1d(cand, new)
    return FloorBound(np.inf, max_rounds, np.setdiff1d(cand, start),
                      f"pricing did not converge in {max_rounds} rounds")


def could_raise(
    inst: AssignmentInstance, spec: FlowSpec, fb: FloorBound, floor: int, limit: int
) -> IntArray | None:
    """Reduced-cost fixing: the codes of the eligible pairs outside the LP's candidates that can
    be part of an integer solution with a floor above ``floor``, or None when there are more
    than ``limit`` of them (or the LP was not solved).

    From LP duality, a solution that uses a pair of reduced cost ``rc <= 0`` has a floor of at
    most ``z_LP + rc``; to exceed ``floor`` (integers: reach ``floor + 1``), every pair it uses
    has ``rc >= floor + 1 - z_LP``. Searching the candidates plus these pairs is therefore
    searching every solution that could beat ``floor``."""
    if fb.duals is None or fb.cand is None:
        return None
    mu, pi, lam_nu, gamma = fb.duals
    cut = float(floor + 1) - fb.bound - TOLERANCE * max(1.0, float(mu.max(initial=0.0)))
    found = _price(inst, spec, fb.cand, inst.blocked_codes(), mu, pi, lam_nu,
                   np.zeros_like(lam_nu),
                   gamma, limit + 1, above=cut)
    return None if found.size > limit else found
