"""Do the fair mode's floor and total hold over the whole matrix? Against an exact reference.

For generated instances (``benchmarks.synthetic.small_instance``: affinities on a 0.01 grid,
30 % conflicts, loads 1–3), the fair floor is solved with a deliberately small candidate set
(one expert per proposal, the max-total pairs and the boosted hint), once with the full-matrix
certificate (``certify=True``, the product's default) and once without it, and compared with
the max-min floor of scipy's MILP (HiGHS) over every eligible pair at maximum coverage, and the
total with scipy's most total at the floor found (a second MILP over every eligible pair).
Prints how many floors and totals are wrong each way, the certificates' statuses and the time
of both.

    python benchmarks/fair_certificate.py [--instances 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assignment import AssignmentInstance, assign
from assignment.solvers.fair import solve_fair
from benchmarks.synthetic import small_instance


def milp_floor(inst: AssignmentInstance) -> float:
    """The max-min panel affinity at maximum coverage, by two MILPs over every eligible pair."""
    p, e = np.nonzero(inst.eligible_mask())
    n = p.size
    a_p = sp.csr_matrix((np.ones(n), (p, np.arange(n))), shape=(inst.n_proposals, n))
    a_e = sp.csr_matrix((np.ones(n), (e, np.arange(n))), shape=(inst.n_experts, n))
    cons = [LinearConstraint(a_p, 0, inst.free_demand),
            LinearConstraint(a_e, inst.free_min_load, inst.free_capacity)]
    cover = milp(-np.ones(n), constraints=cons, integrality=np.ones(n), bounds=Bounds(0, 1))
    covered = round(-cover.fun)
    fixed = inst.fixed_pairs()
    fixed_w = np.bincount(fixed[:, 0], weights=inst.affinity[fixed[:, 0], fixed[:, 1]],
                          minlength=inst.n_proposals)
    scope = np.nonzero(inst.demand > 0)[0]
    rows = sp.csr_matrix((inst.affinity[p, e], (p, np.arange(n))),
                         shape=(inst.n_proposals, n))[scope]
    pad = [LinearConstraint(sp.hstack([c.A, sp.csr_matrix((c.A.shape[0], 1))]), c.lb, c.ub)
           for c in cons]
    pad.append(LinearConstraint(sp.hstack([-rows, np.ones((scope.size, 1))]), -np.inf,
                                fixed_w[scope]))
    pad.append(LinearConstraint(np.r_[np.ones(n), 0.0][None, :], covered, covered))
    c = np.zeros(n + 1)
    c[-1] = -1
    res = milp(c, constraints=pad, integrality=np.r_[np.ones(n), 0],
               bounds=Bounds(np.zeros(n + 1), np.r_[np.ones(n), np.inf]))
    return float(-res.fun)


def milp_total(inst: AssignmentInstance, floor: float) -> float:
    """The most total affinity of new pairs at maximum coverage with every proposal with open
    slots at ``floor`` or more, by MILPs over every eligible pair."""
    p, e = np.nonzero(inst.eligible_mask())
    n = p.size
    a_p = sp.csr_matrix((np.ones(n), (p, np.arange(n))), shape=(inst.n_proposals, n))
    a_e = sp.csr_matrix((np.ones(n), (e, np.arange(n))), shape=(inst.n_experts, n))
    cons = [LinearConstraint(a_p, 0, inst.free_demand),
            LinearConstraint(a_e, inst.free_min_load, inst.free_capacity)]
    covered = round(-milp(-np.ones(n), constraints=cons, integrality=np.ones(n),
                          bounds=Bounds(0, 1)).fun)
    fixed = inst.fixed_pairs()
    fixed_w = np.bincount(fixed[:, 0], weights=inst.affinity[fixed[:, 0], fixed[:, 1]],
                          minlength=inst.n_proposals)
    scope = np.nonzero(inst.demand > 0)[0]
    a = inst.affinity[p, e].astype(np.float64)
    rows = sp.csr_matrix((a, (p, np.arange(n))), shape=(inst.n_proposals, n))[scope]
    cons += [LinearConstraint(rows, floor - fixed_w[scope] - 1e-7, np.inf),
             LinearConstraint(np.ones((1, n)), covered, covered)]
    res = milp(-a, constraints=cons, integrality=np.ones(n), bounds=Bounds(0, 1))
    return float(-res.fun)


def floor_of(inst: AssignmentInstance, pairs: np.ndarray) -> float:
    fixed = inst.fixed_pairs()
    both = np.concatenate([fixed, pairs]) if pairs.size else fixed
    totals = np.bincount(both[:, 0], weights=inst.affinity[both[:, 0], both[:, 1]],
                         minlength=inst.n_proposals)
    return float(totals[inst.demand > 0].min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    wrong = {True: 0, False: 0}
    wrong_total = {True: 0, False: 0}
    total_statuses: Counter[str] = Counter()
    seconds: dict[bool, list[float]] = {True: [], False: []}
    statuses: Counter[str] = Counter()
    done = 0
    for i in range(args.instances):
        rng = np.random.default_rng(args.seed + i)
        n_p, n_e, k = int(rng.integers(3, 8)), int(rng.integers(3, 9)), int(rng.integers(1, 4))
        inst = small_instance(args.seed + i, n_p, n_e, k, conflict_rate=0.3, max_load=(1, 3))
        if not (inst.demand > 0).any():
            continue
        reference = milp_floor(inst)
        assign(inst, "max-total")  # warm the solver's imports before timing
        for certify in (True, False):
            start = time.perf_counter()
            pairs, _, details = solve_fair(inst, candidates=1, certify=certify)
            seconds[certify].append(time.perf_counter() - start)
            floor = floor_of(inst, pairs)
            if floor < reference - 1e-6:
                wrong[certify] += 1
            total = float(inst.affinity[pairs[:, 0], pairs[:, 1]].sum()) if pairs.size else 0.0
            if total < milp_total(inst, floor) - 1e-6:
                wrong_total[certify] += 1
            if certify:
                statuses[str(details.get("floor_status", "")).split(":")[0]] += 1
                total_statuses[str(details.get("total_certificate", {}).get("method"))] += 1
        done += 1
    print(f"{done} instances (3-7 proposals x 3-8 experts, k 1-3, 30 % conflicts), one "
          "candidate expert per proposal")
    for certify in (True, False):
        label = "with the certificate   " if certify else "without the certificate"
        print(f"{label}: {wrong[certify]:3d} floors below scipy's MILP, "
              f"{wrong_total[certify]:3d} totals below scipy's at the floor found; median "
              f"{statistics.median(seconds[certify]) * 1000:.1f} ms per instance")
    print("floor status with the certificate:", dict(statuses.most_common()))
    print("total certificate's method:", dict(total_statuses.most_common()))


if __name__ == "__main__":
    main()
