"""evalpanel's three modes side by side with OpenReview's matcher on the same generated matrices.

Runs when the ``openreview-matcher`` package (module ``matcher``) is importable; installs nothing
and exits 0 with a message when it is not. For each size (default 500 × 200 and 2,000 × 800,
k = 3), one seeded synthetic call (``benchmarks.synthetic.synthetic_call``, ``dense=True``, the
affinities rounded to 0.01 so that the matcher's integer costs, affinity × 100 as its encoder
makes them, are exact), with its conflicts as the matcher's constraint −1, every expert's
``max_load``/``min_load`` as its maximums/minimums and k as every proposal's demand. Solvers:

- the matcher's ``MinMaxSolver``, ``FairFlow``, ``FairSequence`` and ``RandomizedSolver``
  (probability limit q = 0.5), zero-score pairs allowed as evalpanel allows them;
- evalpanel's ``max-total``, ``fair`` and ``randomized`` (q = 0.5) through
  :func:`assignment.assign`.

Each solver runs in its own subprocess (given the matrices in memory: building them is not
timed; wall and CPU seconds, the latter less inflated on a loaded machine) with a
``--timeout``; a solver that cannot run (e.g. one needing a commercial solver licence) is skipped
with its message. Reported per solver: seconds (construct + solve), total affinity of the
assignment, worst panel (lowest panel total), pairs, and checks: conflicted pairs
assigned, load bounds and demands broken. The randomized rows are one sample each; their
expected total (the LP optimum) is given beside.

    PYTHONPATH=. python benchmarks/openreview_compare.py [--sizes 500x200,2000x800] [--k 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import SyntheticCall, synthetic_call  # noqa: E402

OPENREVIEW = ("MinMax", "FairFlow", "FairSequence", "Randomized")
EVALPANEL = ("max-total", "fair", "randomized")
Q = 0.5
COST_SCALE = 100  # the matcher's encoder: cost = -score × 100


def make_call(size: str, k: int, seed: int) -> SyntheticCall:
    n_p, n_e = map(int, size.split("x"))
    call = synthetic_call(n_p, n_e, k=k, seed=seed, dense=True)
    aff = np.round(call.affinity.astype(np.float64), 2).astype(np.float32)
    return SyntheticCall(call.proposals, call.experts, aff, call.conflicts, k)


def _conflict_mask(call: SyntheticCall) -> np.ndarray:
    pid = {v: i for i, v in enumerate(call.proposals["proposal_id"].to_list())}
    eid = {v: i for i, v in enumerate(call.experts["expert_id"].to_list())}
    mask = np.zeros(call.affinity.shape, dtype=bool)
    for p, e in call.conflicts.select("proposal_id", "expert_id").iter_rows():
        mask[pid[p], eid[e]] = True
    return mask


def _summary(call: SyntheticCall, x: np.ndarray, seconds: float, cpu: float) -> dict[str, Any]:
    """Objective, worst panel and rule checks of a (P, E) 0/1 assignment matrix."""
    x = np.rint(np.asarray(x, dtype=np.float64)).astype(np.int64)
    aff = call.affinity.astype(np.float64)
    panels = (x * aff).sum(axis=1)
    loads = x.sum(axis=0)
    maxima = call.experts["max_load"].to_numpy()
    minima = call.experts["min_load"].to_numpy()
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "objective": float(panels.sum()),
        "worst_panel": float(panels.min()),
        "pairs": int(x.sum()),
        "conflicted": int((x.astype(bool) & _conflict_mask(call)).sum()),
        "load_breaks": int(((loads > maxima) | (loads < minima)).sum()),
        "short_panels": int((x.sum(axis=1) < call.k).sum()),
    }


def run_openreview(name: str, call: SyntheticCall) -> dict[str, Any]:
    from matcher import solvers

    aff = call.affinity.astype(np.float64)
    constraint = np.where(_conflict_mask(call), -1, 0).astype(np.int64)
    n_p, n_e = aff.shape
    minimums = call.experts["min_load"].to_list()
    maximums = call.experts["max_load"].to_list()
    demands = [call.k] * n_p
    cost = np.rint(-aff * COST_SCALE)
    t, c = time.perf_counter(), time.process_time()
    extra: dict[str, Any] = {}
    if name == "MinMax":
        enc = SimpleNamespace(cost_matrix=cost, constraint_matrix=constraint)
        solver: Any = solvers.MinMaxSolver(minimums, maximums, demands, enc,
                                           allow_zero_score_assignments=True)
        x = solver.solve()
    elif name in ("FairFlow", "FairSequence"):
        enc = SimpleNamespace(aggregate_score_matrix=aff, constraint_matrix=constraint)
        cls = solvers.FairFlow if name == "FairFlow" else solvers.FairSequence
        solver = cls(minimums, maximums, demands, enc, allow_zero_score_assignments=True)
        x = solver.solve()
    else:
        enc = SimpleNamespace(cost_matrix=cost, constraint_matrix=constraint,
                              prob_limit_matrix=np.full(aff.shape, Q))
        solver = solvers.RandomizedSolver(minimums, maximums, demands, enc,
                                          allow_zero_score_assignments=True)
        solver.solve()
        x = solver.flow_matrix
        extra["expected_objective"] = float(-solver.expected_cost / COST_SCALE)
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    if x is None or not getattr(solver, "solved", True):
        return {"skipped": f"{name} found no solution"}
    return {**_summary(call, np.asarray(x).reshape(n_p, n_e), seconds, cpu), **extra}


def run_evalpanel(mode: str, call: SyntheticCall) -> dict[str, Any]:
    from assignment import assign

    inst = call.instance()
    assign(inst, "max-total")  # load OR-Tools and warm the imports outside the timing
    t, c = time.perf_counter(), time.process_time()
    res = assign(inst, mode, q=Q, seed=1)
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    pid = {v: i for i, v in enumerate(inst.proposal_ids.tolist())}
    eid = {v: i for i, v in enumerate(inst.expert_ids.tolist())}
    x = np.zeros(call.affinity.shape, dtype=np.int64)
    for p, e in res.pairs.select("proposal_id", "expert_id").iter_rows():
        x[pid[p], eid[e]] = 1
    out = _summary(call, x, seconds, cpu)
    if mode == "randomized":
        out["expected_objective"] = float(res.details["expected_new_affinity"])
    out["certificate"] = res.certificate.to_json_dict()
    for key in ("floor_certificate", "total_certificate"):
        if key in res.details:
            out[key] = {k: res.details[key][k] for k in ("method", "optimal")}
    return out


def child(side: str, name: str, size: str, k: int, seed: int) -> None:
    call = make_call(size, k, seed)
    try:
        row = run_openreview(name, call) if side == "openreview" else run_evalpanel(name, call)
    except Exception as exc:  # a solver that cannot run here (e.g. a licence) is skipped
        row = {"skipped": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    print(json.dumps(row))


def run(side: str, name: str, size: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", side, name, "--sizes", size, "--k", str(args.k),
           "--seed", str(args.seed)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                              cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        return {"skipped": f"stopped after the {args.timeout:.0f} s timeout"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"skipped": f"exit {done.returncode}: {done.stderr.strip()[-300:]}"}
    row: dict[str, Any] = json.loads(lines[-1])
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="500x200,2000x800")
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per solver run")
    ap.add_argument("--child", nargs=2, metavar=("SIDE", "NAME"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if importlib.util.find_spec("matcher") is None:
        print("skipped: the openreview-matcher package (module `matcher`) is not importable; "
              "install it in the environment that runs this benchmark")
        return 0
    if args.child:
        child(args.child[0], args.child[1], args.sizes, args.k, args.seed)
        return 0
    from importlib.metadata import PackageNotFoundError, version

    try:
        orm = version("openreview-matcher")
    except PackageNotFoundError:
        orm = "unknown version"
    print(f"openreview-matcher {orm}; k = {args.k}, q = {Q} for the randomized solvers, "
          f"seed {args.seed}")
    header = (f"{'size':>9} {'solver':>24} {'seconds':>8} {'cpu s':>8} {'objective':>10} "
              f"{'worst':>6} "
              f"{'pairs':>6} {'confl':>5} {'loads':>5} {'short':>5}  notes")
    print(header)
    for size in args.sizes.split(","):
        for side, names in (("openreview", OPENREVIEW), ("evalpanel", EVALPANEL)):
            for name in names:
                row = run(side, name, size, args)
                label = f"{side} {name}"
                if "skipped" in row:
                    print(f"{size:>9} {label:>24}  skipped: {row['skipped']}", flush=True)
                    continue
                notes = []
                if "expected_objective" in row:
                    notes.append(f"expected (LP) {row['expected_objective']:.2f}")
                if "certificate" in row:
                    certs = [f"max-total cert optimal={row['certificate']['optimal']}"]
                    certs += [f"{key.split('_')[0]} {row[key]['method']} "
                              f"optimal={row[key]['optimal']}"
                              for key in ("floor_certificate", "total_certificate")
                              if key in row]
                    notes.append("; ".join(certs))
                print(f"{size:>9} {label:>24} {row['seconds']:8.2f} {row.get('cpu_s', 0):8.2f} "
                      f"{row['objective']:10.2f} "
                      f"{row['worst_panel']:6.2f} {row['pairs']:6d} {row['conflicted']:5d} "
                      f"{row['load_breaks']:5d} {row['short_panels']:5d}  {', '.join(notes)}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
