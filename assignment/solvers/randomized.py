"""``randomized``: maximise expected affinity with every pair's probability capped at q.

The LP of Jecmen et al. (2020) is a fractional flow; with ``S`` the denominator of q, scaling
demands and loads by S and capping each pair at ``q·S`` makes it an integral min-cost flow whose
optimum divided by S is the LP optimum (coverage first, as in max-total; certified the same way).
An assignment is then sampled by dependent rounding so that each pair is chosen with exactly its
LP probability. Returns the sampled new (n, 2) pairs and the marginals as (n,) pair codes with
probabilities.

The LP reports its own optimality gap (``details["lp_gap"]``): the flow's primal cost against
the dual value of its node potentials ``d``, ``−Σ supply[v]·d[v] − Σ_arcs cap·max(0, −rc)``,
which bounds every flow's cost from below (weak duality), on the candidate network; the
certificate's scan of every eligible pair left out (no negative reduced cost) extends that bound
to the full matrix. Both are exact integers in the flow's cost units, so the gap is exact.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from assignment.instance import AssignmentInstance, IntArray
from assignment.result import Certificate
from assignment.solvers._network import SCALE, FlowSpec, NetworkSolution, pair_reduced_costs
from assignment.solvers._sparse import formulation, solve_certified
from assignment.solvers.max_total import Chain, flow_spec
from assignment.solvers.rounding import dependent_round


def solve_randomized(
    inst: AssignmentInstance,
    *,
    q: float,
    seed: int,
    diversity: Chain = (),
    candidates: int | None = None,
) -> tuple[IntArray, Certificate, dict[str, Any], tuple[IntArray, np.ndarray]]:
    frac = Fraction(q).limit_denominator(1000)
    scale, cap = frac.denominator, frac.numerator
    spec = flow_spec(inst, unit=scale, pair_cap=cap, diversity=diversity)
    sol, cert = solve_certified(inst, spec, candidates=candidates)
    used = sol.flow > 0
    codes, x = sol.cand[used], sol.flow[used]
    n_e = inst.n_experts
    p, e = codes // n_e, codes % n_e
    chosen = dependent_round(p, e, x, scale, np.random.default_rng(seed))
    pairs = np.stack([p[chosen], e[chosen]], axis=1).astype(np.int64)
    expected = float((np.asarray(inst.affinity[p, e], np.float64) * x).sum() / scale)
    details = {
        "q": float(frac),
        "seed": seed,
        "expected_new_affinity": expected,
        "expected_new_pairs": float(x.sum() / scale),
        "lp_gap": lp_gap(inst, spec, sol, cert),
    }
    return pairs, cert, details, (codes, x / scale)


def lp_gap(
    inst: AssignmentInstance, spec: FlowSpec, sol: NetworkSolution, cert: Certificate
) -> dict[str, Any]:
    """Primal and dual values of the LP (the scaled flow) and their gap, in affinity units of
    the objective the flow maximises at maximum coverage (penalised weights minus diversity
    penalties; ``dual`` bounds it from above). The arcs are those of
    :func:`assignment.solvers._network.solve_network`, rebuilt from the solution's candidates."""
    n_p, n_e = inst.n_proposals, inst.n_experts
    total = int(spec.demand.sum())
    spec = formulation(spec, sol)  # the one the flow was solved (and certified) with
    d = sol.potential
    cp, ce = sol.cand // n_e, sol.cand % n_e
    prop, exp = 2 + np.arange(n_p), 2 + n_p + np.arange(n_e)
    caps: list[IntArray] = [spec.demand, spec.capacity - spec.low]
    rcs: list[IntArray] = [d[0] - d[prop], d[exp] - d[1]]  # source → proposal, expert → sink
    if not spec.exact:
        caps.append(np.array([total]))
        rcs.append(np.array([d[0] - d[1]]))
    parent = 2 + cp
    for codes, penalty, (uniq, nodes, groups) in zip(
        spec.levels, spec.penalties, sol.level_keys, strict=True
    ):
        _, first, inv = np.unique(cp * groups + codes[ce], return_index=True, return_inverse=True)
        pdem = spec.demand[uniq // groups]
        first_cap = np.minimum(spec.unit, pdem)
        tail = parent[first]
        caps += [first_cap, pdem - first_cap]
        rcs += [d[tail] - d[nodes], penalty + d[tail] - d[nodes]]
        parent = nodes[inv.reshape(-1)]
    caps.append(np.full(sol.cand.size, spec.pair_cap))
    rcs.append(pair_reduced_costs(inst, spec, sol, cp, ce))
    supply = np.zeros(d.size, np.int64)
    supply[0], supply[1] = total, -total + int(spec.low.sum())
    supply[exp] -= spec.low
    # exact integers: Python ints, the products can exceed int64 on large calls
    cap, rc = np.concatenate(caps), np.concatenate(rcs)
    neg = rc < 0
    dual = -sum(int(s) * int(v) for s, v in zip(supply[supply != 0].tolist(),
                                                d[supply != 0].tolist(), strict=True))
    dual -= sum(int(u) * -int(r) for u, r in zip(cap[neg].tolist(), rc[neg].tolist(),
                                                 strict=True))
    primal = sol.cost
    unit = SCALE * spec.unit
    # without the coverage bonus (a constant at maximum coverage): in affinity units
    offset = spec.bonus * int(sol.flow.sum())
    return {
        "primal": -(primal + offset) / unit,
        "dual": -(dual + offset) / unit,
        "gap": (primal - dual) / unit,
        "relative_gap": (primal - dual) / max(1, abs(primal)),
        "full_matrix": cert.violations == 0,
    }
