"""``fair``: cover as many slots as possible, raise the lowest panel total, then the total.

Stage 0: the ``max-total`` flow gives the maximum coverage F, a feasible floor and a hint.
Upper bound: every proposal's panel total is at most its fixed pairs plus its best
``free_demand`` eligible affinities (scanned over the full (P, E) matrix); the floor is at most
the lowest of these. When the max-total solution already reaches the bound it is optimal for
both stages. Otherwise max-total flows with the weights of the proposals below the bound raised
(boosting, every slot filled where the candidates allow) look for a solution that reaches it;
when one does and its total is within ``gap_tolerance`` of the max-total optimum, it is kept
with no CP-SAT model built. Otherwise CP-SAT (integer weights, affinity × SCALE) solves
``max z  s.t.  z <= panel_total[p]`` for every proposal with demand, coverage exactly F and the load
bounds, over the candidate pairs (the m best eligible experts of each proposal and the max-total
pairs), then maximises the total subject to ``z >= z*``. The floor is exact over the candidate set
when stage 1 ends OPTIMAL, and proven over the full matrix when it equals the upper bound or
the floor of its LP relaxation over every eligible pair (:mod:`assignment.solvers.fair_bound`,
column generation priced over the whole matrix), or when CP-SAT is optimal over a candidate set
that holds every pair able to raise the floor (reduced-cost fixing against that LP). Pairs found
by either pass join the candidates and stage 1 runs again (at most three times), so a candidate
set too small for the true floor is caught rather than reported as optimal; ``floor_status``
says which proof holds. The total under the floor is certified the same way
(:mod:`assignment.solvers.fair_total`: the dual bound of stage 2's LP priced over every pair,
then reduced-cost fixing, pairs that could improve it added and stage 2 solved again);
``total_status`` says which proof holds.

Panel totals, the floor and the total count a new potential-conflict pair at its affinity minus
the instance's ``potential_penalty`` (as max-total does), so that the fair mode, too, uses such a
pair only where the coverage or a much higher floor needs it; fixed pairs count at their affinity.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from assignment import _sets
from assignment.instance import AssignmentInstance, IntArray
from assignment.result import Certificate
from assignment.solvers._columns import best_in_block, lowest_per, map_blocks
from assignment.solvers._network import (
    SCALE,
    FlowSpec,
    NetworkSolution,
    pair_reduced_costs,
    weights,
)
from assignment.solvers._sparse import (
    _in_block,
    _row_blocks,
    best_in_rows,
    formulation,
    solve_certified,
    solve_filled_first,
)
from assignment.solvers.fair_bound import could_raise, floor_bound
from assignment.solvers.fair_total import could_improve, total_bound
from assignment.solvers.max_total import flow_spec

AT_BOUND = "proven: equals the upper bound"  # floor_status when the floor reaches its bound
# the boosted flows' first pairs: priced within 0.01 of affinity of the max-total optimum
BOOST_NEAR = SCALE // 100


def _pair_w(inst: AssignmentInstance, spec: FlowSpec, pairs: IntArray) -> IntArray:
    """(n,) int64 weights of (n, 2) index pairs, potential-conflict pairs penalised."""
    p, e = pairs[:, 0], pairs[:, 1]
    return spec.pair_weights(inst.affinity[p, e], p, p * inst.n_experts + e)


def _top_sums(
    inst: AssignmentInstance, spec: FlowSpec, blocked: IntArray, count: IntArray
) -> IntArray:
    """(P,) int64 sum of each proposal's ``count[p]`` best weights, a blocked pair counting 0
    and a potential-conflict pair its penalised weight. Each row's best ``max(count)``
    unpenalised eligible pairs are picked by affinity in the matrix's own dtype (the weight
    is a non-decreasing function of it) on :data:`._columns.THREADS` threads, then compete
    with the row's penalised pairs and zeros for its blocked ones."""
    n_p, n_e = inst.n_proposals, inst.n_experts
    out = np.zeros(n_p, np.int64)
    kmax = int(min(count.max(initial=0), n_e))
    if kmax == 0:
        return out
    penalised = spec.penalised if spec.penalty and spec.penalised is not None else blocked[:0]

    def best(rows: slice) -> IntArray:
        block = np.array(inst.affinity[rows])  # a copy, masked: affinities are >= 0
        for skipped in (blocked, penalised):
            block.reshape(-1)[_in_block(skipped, rows.start * n_e, rows.stop * n_e)] = -1
        i, e = best_in_block(block, kmax)
        codes: IntArray = (i + rows.start) * n_e + e
        return codes

    parts = map_blocks(best, _row_blocks(inst))
    codes = np.concatenate([*parts, _sets.difference(penalised, blocked)])
    p = codes // n_e
    w = spec.pair_weights(inst.affinity[p, codes % n_e], p, codes)
    n_blocked = np.minimum(np.bincount(blocked // n_e, minlength=n_p), kmax)
    zeros = np.repeat(np.arange(n_p, dtype=np.int64), n_blocked)
    p = np.concatenate([p, zeros])
    w = np.concatenate([w, np.zeros(zeros.size, np.int64)])
    take = lowest_per(np.arange(p.size), -w, p, count)
    np.add.at(out, p[take], w[take])
    return out


def _pairs_of(sol: NetworkSolution, n_e: int) -> IntArray:
    chosen = sol.cand[sol.flow > 0]
    return np.stack([chosen // n_e, chosen % n_e], axis=1).astype(np.int64)


def _boosted(
    inst: AssignmentInstance,
    target: int,
    fixed_w: IntArray,
    scope: IntArray,
    base_sol: NetworkSolution,
    rounds: int,
) -> tuple[IntArray, int]:
    """Lagrangian-style boosting: raise the weights of proposals below ``target`` until every
    proposal reaches it (or ``rounds`` run out), each time solving a max-total flow. Returns the
    best pairs found and their floor.

    The flows first run on the pairs priced within :data:`BOOST_NEAR` of entering the certified
    max-total optimum ``base_sol`` (their reduced costs), its pairs and every pair of a boosted
    proposal: what a few proposals' higher weights can draw into the solution runs through
    such pairs (at 20,000 x 15,000, 196,000 of the 1.18 M candidates, and the same total).
    Only when those rounds fall short of ``target`` do they run again on every candidate."""
    n_p, n_e = inst.n_proposals, inst.n_experts
    plain = flow_spec(inst)
    cand = base_sol.cand
    cp = cand // n_e
    priced = pair_reduced_costs(inst, formulation(plain, base_sol), base_sol, cp, cand % n_e)
    near = (priced <= BOOST_NEAR) | (base_sol.flow > 0)
    best, best_floor = _pairs_of(base_sol, n_e), -1
    for restrict in (True, False):
        boost = np.ones(n_p)
        pairs = _pairs_of(base_sol, n_e)
        for _ in range(rounds):
            w = _pair_w(inst, plain, pairs)
            totals = fixed_w + np.bincount(pairs[:, 0], weights=w, minlength=n_p).astype(np.int64)
            floor = int(totals[scope].min())
            if floor > best_floor:
                best, best_floor = pairs, floor
            if floor >= target:
                return best, best_floor
            low = scope[totals[scope] < target]
            boost[low] = (boost[low] + 0.25) * 1.5
            # a hint needs no certificate (no potentials); the pairs hold a maximum-coverage
            # solution, so coverage stays maximal; every slot filled when it can be (the
            # smaller cost range solves faster)
            pool = cand[near | (boost[cp] > 1)] if restrict else cand
            sol, _ = solve_filled_first(inst, replace(plain, boost=boost), pool,
                                        with_potentials=False)
            pairs = _pairs_of(sol, n_e)
    return best, best_floor


class _Stage:
    """The CP-SAT model of the fair stages over one candidate set (codes ``cand``)."""

    def __init__(self, inst: AssignmentInstance, spec: FlowSpec, cand: IntArray,
                 hint_codes: IntArray, n_new: int, workers: int) -> None:
        from ortools.sat.python import cp_model  # about a second at start-up: only here

        n_p, n_e = inst.n_proposals, inst.n_experts
        self.cp_model = cp_model
        self.cand, self.cp, self.ce = cand, cand // n_e, cand % n_e
        self.w = spec.pair_weights(inst.affinity[self.cp, self.ce], self.cp, cand)
        model = cp_model.CpModel()
        self.x = x = [model.new_bool_var(f"x{i}") for i in range(cand.size)]
        self.in_hint = np.isin(cand, hint_codes)
        for var, h in zip(x, self.in_hint.tolist(), strict=True):
            model.add_hint(var, h)
        self.by_p = np.split(np.arange(cand.size), np.searchsorted(self.cp, np.arange(1, n_p)))
        order_e = np.argsort(self.ce, kind="stable")
        by_e = np.split(order_e, np.searchsorted(self.ce[order_e], np.arange(1, n_e)))
        for p, idx in enumerate(self.by_p):
            if idx.size:
                model.add(sum(x[i] for i in idx) <= int(inst.free_demand[p]))
        for e, idx in enumerate(by_e):
            if idx.size:
                load = sum(x[i] for i in idx)
                model.add(load <= int(inst.free_capacity[e]))
                if inst.free_min_load[e]:
                    model.add(load >= int(inst.free_min_load[e]))
        model.add(sum(x) == n_new)
        self.model = model
        self.solver = cp_model.CpSolver()
        self.solver.parameters.num_workers = workers
        self.status_name = ""
        self.total_status = ""  # stage 2's CP-SAT status, once it ran

    def _panel(self, p: int, fixed_w: IntArray) -> Any:
        idx = self.by_p[p]
        return int(fixed_w[p]) + self.cp_model.LinearExpr.weighted_sum(
            [self.x[i] for i in idx], self.w[idx].tolist())

    def codes_of(self, chosen: np.ndarray) -> IntArray:
        return np.asarray(self.cand[chosen], dtype=np.int64)

    def raise_floor(self, fixed_w: IntArray, scope: IntArray, lo: int, hi: int,
                    seconds: float) -> tuple[str, int, np.ndarray]:
        """Stage 1: maximise the floor; ("optimal" | "feasible" | "failed", floor, chosen)."""
        cp_model = self.cp_model
        z = self.model.new_int_var(lo, hi, "floor")
        for p in scope.tolist():
            self.model.add(z <= self._panel(p, fixed_w))
        self.model.maximize(z)
        self.solver.parameters.max_time_in_seconds = seconds
        status = self.solver.solve(self.model)
        self.status_name = self.solver.status_name(status)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return "failed", lo, self.in_hint
        floor = int(self.solver.value(z))
        chosen = np.array([self.solver.boolean_value(v) for v in self.x], dtype=bool)
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        for var, h in zip(self.x, chosen.tolist(), strict=True):
            self.model.add_hint(var, h)
        self.model.add(z >= floor)
        return ("optimal" if status == cp_model.OPTIMAL else "feasible"), floor, chosen

    def require_floor(self, fixed_w: IntArray, scope: IntArray, floor: int) -> np.ndarray:
        for p in scope.tolist():
            self.model.add(self._panel(p, fixed_w) >= floor)
        return self.in_hint

    def maximise_total(self, chosen: np.ndarray, seconds: float) -> np.ndarray:
        """Stage 2: the most total weight with the floor kept; ``chosen`` when CP-SAT finds
        nothing (it is feasible: stage 1's solution)."""
        cp_model = self.cp_model
        self.model.maximize(cp_model.LinearExpr.weighted_sum(self.x, self.w.tolist()))
        self.solver.parameters.max_time_in_seconds = seconds
        status = self.solver.solve(self.model)
        self.total_status = self.solver.status_name(status)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return chosen
        return np.array([self.solver.boolean_value(v) for v in self.x], dtype=bool)


def solve_fair(
    inst: AssignmentInstance,
    *,
    candidates: int | None = None,
    time_limit: float = 60.0,
    workers: int = 2,
    boost_rounds: int = 8,
    gap_tolerance: float = 1e-4,
    certify: bool = True,
) -> tuple[IntArray, Certificate, dict[str, Any]]:
    """New (n, 2) pairs, the max-total certificate (coverage) and the floor's details.

    ``certify`` False skips the full-matrix certificates of the floor and of the total (both
    are then exact over the candidate pairs only; ``benchmarks/fair_certificate.py`` measures
    what that costs). With it, ``details`` holds ``floor_certificate`` and ``total_certificate``
    (method, candidate and checked pairs, violations, rounds, value, bound, optimal: the keys of
    max-total's certificate plus the proven bound), and ``total_status``.

    Stage 2 (total under the floor) stops when within ``gap_tolerance`` (relative) of the
    max-total optimum, an upper bound for it, or of its own full-matrix bound; CP-SAT gets
    ``time_limit / 2`` per stage.
    """
    base_sol, cert = solve_certified(inst, flow_spec(inst), candidates=candidates)
    base = _pairs_of(base_sol, inst.n_experts)
    n_p, n_e = inst.n_proposals, inst.n_experts
    fixed = inst.fixed_pairs()
    fixed_w = np.bincount(
        fixed[:, 0], weights=weights(inst.affinity[fixed[:, 0], fixed[:, 1]]), minlength=n_p
    ).astype(np.int64)
    scope = np.nonzero(inst.demand > 0)[0]
    if scope.size == 0:
        return base, cert, {"floor_status": "no proposal has open slots"}
    blocked = inst.blocked_codes()
    spec = flow_spec(inst)
    bound = int((fixed_w + _top_sums(inst, spec, blocked, inst.free_demand))[scope].min())
    base_w = _pair_w(inst, spec, base)
    totals = fixed_w + np.bincount(base[:, 0], weights=base_w, minlength=n_p).astype(np.int64)
    floor0 = int(totals[scope].min())
    details: dict[str, Any] = {
        "floor_upper_bound": bound / SCALE,
        "floor_max_total": floor0 / SCALE,
    }
    n_new = int(base.shape[0])
    n_eligible = n_p * n_e - int(blocked.size)
    upper = int(base_w.sum())  # the max-total optimum: certified over the full matrix
    if floor0 >= bound:
        details.update(floor_status=AT_BOUND, stage2_status="OPTIMAL")
        if certify:
            details["floor_certificate"] = _upper_bound_certificate(bound, n_eligible)
            details["total_certificate"] = _max_total_certificate(cert, upper, upper)
            details["total_status"] = "proven over the full matrix: equals the max-total optimum"
        return base, cert, details
    hint, hint_floor = _boosted(inst, bound, fixed_w, scope, base_sol, boost_rounds)
    details["floor_boosted"] = hint_floor / SCALE
    hint_total = int(_pair_w(inst, spec, hint).sum())
    if hint_floor >= bound and upper - hint_total <= gap_tolerance * abs(upper):
        # the boosted flow reached the floor's upper bound, and its total is within tolerance
        # of the max-total optimum, which bounds it: neither stage has anything to search for
        details.update(floor_status=AT_BOUND,
                       stage2_status=f"within {gap_tolerance:g} of the max-total bound",
                       total_gap_to_max_total=(upper - hint_total) / SCALE)
        if certify:
            details["floor_certificate"] = _upper_bound_certificate(bound, n_eligible)
            details["total_certificate"], details["total_status"] = _within_max_total(
                cert, hint_total, upper, 1)
        return hint, cert, details

    m = candidates if candidates is not None else 2 * int(inst.free_demand.max()) + 4
    base_codes = base_sol.cand[base_sol.flow > 0]
    cand = np.union1d(best_in_rows(inst, blocked, m), base_codes)
    cand = np.union1d(cand, hint[:, 0] * n_e + hint[:, 1])
    hint_codes = hint[:, 0] * n_e + hint[:, 1]
    floor = hint_floor
    floor_cert: dict[str, Any] = {}
    for attempt in range(1, 4):
        stage = _Stage(inst, spec, cand, hint_codes, n_new, workers)
        if hint_floor >= bound:
            details["floor_status"] = AT_BOUND
            floor_cert = _upper_bound_certificate(bound, n_eligible)
            chosen = stage.require_floor(fixed_w, scope, floor)
            break
        status, floor, chosen = stage.raise_floor(
            fixed_w, scope, max(floor0, hint_floor), bound, time_limit / 2)
        if status == "failed":
            details.update(floor_status=f"CP-SAT {stage.status_name}; boosted kept")
            if certify:  # reported, not proven: the boosted floor against its upper bound
                details["floor_certificate"] = {
                    "method": "none (CP-SAT found no solution in time)",
                    "candidate_pairs": int(cand.size), "checked_pairs": 0, "violations": -1,
                    "rounds": attempt, "value": hint_floor / SCALE, "bound": bound / SCALE,
                    "optimal": False}
            return hint, cert, details
        if floor >= bound:
            details["floor_status"] = AT_BOUND
            floor_cert = _upper_bound_certificate(bound, n_eligible)
            break
        if status != "optimal":
            details["floor_status"] = f"best found in {time_limit / 2:.0f} s (not proven)"
            break
        if not certify:
            details["floor_status"] = "optimal over the candidate pairs (not certified)"
            break
        # optimal over the candidates: can a pair outside them raise the floor?
        lp = floor_bound(inst, spec, cand, fixed_w, scope, n_new)
        lp_floor = int(np.floor(lp.bound + 1e-6)) if np.isfinite(lp.bound) else None
        details["floor_lp_bound"] = None if lp_floor is None else lp.bound / SCALE
        details["floor_certificate_rounds"] = attempt
        lp_cand = lp.cand if lp.cand is not None else cand
        floor_cert = {
            "method": "lp-pricing", "candidate_pairs": int(cand.size),
            "checked_pairs": n_eligible - int(lp_cand.size), "violations": 0,
            "rounds": attempt, "lp_rounds": lp.rounds, "value": floor / SCALE,
            "bound": lp.bound / SCALE if lp_floor is not None else None, "optimal": False,
        }
        if lp_floor is not None and floor >= lp_floor:
            details["floor_status"] = "proven over the full matrix: equals its LP bound"
            floor_cert["optimal"] = True
            break
        extra = could_raise(inst, spec, lp, floor, limit=max(20 * n_p, 1000))
        missing = np.setdiff1d(np.union1d(lp.added, extra if extra is not None else []), cand)
        floor_cert["violations"] = int(missing.size) if extra is not None else -1
        if extra is not None and missing.size == 0:
            details["floor_status"] = ("proven over the full matrix: optimal over every pair "
                                       "that could raise it (reduced-cost fixing)")
            floor_cert.update(method="reduced-cost fixing", optimal=True)
            break
        if attempt == 3 or missing.size == 0:
            details["floor_status"] = (
                "optimal over the candidate pairs; the full-matrix LP bound is "
                f"{lp.bound / SCALE:.6f}" if lp_floor is not None
                else f"optimal over the candidate pairs; full-matrix bound: {lp.status}")
            break
        # pairs the candidates lacked could raise the floor: search again with them
        details["floor_pairs_added"] = details.get("floor_pairs_added", 0) + int(missing.size)
        hint_codes = stage.codes_of(chosen)
        cand = np.union1d(cand, missing.astype(np.int64))
    if floor_cert:
        details["floor_certificate"] = floor_cert
    # the max-total optimum bounds the total from above: skip stage 2 when already close
    current = int(stage.w[chosen].sum())
    details["total_gap_to_max_total"] = (upper - current) / SCALE
    deadline = time.perf_counter() + time_limit / 2  # for every stage-2 solve together
    if upper - current <= gap_tolerance * abs(upper):
        details["stage2_status"] = f"within {gap_tolerance:g} of the max-total bound"
    else:
        chosen = stage.maximise_total(chosen, time_limit / 2)
        details["stage2_status"] = stage.total_status
        details["total_gap_to_max_total"] = (upper - int(stage.w[chosen].sum())) / SCALE
    if certify:
        stage, chosen = _certify_total(
            inst, spec, stage, chosen, cand, base_codes, fixed_w, scope, n_new, floor,
            upper, cert, details, gap_tolerance, deadline, workers)
    pairs = np.stack([stage.cp[chosen], stage.ce[chosen]], axis=1).astype(np.int64)
    return pairs, cert, details


def _upper_bound_certificate(bound: int, n_eligible: int) -> dict[str, Any]:
    """The floor reached the per-proposal upper bound, scanned over every eligible pair."""
    return {"method": "upper bound", "candidate_pairs": 0, "checked_pairs": n_eligible,
            "violations": 0, "rounds": 1, "value": bound / SCALE, "bound": bound / SCALE,
            "optimal": True}


def _max_total_certificate(cert: Certificate, total: int, upper: int) -> dict[str, Any]:
    """The total equals the max-total optimum, which bounds it: max-total's certificate."""
    return {**cert.to_json_dict(), "method": f"max-total bound ({cert.method})",
            "value": total / SCALE, "bound": upper / SCALE, "gap": (upper - total) / SCALE,
            "optimal": cert.violations == 0 and total >= upper}


def _within_max_total(
    cert: Certificate, total: int, upper: int, rounds: int
) -> tuple[dict[str, Any], str]:
    """The total's certificate and status against the max-total optimum ``upper`` alone."""
    out = {**_max_total_certificate(cert, total, upper), "rounds": rounds}
    if total >= upper:
        return out, "proven over the full matrix: equals the max-total optimum"
    return out, (f"within {(upper - total) / SCALE:.6f} of the max-total optimum, which bounds "
                 "it (not proven optimal)")


def _certify_total(
    inst: AssignmentInstance, spec: FlowSpec, stage: _Stage, chosen: np.ndarray,
    cand: IntArray, base_codes: IntArray, fixed_w: IntArray, scope: IntArray, n_new: int,
    floor: int, upper: int, cert: Certificate, details: dict[str, Any], gap_tolerance: float,
    deadline: float, workers: int,
) -> tuple[_Stage, np.ndarray]:
    """Stage 2 over the full matrix (:mod:`assignment.solvers.fair_total`): the dual bound of
    its LP priced over every eligible pair, then reduced-cost fixing. When CP-SAT proved its
    total optimal over the candidates but pairs outside them could improve it, they join and
    stage 2 runs again (at most twice more, within stage 2's time, ``deadline``); a total that
    CP-SAT did not prove optimal, or one within ``gap_tolerance`` of the bound, is reported
    with its gap. Records ``total_certificate`` and ``total_status`` in ``details``; returns
    the final stage and choice."""
    out: dict[str, Any] = {}
    status = ""
    for attempt in range(1, 4):
        total = int(stage.w[chosen].sum())
        if total >= upper or stage.total_status == "":
            # stage 2 did not run when within gap_tolerance of the certified max-total
            # optimum: that bound and its gap are the certificate (pricing the LP over a large
            # matrix costs far more than the stage it would certify)
            out, status = _within_max_total(cert, total, upper, attempt)
            break
        tb = total_bound(inst, spec, np.union1d(stage.codes_of(chosen), base_codes), fixed_w,
                         scope, n_new, floor)
        finite = bool(np.isfinite(tb.bound))
        # integer weights: no total exceeds the bound's floor (a tiny margin for rounding)
        bound_int = int(np.floor(tb.bound + 1e-9 * abs(tb.bound) + 1e-6)) if finite else None
        out = {"method": "lp-pricing", "candidate_pairs": int(cand.size),
               "checked_pairs": tb.checked, "violations": 0, "rounds": attempt,
               "lp_rounds": tb.rounds, "lp_pairs": int(tb.cand.size), "value": total / SCALE,
               "bound": tb.bound / SCALE if finite else None,
               "gap": (tb.bound - total) / SCALE if finite else None, "optimal": False}
        if bound_int is None:
            status = f"not certified: {tb.status}"
            break
        if total >= bound_int:
            out["optimal"] = True
            status = "proven over the full matrix: equals its LP's dual bound"
            break
        extra = could_improve(inst, spec, tb, total, limit=max(20 * inst.n_proposals, 1000))
        missing = np.setdiff1d(np.union1d(tb.cand, extra if extra is not None else []), cand)
        out["violations"] = int(missing.size) if extra is not None else -1
        if extra is not None and missing.size == 0 and stage.total_status == "OPTIMAL":
            out.update(method="reduced-cost fixing", optimal=True)
            status = ("proven over the full matrix: optimal over every pair that could "
                      "improve it (reduced-cost fixing)")
            break
        within = bound_int - total <= gap_tolerance * abs(bound_int)
        seconds = deadline - time.perf_counter()
        if (attempt == 3 or within or extra is None or missing.size == 0 or seconds < 1
                or stage.total_status not in ("OPTIMAL", "")):
            status = (f"within {(bound_int - total) / SCALE:.6f} of the full-matrix bound "
                      f"{tb.bound / SCALE:.6f} (not proven optimal)")
            break
        # search again with the pairs that could improve the total
        details["total_pairs_added"] = details.get("total_pairs_added", 0) + int(missing.size)
        cand = np.union1d(cand, missing.astype(np.int64))
        hint = stage.codes_of(chosen)
        stage = _Stage(inst, spec, cand, hint, n_new, workers)
        stage.require_floor(fixed_w, scope, floor)
        chosen = stage.maximise_total(stage.in_hint, seconds)
        details["stage2_status"] = stage.total_status
    details["total_certificate"] = out
    details["total_status"] = status
    details["total_gap_to_max_total"] = (upper - int(stage.w[chosen].sum())) / SCALE
    return stage, chosen
