"""``randomized``: maximise expected affinity with every pair's probability capped at q.

The LP of Jecmen et al. (2020) is a fractional flow; with ``S`` the denominator of q, scaling
demands and loads by S and capping each pair at ``q·S`` makes it an integral min-cost flow whose
optimum divided by S is the LP optimum (coverage first, as in max-total; certified the same way).
An assignment is then sampled by dependent rounding so that each pair is chosen with exactly its
LP probability. Returns the sampled new (n, 2) pairs and the marginals as (n,) pair codes with
probabilities.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from assignment.instance import AssignmentInstance, IntArray
from assignment.result import Certificate
from assignment.solvers._sparse import solve_certified
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
    }
    return pairs, cert, details, (codes, x / scale)
