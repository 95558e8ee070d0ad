"""Candidate sets and the optimality certificate against the full (P, E) affinity matrix.

Every solve first tries the exact formulation (every slot filled, see :mod:`._network`); only
when the pairs at hand cannot fill every slot does it fall back to the coverage bonus. Filling
every slot is the most coverage there is, so either way the first stage (coverage) is optimal.

At large sizes the flow is solved on a candidate set: the ``m`` best eligible experts of every
proposal plus, for capacity, the ``r`` best proposals of every expert. The solution is then
certified on every eligible pair left out (reduced cost from the node potentials >= 0); pairs that
violate the certificate are added and the flow re-solved until none does.
Matrices are scanned in row blocks of about ``BLOCK`` cells to bound memory, two blocks at a
time (numpy releases the GIL in these array operations, so two threads use two cores).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TypeVar

import numpy as np

from assignment import _sets
from assignment.instance import AssignmentInstance, IntArray
from assignment.result import Certificate
from assignment.solvers._network import (
    SCALE,
    FlowSpec,
    NetworkSolution,
    Uncoverable,
    lowest_entry_potential,
    pair_reduced_costs,
    solve_network,
)

BLOCK = 1_000_000
DENSE_LIMIT = 250_000  # eligible pairs up to which the full pair set is solved directly
THREADS = 2
# pairs whose reduced cost is below this (0.02 of affinity) join the candidates along with the
# violating ones: the next flow often needs them, and taking them early saves a round (2 rounds
# instead of 3 at 5,000 x 2,000); the certificate itself still asks for reduced costs >= 0
NEAR = SCALE // 50

T = TypeVar("T")


def _row_blocks(inst: AssignmentInstance) -> list[slice]:
    step = max(1, BLOCK // max(inst.n_experts, 1))
    return [slice(i, min(i + step, inst.n_proposals)) for i in range(0, inst.n_proposals, step)]


def _map_blocks(fn: Callable[[slice], T], blocks: list[slice]) -> list[T]:
    """``fn`` over the row blocks, in order, on up to :data:`THREADS` threads."""
    if len(blocks) < 2 or THREADS < 2:
        return [fn(rows) for rows in blocks]
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(fn, blocks))


def _mask_in_block(codes: IntArray, rows: slice, n_e: int, out: np.ndarray) -> None:
    lo, hi = np.searchsorted(codes, [rows.start * n_e, rows.stop * n_e])
    out.reshape(-1)[codes[lo:hi] - rows.start * n_e] = True


def eligible_codes(inst: AssignmentInstance, blocked: IntArray) -> IntArray:
    """Sorted codes of every freely choosable pair (dense instances only)."""
    allc = np.arange(inst.n_proposals * inst.n_experts, dtype=np.int64)
    return _sets.difference(allc, blocked)


def initial_candidates(inst: AssignmentInstance, blocked: IntArray, m: int, r: int) -> IntArray:
    """Top-``m`` eligible experts per proposal and top-``r`` eligible proposals per expert."""
    n_p, n_e = inst.n_proposals, inst.n_experts
    m, r = min(m, n_e), min(r, n_p)

    def best_of_rows(rows: slice) -> IntArray:
        block = np.array(inst.affinity[rows], dtype=np.float32)
        bad = np.zeros(block.shape, dtype=bool)
        _mask_in_block(blocked, rows, n_e, bad)
        block[bad] = -1.0
        top = (
            np.argpartition(-block, m - 1, axis=1)[:, :m]
            if m < n_e
            else np.broadcast_to(np.arange(n_e), block.shape)
        )
        keep = np.take_along_axis(block, top, axis=1) >= 0
        p = np.arange(rows.start, rows.stop, dtype=np.int64)[:, None]
        return (p * n_e + top)[keep].astype(np.int64)

    parts = _map_blocks(best_of_rows, _row_blocks(inst))
    # for capacity: experts with fewer candidate arcs than r also get their r best proposals
    row_cands = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    short = np.nonzero(np.bincount(row_cands % n_e, minlength=n_e) < r)[0]
    if r > 0 and short.size:
        step = max(1, BLOCK // max(n_p, 1))
        bad_p, bad_e = blocked // n_e, blocked % n_e
        for c0 in range(0, short.size, step):
            cols = short[c0 : c0 + step]
            block = np.array(inst.affinity[:, cols], dtype=np.float32)
            where = np.full(n_e, -1)
            where[cols] = np.arange(cols.size)
            sel = where[bad_e] >= 0
            block[bad_p[sel], where[bad_e[sel]]] = -1.0
            top = (
                np.argpartition(-block, r - 1, axis=0)[:r]
                if r < n_p
                else np.broadcast_to(np.arange(n_p)[:, None], block.shape)
            )
            keep = np.take_along_axis(block, top, axis=0) >= 0
            parts.append((top * n_e + cols[None, :])[keep].astype(np.int64))
    return _sets.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def violating_pairs(
    inst: AssignmentInstance,
    spec: FlowSpec,
    sol: NetworkSolution,
    blocked: IntArray,
    per_row: int,
    near: int = 0,
) -> tuple[IntArray, int, int]:
    """Excluded eligible pairs against the certificate: the codes of those with a reduced cost
    below ``near`` (at most ``per_row`` per proposal, most negative first), how many have a
    negative one (violations), and how many excluded eligible pairs were checked.

    A float pre-filter per block keeps only pairs whose weight exceeds a lower bound of
    ``d[entry] - d[e] - bonus - near`` (minus a margin of 2 cost units); their exact integer
    reduced costs are then computed. Every other pair has a reduced cost >= ``near`` by that
    bound.
    """
    n_p, n_e = inst.n_proposals, inst.n_experts
    low = lowest_entry_potential(inst, sol).astype(np.float64) - spec.bonus
    d_e = sol.potential[2 + n_p : 2 + n_p + n_e].astype(np.float64)
    scale = SCALE * (np.ones(n_p) if spec.boost is None else spec.boost)

    def scan(rows: slice) -> tuple[IntArray, int, int]:
        start, stop = rows.start * n_e, rows.stop * n_e
        inside = [np.searchsorted(c, [start, stop]) for c in (blocked, sol.cand)]
        checked = (stop - start) - sum(int(hi - lo) for lo, hi in inside)
        thr = (low[rows, None] - d_e[None, :]) - (near + 2.0)
        maybe = np.asarray(inst.affinity[rows], dtype=np.float64) * scale[rows, None] > thr
        pp, ee = np.nonzero(maybe)
        if pp.size == 0:
            return np.zeros(0, np.int64), 0, checked
        pp = pp.astype(np.int64) + rows.start
        ee = ee.astype(np.int64)
        codes = pp * n_e + ee
        keep = ~(_member(codes, blocked) | _member(codes, sol.cand))
        pp, ee, codes = pp[keep], ee[keep], codes[keep]
        rc = pair_reduced_costs(inst, spec, sol, pp, ee)
        low_rc = rc < near
        pp, codes, rc = pp[low_rc], codes[low_rc], rc[low_rc]
        order = np.lexsort((rc, pp))  # by proposal, most negative first
        pp, codes = pp[order], codes[order]
        first = np.searchsorted(pp, pp)  # index of each proposal's first such pair
        return codes[np.arange(pp.size) - first < per_row], int((rc < 0).sum()), checked

    scanned = _map_blocks(scan, _row_blocks(inst))
    found = [codes for codes, _, _ in scanned]
    violations = sum(v for _, v, _ in scanned)
    checked = sum(n for _, _, n in scanned)
    codes = _sets.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    return codes, violations, checked


def _member(codes: IntArray, sorted_codes: IntArray) -> np.ndarray:
    if sorted_codes.size == 0:
        return np.zeros(codes.size, dtype=bool)
    pos = np.clip(np.searchsorted(sorted_codes, codes), 0, sorted_codes.size - 1)
    hit: np.ndarray = sorted_codes[pos] == codes
    return hit


def solve_filled_first(
    inst: AssignmentInstance, spec: FlowSpec, cand: IntArray, *, with_potentials: bool = True
) -> tuple[NetworkSolution, FlowSpec]:
    """Solve on ``cand`` with every slot filled when the pairs allow it, else with the coverage
    bonus; returns the solution and the formulation it was solved (and is certified) with."""
    if not spec.exact:
        exact = replace(spec, exact=True)
        try:
            return solve_network(inst, exact, cand, with_potentials=with_potentials), exact
        except Uncoverable:
            pass
    return solve_network(inst, spec, cand, with_potentials=with_potentials), spec


def solve_certified(
    inst: AssignmentInstance,
    spec: FlowSpec,
    *,
    candidates: int | None = None,
    dense: bool | None = None,
    max_rounds: int = 30,
    initial: IntArray | None = None,
) -> tuple[NetworkSolution, Certificate]:
    """Solve over all eligible pairs: directly when small (or ``dense=True``), else on a
    candidate set of ``candidates`` experts per proposal (or ``initial`` codes), certified and
    grown until optimal."""
    blocked = inst.blocked_codes()
    n_pairs = inst.n_proposals * inst.n_experts - blocked.size
    if dense or (dense is None and n_pairs <= DENSE_LIMIT):
        sol, _ = solve_filled_first(inst, spec, eligible_codes(inst, blocked))
        return sol, Certificate("dense", int(sol.cand.size), 0, 0, 1)
    k_max = int(inst.free_demand.max(initial=0))
    # about 5 experts per slot: with the exact formulation a larger first set costs little per
    # solve and saves certification rounds
    m = candidates if candidates is not None else max(5 * k_max, k_max + 13)
    r = int(min(inst.free_capacity.max(initial=0), inst.n_proposals)) * 2
    cand = initial_candidates(inst, blocked, m, r) if initial is None else initial
    for rounds in range(1, max_rounds + 1):
        # once every slot is filled on the candidates, so it is on any superset of them
        sol, spec = solve_filled_first(inst, spec, cand)
        near, violations, checked = violating_pairs(
            inst, spec, sol, blocked, per_row=max(m, 4), near=NEAR
        )
        if violations == 0:
            return sol, Certificate("reduced-costs", int(cand.size), checked, 0, rounds)
        cand = _sets.union(cand, near)
    sol, _ = solve_filled_first(inst, spec, eligible_codes(inst, blocked))
    return sol, Certificate("dense", int(sol.cand.size), 0, 0, max_rounds + 1)
