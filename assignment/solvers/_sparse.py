"""Candidate sets and the optimality certificate against the full (P, E) affinity matrix.

Every solve first tries the exact formulation (every slot filled, see :mod:`._network`); when the
candidates cannot fill every slot they are first grown until they can (a maximum flow's minimum
cut, :mod:`._cover`), and only when no set of eligible pairs can does it fall back to the
coverage bonus. Filling every slot is the most coverage there is, so either way the first stage
(coverage) is optimal.

At large sizes the flow is solved on a candidate set: the ``m`` best eligible experts of every
proposal plus, for capacity, the ``r`` best proposals of every expert. The solution is then
certified on every eligible pair left out (reduced cost from the node potentials >= 0, one
vectorised pass over the matrix, :func:`scan_reduced_costs`); when some pair violates it, the
pairs the duals price best (per proposal and per expert, violating or nearly so) are added and
the flow re-solved, until none does.
Matrices are scanned in row blocks of about ``BLOCK`` cells to bound memory, two blocks at a
time (numpy releases the GIL in these array operations, so two threads use two cores; each
expert's best proposals are read in row slabs too, see :mod:`._columns`).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from assignment import _sets
from assignment.instance import AssignmentInstance, IntArray
from assignment.result import Certificate
from assignment.solvers._columns import best_in_block, best_in_columns, lowest_per, map_blocks
from assignment.solvers._cover import cover_candidates
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
# when a round finds violations, the pairs whose reduced cost is below NEAR (0.1 of affinity)
# join the candidates, the PER_ROW lowest of each proposal and the PER_COL lowest of each expert:
# the duals move when pairs are added, and pairs priced just above 0 are the ones the next flow
# takes. Measured on the shapes of benchmarks/call_shapes.py (5,000 x 2,000): 0.02 and 8 / 4
# left 3-4 rounds on half the shapes, 0.1 and 16 / 12 two rounds on all (the tight-load ones
# since the first set is grown to fill every slot, see ._cover).
# The certificate itself still asks for reduced costs >= 0.
NEAR = SCALE // 10
PER_ROW = 16
PER_COL = 12


def _row_blocks(inst: AssignmentInstance) -> list[slice]:
    step = max(1, BLOCK // max(inst.n_experts, 1))
    return [slice(i, min(i + step, inst.n_proposals)) for i in range(0, inst.n_proposals, step)]


def _mask_in_block(codes: IntArray, rows: slice, n_e: int, out: np.ndarray) -> None:
    lo, hi = np.searchsorted(codes, [rows.start * n_e, rows.stop * n_e])
    out.reshape(-1)[codes[lo:hi] - rows.start * n_e] = True


def eligible_codes(inst: AssignmentInstance, blocked: IntArray) -> IntArray:
    """Sorted codes of every freely choosable pair (dense instances only)."""
    allc = np.arange(inst.n_proposals * inst.n_experts, dtype=np.int64)
    return _sets.difference(allc, blocked)


def best_in_rows(inst: AssignmentInstance, blocked: IntArray, m: int) -> IntArray:
    """Sorted codes of the ``m`` best eligible pairs of every proposal (``blocked``: the sorted
    codes of the pairs that are not eligible)."""
    n_e = inst.n_experts

    def best_of_rows(rows: slice) -> IntArray:
        block = np.array(inst.affinity[rows], dtype=np.float32)
        block.reshape(-1)[_in_block(blocked, rows.start * n_e, rows.stop * n_e)] = -1.0
        i, e = best_in_block(block, m)
        codes: IntArray = (i + rows.start) * n_e + e
        return codes

    parts = map_blocks(best_of_rows, _row_blocks(inst))
    return _sets.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def initial_candidates(inst: AssignmentInstance, blocked: IntArray, m: int, r: int) -> IntArray:
    """Top-``m`` eligible experts per proposal and top-``r`` eligible proposals per expert."""
    n_e = inst.n_experts
    r = min(r, inst.n_proposals)
    row_cands = best_in_rows(inst, blocked, m)
    # for capacity: experts with fewer candidate arcs than r also get their r best proposals
    short = np.nonzero(np.bincount(row_cands % n_e, minlength=n_e) < r)[0]
    if r > 0 and short.size:
        return _sets.union(row_cands, best_in_columns(inst, short, r, masked=(blocked,)))
    return row_cands


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

    scanned = map_blocks(scan, _row_blocks(inst))
    found = [codes for codes, _, _ in scanned]
    violations = sum(v for _, v, _ in scanned)
    checked = sum(n for _, _, n in scanned)
    codes = _sets.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    return codes, violations, checked


EXACT_FLOAT = 2**52  # integers up to this are exact in float64, sums of two of them too


def _in_block(codes: IntArray, start: int, stop: int) -> IntArray:
    """Offsets from ``start`` of the sorted ``codes`` in [start, stop) (one contiguous slice)."""
    lo, hi = np.searchsorted(codes, [start, stop])
    out: IntArray = codes[lo:hi] - start
    return out


def scan_reduced_costs(
    inst: AssignmentInstance,
    spec: FlowSpec,
    sol: NetworkSolution,
    blocked: IntArray,
    per_row: int,
    per_col: int,
    near: int,
) -> tuple[IntArray, int, int]:
    """The certificate's full-matrix pass, for a network without diversity gadgets.

    Each row block of the (P, E) affinity matrix is read once into one float64 working buffer,
    which becomes the exact integer reduced cost ``-(bonus + w[p, e]) + d[p] - d[e]`` of every
    pair in place (weights and potentials are integers below 2**52, exact in float64; the
    penalty of potential-conflict pairs is added at their offsets); blocked pairs and the
    candidates are set to +inf. Returns, as :func:`violating_pairs`, how many reduced costs are
    negative (violations), how many pairs were checked, and the pairs to add when there are
    violations: the pairs the duals price as worth having, per proposal its ``per_row`` and
    per expert its ``per_col`` lowest reduced costs below ``near``.
    """
    n_p, n_e = inst.n_proposals, inst.n_experts
    d_p = sol.potential[2 : 2 + n_p].astype(np.float64) - spec.bonus
    d_e = sol.potential[2 + n_p : 2 + n_p + n_e].astype(np.float64)
    penalised = spec.penalised if spec.penalty and spec.penalised is not None else None

    def scan(rows: slice) -> tuple[IntArray, IntArray, np.ndarray, int, int]:
        start, stop = rows.start * n_e, rows.stop * n_e
        block = inst.affinity[rows]
        if spec.boost is None:
            rc = np.multiply(block, SCALE, dtype=np.float64)  # the block's one working buffer
        else:
            rc = np.multiply(block, spec.boost[rows, None], dtype=np.float64)
            rc *= SCALE
        np.rint(rc, out=rc)
        np.subtract(d_p[rows, None], rc, out=rc)
        rc -= d_e[None, :]
        flat = rc.reshape(-1)
        if penalised is not None:
            flat[_in_block(penalised, start, stop)] += spec.penalty
        masked = 0
        for codes in (blocked, sol.cand):
            at = _in_block(codes, start, stop)
            flat[at] = np.inf
            masked += at.size
        violations = int(np.count_nonzero(flat < 0))
        checked = (stop - start) - masked
        if violations == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), 0, checked
        hits = np.flatnonzero(flat < near)
        vals = flat[hits]
        limit = 4 * (per_row + per_col) * (rows.stop - rows.start)
        if hits.size > limit:  # near-uniform costs: keep the block's lowest ones only
            keep = vals <= np.partition(vals, limit)[limit]
            hits, vals = hits[keep], vals[keep]
        codes = hits.astype(np.int64) + start
        # each proposal's lowest: its pairs all lie in this block
        return lowest_per(codes, vals, codes // n_e, per_row), codes, vals, violations, checked

    scanned = map_blocks(scan, _row_blocks(inst))
    violations = sum(s[3] for s in scanned)
    checked = sum(s[4] for s in scanned)
    if violations == 0:
        return np.zeros(0, np.int64), 0, checked
    codes = np.concatenate([s[1] for s in scanned])
    vals = np.concatenate([s[2] for s in scanned])
    picks = [*(s[0] for s in scanned), lowest_per(codes, vals, codes % n_e, per_col)]
    return _sets.unique(np.concatenate(picks)), violations, checked


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


def formulation(spec: FlowSpec, sol: NetworkSolution) -> FlowSpec:
    """The formulation ``sol`` was solved (and certified) with by :func:`solve_filled_first`
    or :func:`solve_certified` from ``spec``: every slot filled when its flow fills them all
    (the filled formulation is tried first, and fails only when they cannot all be)."""
    return replace(spec, exact=spec.exact or int(sol.flow.sum()) == int(spec.demand.sum()))


def _solve_covering(
    inst: AssignmentInstance, spec: FlowSpec, blocked: IntArray, cand: IntArray
) -> tuple[NetworkSolution, FlowSpec, IntArray, bool]:
    """As :func:`solve_filled_first`, but when the candidates cannot fill every slot they are
    first grown so that they can (:func:`._cover.cover_candidates`). Returns the solution, its
    formulation, the candidates and whether filling every slot was proven impossible."""
    exact = replace(spec, exact=True)
    try:
        return solve_network(inst, exact, cand), exact, cand, False
    except Uncoverable:
        pass
    cand, impossible = cover_candidates(inst, exact, blocked, cand, PER_ROW)
    if impossible:
        return solve_network(inst, spec, cand), spec, cand, True
    sol, used = solve_filled_first(inst, spec, cand)
    return sol, used, cand, False


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
    scan = 0.0
    impossible = False  # proven: no eligible pairs fill every slot and meet every minimum load
    for rounds in range(1, max_rounds + 1):
        # once every slot is filled on the candidates, so it is on any superset of them
        if spec.exact or impossible:
            sol = solve_network(inst, spec, cand)
        else:
            sol, spec, cand, impossible = _solve_covering(inst, spec, blocked, cand)
        t = time.perf_counter()
        if spec.levels or int(np.abs(sol.potential).max(initial=0)) + spec.bonus >= EXACT_FLOAT:
            near, violations, checked = violating_pairs(
                inst, spec, sol, blocked, per_row=max(m, 4), near=NEAR
            )
        else:
            near, violations, checked = scan_reduced_costs(
                inst, spec, sol, blocked, per_row=PER_ROW, per_col=PER_COL, near=NEAR
            )
        scan += time.perf_counter() - t
        if violations == 0:
            return sol, Certificate("reduced-costs", int(cand.size), checked, 0, rounds, scan)
        cand = _sets.union(cand, near)
    sol, _ = solve_filled_first(inst, spec, eligible_codes(inst, blocked))
    return sol, Certificate("dense", int(sol.cand.size), 0, 0, max_rounds + 1)
