"""Assignment at scale: wall time and peak memory per mode, and sparse-vs-dense max-total.

One command: ``PYTHONPATH=. python benchmarks/assign_scale.py`` runs the full sweep (synthetic calls
from 300 × 150 to 20,000 × 15,000, k = 4, modes max-total / fair / randomized) and then the
side-by-side comparison at 5,000 × 2,000, k = 3, dense affinity: the sparsified and certified
max-total against :func:`solve_dense_baseline` (one min-cost flow over every eligible pair), same
optimum asserted. Every size runs in its own subprocess so the peak RSS (``ru_maxrss``, MB) is
that size's alone; it includes the (P, E) float32 affinity matrix (P·E·4 bytes).

Flags: ``--sizes 300x150,2000x1000`` ``--modes max-total,fair`` ``--repeats N`` (median of N solves,
default 3 below 10 M pairs, else 1) ``--no-compare`` ``--compare-only``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assignment import AssignmentInstance, assign  # noqa: E402
from assignment.solvers import solve_dense_baseline  # noqa: E402
from assignment.solvers._network import weights  # noqa: E402
from assignment.solvers.max_total import solve_max_total  # noqa: E402
from benchmarks.synthetic import synthetic_call  # noqa: E402

SIZES = ((300, 150), (2000, 1000), (5000, 2000), (10000, 4000), (20000, 15000))
MODES = ("max-total", "fair", "randomized")
TARGETS = {
    ("10000x4000", "max-total"): 5.0,
    ("10000x4000", "fair"): 30.0,
    ("10000x4000", "randomized"): 60.0,
}

__all__ = ["solve_dense_baseline", "synthetic_call", "weight_total"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def weight_total(inst: AssignmentInstance, pairs: np.ndarray) -> int:
    """The solvers' exact integer objective: sum of affinity × 10^6 rounded, per pair."""
    return int(weights(inst.affinity[pairs[:, 0], pairs[:, 1]]).sum())


def child_sweep(size: str, modes: list[str], k: int, repeats: int) -> list[dict[str, Any]]:
    n_p, n_e = map(int, size.split("x"))
    t0 = time.perf_counter()
    inst = synthetic_call(n_p, n_e, k=k, seed=1).instance()
    build, base_mb = time.perf_counter() - t0, peak_mb()
    rows = []
    for mode in modes:
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            res = assign(inst, mode, seed=1)
            times.append(time.perf_counter() - t)
        rows.append(
            {
                "size": size,
                "k": k,
                "mode": mode,
                "build_s": build,
                "median_s": statistics.median(times),
                "runs": repeats,
                "rss_instance_mb": base_mb,
                "peak_rss_mb": peak_mb(),
                "status": res.status,
                "coverage": res.coverage,
                "objective": res.objective,
                "floor": res.min_proposal_affinity,
                "certificate": res.certificate.to_json_dict(),
                "details": {k2: v for k2, v in res.details.items() if "status" in k2},
            }
        )
    return rows


def child_compare(repeats: int) -> dict[str, Any]:
    inst = synthetic_call(5000, 2000, k=3, seed=2, dense=True).instance()
    sparse_t, dense_t = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        sparse_pairs, cert = solve_max_total(inst)
        sparse_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        dense_pairs, _ = solve_dense_baseline(inst)
        dense_t.append(time.perf_counter() - t)
    t = time.perf_counter()
    full = assign(inst)
    assign_t = time.perf_counter() - t
    sparse_obj, dense_obj = weight_total(inst, sparse_pairs), weight_total(inst, dense_pairs)
    assert sparse_obj == dense_obj, f"objectives differ: {sparse_obj} != {dense_obj}"
    assert sparse_pairs.shape[0] == dense_pairs.shape[0]
    return {
        "sparse_s": statistics.median(sparse_t),
        "dense_s": statistics.median(dense_t),
        "assign_s": assign_t,
        "ratio": statistics.median(dense_t) / statistics.median(sparse_t),
        "objective_int": sparse_obj,
        "objective": full.objective,
        "pairs": int(sparse_pairs.shape[0]),
        "certificate": cert.to_json_dict(),
        "peak_rss_mb": peak_mb(),
        "runs": repeats,
    }


def run_child(args: list[str]) -> Any:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default=",".join(f"{p}x{e}" for p, e in SIZES))
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=0, help="0: 3 below 10 M pairs, else 1")
    ap.add_argument("--no-compare", action="store_true")
    ap.add_argument("--compare-only", action="store_true")
    ap.add_argument("--child", choices=("sweep", "compare"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    modes = args.modes.split(",")
    if args.child == "sweep":
        n = args.repeats or 1
        print(json.dumps(child_sweep(args.sizes, modes, args.k, n)))
        return
    if args.child == "compare":
        print(json.dumps(child_compare(args.repeats or 3)))
        return

    print(
        f"{'size':>12} {'mode':>10} {'solve s':>8} {'peak MB':>8} {'inst MB':>8} "
        f"{'coverage':>8} {'objective':>11} {'floor':>7} {'cand':>8} {'rounds':>6} target"
    )
    if not args.compare_only:
        for size in args.sizes.split(","):
            n_p, n_e = map(int, size.split("x"))
            reps = args.repeats or (3 if n_p * n_e < 10_000_000 else 1)
            rows = []
            for mode in modes:  # one subprocess per mode: peak RSS is that mode's alone
                rows += run_child(
                    [
                        "--child",
                        "sweep",
                        "--sizes",
                        size,
                        "--modes",
                        mode,
                        "--k",
                        str(args.k),
                        "--repeats",
                        str(reps),
                    ]
                )
            for r in rows:
                target = TARGETS.get((size, r["mode"]))
                verdict = (
                    ""
                    if target is None
                    else (f"< {target:g} s {'ok' if r['median_s'] < target else 'MISSED'}")
                )
                print(
                    f"{size:>12} {r['mode']:>10} {r['median_s']:8.2f} {r['peak_rss_mb']:8.0f} "
                    f"{r['rss_instance_mb']:8.0f} {r['coverage']:8.3f} {r['objective']:11.2f} "
                    f"{r['floor']:7.3f} {r['certificate']['candidate_pairs']:8d} "
                    f"{r['certificate']['rounds']:6d} {verdict}",
                    flush=True,
                )
                if r["details"]:
                    print(f"{'':>24}{r['details']}")
    if not args.no_compare:
        c = run_child(["--child", "compare", "--repeats", str(args.repeats or 3)])
        print(
            "\nmax-total at 5000x2000, k=3, dense affinity (median of "
            f"{c['runs']} runs, same process):"
        )
        print(
            f"  sparsified + certified: {c['sparse_s']:.2f} s "
            f"(candidates {c['certificate']['candidate_pairs']}, checked "
            f"{c['certificate']['checked_pairs']}, violations {c['certificate']['violations']})"
        )
        print(f"  dense baseline:         {c['dense_s']:.2f} s")
        print(
            f"  ratio dense / sparse:   {c['ratio']:.1f}x (target >= 3x: "
            f"{'ok' if c['ratio'] >= 3 else 'MISSED'}); same objective "
            f"{c['objective_int']} (×1e-6), {c['pairs']} pairs; whole assign() "
            f"{c['assign_s']:.2f} s; peak {c['peak_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
