"""Does the randomized mode's sampler draw each pair with its LP probability? And the LP's gap.

For generated instances (``benchmarks.synthetic.small_instance``, and one ``synthetic_call``), the
randomized LP is solved once (``assign(..., "randomized")``: its marginals and its ``lp_gap``,
primal against dual), then ``--samples`` N assignments are drawn by the product's sampler
(:func:`assignment.solvers.rounding.dependent_round`, seeds 0..N-1) and each pair's empirical
frequency is compared with its LP probability. Every frequency is the mean of N independent
Bernoulli draws, so by Hoeffding's inequality and a union bound over the n pairs of the support,
``max |frequency − probability| <= sqrt(ln(2n / δ) / (2N))`` with probability at least 1 − δ
(δ = 0.001); a larger deviation fails the run. Also checked on every sample: no pair outside the
LP's support, each proposal's and expert's degree the floor or ceiling of its fractional degree.

    python benchmarks/randomized_marginals.py [--samples 2000]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assignment import AssignmentInstance, assign
from assignment.solvers.rounding import dependent_round
from benchmarks.synthetic import small_instance, synthetic_call

DELTA = 1e-3


def check(name: str, inst: AssignmentInstance, q: float, samples: int) -> bool:
    t = time.perf_counter()
    res = assign(inst, "randomized", q=q, seed=0)
    solve_s = time.perf_counter() - t
    assert res.marginals is not None
    pid = {v: i for i, v in enumerate(inst.proposal_ids.tolist())}
    eid = {v: i for i, v in enumerate(inst.expert_ids.tolist())}
    p = np.array([pid[v] for v in res.marginals["proposal_id"]], dtype=np.int64)
    e = np.array([eid[v] for v in res.marginals["expert_id"]], dtype=np.int64)
    prob = res.marginals["probability"].to_numpy()
    scale = Fraction(q).limit_denominator(1000).denominator  # as the solver scales
    x = np.rint(prob * scale).astype(np.int64)
    assert np.allclose(x / scale, prob), "marginals are not multiples of 1/S"
    frac_p = np.bincount(p, weights=prob, minlength=inst.n_proposals)
    frac_e = np.bincount(e, weights=prob, minlength=inst.n_experts)
    counts = np.zeros(prob.size)
    degrees_ok = True
    t = time.perf_counter()
    for s in range(samples):
        chosen = dependent_round(p, e, x, scale, np.random.default_rng(s))
        counts += chosen
        deg_p = np.bincount(p[chosen], minlength=inst.n_proposals)
        deg_e = np.bincount(e[chosen], minlength=inst.n_experts)
        degrees_ok &= bool((deg_p >= np.floor(frac_p - 1e-9)).all()
                           and (deg_p <= np.ceil(frac_p + 1e-9)).all()
                           and (deg_e >= np.floor(frac_e - 1e-9)).all()
                           and (deg_e <= np.ceil(frac_e + 1e-9)).all())
    sample_s = time.perf_counter() - t
    dev = np.abs(counts / samples - prob)
    bound = math.sqrt(math.log(2 * prob.size / DELTA) / (2 * samples))
    gap = res.details["lp_gap"]
    frac = int(((x > 0) & (x < scale)).sum())
    ok = bool(dev.max() <= bound) and degrees_ok and gap["gap"] == 0
    print(f"{name}: q = {q}, {prob.size} pairs in the LP's support ({frac} fractional); "
          f"LP solve {solve_s:.2f} s")
    print(f"  LP primal {gap['primal']:.6f}, dual {gap['dual']:.6f}, gap {gap['gap']:.3g} "
          f"(full matrix: {gap['full_matrix']})")
    print(f"  {samples} samples in {sample_s:.1f} s: max |frequency - probability| "
          f"{dev.max():.4f} (mean {dev.mean():.4f}); bound at delta = {DELTA:g}: {bound:.4f}; "
          f"degrees within floor/ceiling in every sample: {degrees_ok}; "
          f"{'ok' if ok else 'FAILED'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    cases = [
        ("small 12x10, k=2", small_instance(3, 12, 10, 2, conflict_rate=0.2, max_load=(2, 4)), 0.5),
        ("small 10x9, k=3", small_instance(8, 10, 9, 3, conflict_rate=0.15, max_load=(3, 5)), 0.4),
        ("synthetic 300x150, k=4", synthetic_call(300, 150, k=4, seed=1).instance(), 0.5),
    ]
    results = [check(name, inst, q, args.samples) for name, inst, q in cases]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
