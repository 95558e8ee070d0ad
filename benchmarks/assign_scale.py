"""Assignment at scale: wall time and peak memory per mode, and sparse-vs-dense max-total.

One command: ``PYTHONPATH=. python benchmarks/assign_scale.py`` runs the full sweep (synthetic calls
from 300 × 150 to 20,000 × 15,000, k = 4, modes max-total / fair / randomized) and then the
side-by-side comparison at 5,000 × 2,000, k = 3, dense affinity: the sparsified and certified
max-total against :func:`solve_dense_baseline` (one min-cost flow over every eligible pair), same
optimum asserted. Every size runs in its own subprocess so the peak RSS (``ru_maxrss``, MB) is
that size's alone; it includes the (P, E) float32 affinity matrix (P·E·4 bytes).

Flags: ``--sizes 300x150,2000x1000`` ``--modes max-total,fair`` ``--repeats N`` (median of N solves,
default 3 below 10 M pairs, else 1) ``--no-compare`` ``--compare-only``. ``process s`` is the
child's whole wall time (start-up, imports, building the synthetic instance, the solves) and
``peak MB`` its peak RSS as the parent sees it (``wait4``); the ``cpu s`` columns are the CPU
seconds (all threads) of the solves and of the whole child, which a loaded machine inflates
less than wall time.

``--process`` instead times the whole ``evalpanel assign`` command, one process per size and
mode (``python -m evalpanel.cli assign CALL -k K --mode MODE --json -o pairs.csv``), on a call
folder from ``fixtures.generate.write_call`` (no ``scores.csv``; the experts' maximum loads
raised for panels of k by :func:`loads_for_k`) with a dense ``affinity.parquet`` of all P × E
pairs (``assignment.compute_affinity``, written row group by row group so that writing it needs
no P × E table in memory), default sizes 5,000 × 2,000 to 20,000 × 15,000. Each process runs
under a watchdog that stops it above ``--rss-limit-mb``
(default 12,000: the machine is shared), reported as such; ``--folder DIR --reuse`` keeps the
generated folders between runs. Targets at 20,000 × 15,000, whole process: max-total < 10 s and
< 4 GB, fair < 30 s, randomized < 20 s.

Before the modes of each size, ``--process`` prints the size's *decode floor*: a process that
only decodes the ``affinity.parquet`` row groups as the reader does (its threads and read-ahead,
:mod:`evalpanel.callfolder.pairs`), checking and writing nothing. No mode's process can be
faster than the floor plus its solve.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
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
from benchmarks._children import child_env, compile_project  # noqa: E402
from benchmarks.synthetic import synthetic_call  # noqa: E402

SIZES = ((300, 150), (2000, 1000), (5000, 2000), (10000, 4000), (20000, 15000))
MODES = ("max-total", "fair", "randomized")
TARGETS = {
    ("10000x4000", "max-total"): 5.0,
    ("10000x4000", "fair"): 30.0,
    ("10000x4000", "randomized"): 60.0,
    ("20000x15000", "max-total"): 10.0,
    ("20000x15000", "fair"): 30.0,
    ("20000x15000", "randomized"): 20.0,
}
MEMORY_TARGETS_MB = {("20000x15000", "max-total"): 4096.0}
PROCESS_SIZES = ((5000, 2000), (10000, 4000), (20000, 15000))

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
        times, cpu = [], []
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            res = assign(inst, mode, seed=1)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        rows.append(
            {
                "size": size,
                "k": k,
                "mode": mode,
                "build_s": build,
                "median_s": statistics.median(times),
                "median_cpu_s": statistics.median(cpu),
                "runs": repeats,
                "rss_instance_mb": base_mb,
                "peak_rss_mb": peak_mb(),
                "status": res.status,
                "coverage": res.coverage,
                "objective": res.objective,
                "floor": res.min_proposal_affinity,
                "certificate": res.certificate.to_json_dict(),
                "details": {k2: v for k2, v in res.details.items()
                            if "status" in k2 or k2 in ("lp_gap",)},
                "certificates": {k2: res.details[k2] for k2 in
                                 ("floor_certificate", "total_certificate")
                                 if k2 in res.details},
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


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def watched(cmd: list[str], limit_mb: float, env: dict[str, str] | None = None
            ) -> dict[str, Any]:
    """Run ``cmd``: exit status, stdout, stderr, wall seconds, peak RSS (MB, from ``wait4``), and
    whether it was stopped for passing ``limit_mb`` of resident memory."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        stopped = 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            rss = _rss_mb(proc.pid)
            if rss > limit_mb and not stopped:
                stopped = rss
                os.kill(proc.pid, signal.SIGKILL)
            time.sleep(0.05)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"code": proc.returncode, "stdout": out.read().decode(), "wall_s": wall,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "stderr": err.read().decode(), "peak_mb": max(usage.ru_maxrss / 1024, stopped),
                "stopped_mb": stopped}


def run_child(args: list[str]) -> Any:
    done = watched([sys.executable, __file__, *args], limit_mb=float("inf"))
    if done["code"] != 0:
        raise SystemExit(f"child {args} failed:\n{done['stderr']}")
    rows = json.loads(done["stdout"].strip().splitlines()[-1])
    for row in rows if isinstance(rows, list) else [rows]:
        row["process_s"], row["child_peak_mb"] = done["wall_s"], done["peak_mb"]
        row["process_cpu_s"] = done["cpu_s"]
    return rows


def loads_for_k(folder: Path, k: int) -> None:
    """Raise every expert's maximum load of a generated call (sized for the generator's
    ``EXPERTS_PER_PROPOSAL`` experts per proposal) in proportion to k, so that panels of k can
    be filled."""
    import math

    import polars as pl

    from fixtures.generate import EXPERTS_PER_PROPOSAL

    path = folder / "experts.csv"
    experts = pl.read_csv(path, infer_schema=False)
    scale = k / EXPERTS_PER_PROPOSAL
    loads = [str(math.ceil(int(x) * scale)) for x in experts["max_load"].to_list()]
    experts.with_columns(max_load=pl.Series(loads)).write_csv(path, line_terminator="\n")


def write_dense_call(folder: Path, n_p: int, n_e: int, seed: int, k: int | None = None
                     ) -> dict[str, float]:
    """A generated call folder plus its dense affinity.parquet (every pair, sorted by ids),
    written one row group of proposals at a time; ``k``: loads raised for panels of k
    (:func:`loads_for_k`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import assignment
    from evalpanel.callfolder import read_call
    from fixtures.generate import write_call

    t = time.perf_counter()
    write_call(folder, seed=seed, n_proposals=n_p, n_experts=n_e)
    (folder / "scores.csv").unlink(missing_ok=True)
    if k is not None:
        loads_for_k(folder, k)
    call = read_call(folder)
    aff = assignment.compute_affinity(call.proposals, call.experts)
    order_p = call.proposals["proposal_id"].arg_sort().to_numpy()
    order_e = call.experts["expert_id"].arg_sort().to_numpy()
    pids = pa.array(call.proposals["proposal_id"].to_numpy()[order_p].astype(str))
    eids = pa.array(call.experts["expert_id"].to_numpy()[order_e].astype(str))
    step = max(1, 8_000_000 // n_e)
    schema = pa.schema([("proposal_id", pa.string()), ("expert_id", pa.string()),
                        ("affinity", pa.float64())])
    with pq.ParquetWriter(folder / "affinity.parquet", schema) as writer:
        for i in range(0, n_p, step):
            rows = order_p[i : i + step]
            block = np.asarray(aff[rows][:, order_e], dtype=np.float64)
            reps = np.repeat(np.arange(i, i + rows.size), n_e)
            writer.write_table(pa.table({
                "proposal_id": pids.take(pa.array(reps)),
                "expert_id": pa.chunked_array([eids] * rows.size).combine_chunks(),
                "affinity": pa.array(block.reshape(-1)),
            }, schema=schema))
    return {"setup_s": time.perf_counter() - t,
            "parquet_mb": (folder / "affinity.parquet").stat().st_size / 2**20}


def child_decode(folder: Path) -> dict[str, Any]:
    """Decode the affinity file's row groups as the reader does (its columns, dictionaries and
    threads), and nothing else."""
    import pyarrow.parquet as pq

    from evalpanel.callfolder.pairs import BATCH_ROWS, PAIR_KEYS, _batches

    path, ids = folder / "affinity.parquet", list(PAIR_KEYS)
    parquet = pq.ParquetFile(path, read_dictionary=ids, pre_buffer=False)
    t, c = time.perf_counter(), time.process_time()
    batches = _batches(path, parquet, [*ids, "affinity"], ids, BATCH_ROWS)
    rows = sum(b.num_rows for b in batches)
    return {"rows": rows, "groups": parquet.metadata.num_row_groups,
            "decode_s": time.perf_counter() - t, "decode_cpu_s": time.process_time() - c}


def _decode_floor(folder: Path, limit_mb: float, env: dict[str, str]) -> str:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "decode", "--folder",
           str(folder)]
    done = watched(cmd, limit_mb, env)
    if done["code"] != 0:
        return f"decode floor failed ({done['code']}): {done['stderr'][-400:]}"
    d = json.loads(done["stdout"])
    return (f"decode floor: {d['rows']:,} rows in {d['groups']} row groups decoded as the reader "
            f"does, nothing else: {d['decode_s']:.2f} s ({d['decode_cpu_s']:.2f} cpu s); "
            f"whole process {done['wall_s']:.2f} s ({done['cpu_s']:.2f} cpu s), "
            f"peak {done['peak_mb']:.0f} MB")


def process_sweep(args: argparse.Namespace, modes: list[str]) -> None:
    compile_project()  # see benchmarks._children: the timed processes run from bytecode
    env = child_env()
    base = args.folder or Path(tempfile.mkdtemp(prefix="assign_scale_"))
    sizes = args.sizes.split(",") if args.sizes_given else [f"{p}x{e}" for p, e in PROCESS_SIZES]
    print(f"whole `evalpanel assign` process, dense affinity.parquet, k = {args.k}, one process "
          f"per size and mode (watchdog at {args.rss_limit_mb:.0f} MB resident)")
    print(f"{'size':>12} {'mode':>10} {'process s':>9} {'cpu s':>7} {'peak MB':>8} {'status':>8} "
          f"{'coverage':>8} {'objective':>11} {'floor':>7}  target / certificates")
    try:
        for size in sizes:
            n_p, n_e = map(int, size.split("x"))
            folder = base / f"call{size}"
            if args.reuse and (folder / "affinity.parquet").is_file():
                print(f"{size:>12}: reusing {folder}", flush=True)
            else:
                setup = write_dense_call(folder, n_p, n_e, seed=2026, k=args.k)
                print(f"{size:>12}: {n_p * n_e:,} affinity rows, affinity.parquet "
                      f"{setup['parquet_mb']:.0f} MB (written in {setup['setup_s']:.0f} s)",
                      flush=True)
            print(f"{'':>24}{_decode_floor(folder, args.rss_limit_mb, env)}", flush=True)
            for mode in modes:
                cmd = [sys.executable, "-m", "evalpanel.cli", "assign", str(folder), "-k",
                       str(args.k), "--mode", mode, "--json", "-o", str(base / "pairs.csv")]
                done = watched(cmd, args.rss_limit_mb, env)
                line = (f"{size:>12} {mode:>10} {done['wall_s']:9.2f} {done['cpu_s']:7.2f} "
                        f"{done['peak_mb']:8.0f} ")
                if done["stopped_mb"]:
                    print(line + f"stopped above {args.rss_limit_mb:.0f} MB resident "
                          f"after {done['wall_s']:.0f} s", flush=True)
                    continue
                if done["code"] not in (0, 3):
                    print(line + f"failed ({done['code']}): {done['stderr'][-400:]}", flush=True)
                    continue
                s = json.loads(done["stdout"])
                # the whole-process targets are at 20,000 x 15,000 only
                verdict = (_verdict(size, mode, done["wall_s"], done["peak_mb"])
                           if size == "20000x15000" else "")
                print(line + f"{s['status']:>8} {s['coverage']:8.3f} {s['objective']:11.2f} "
                      f"{s['min_proposal_affinity']:7.3f}  {verdict}", flush=True)
                print(f"{'':>24}load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
                print(f"{'':>24}certificate {s['certificate']}")
                details = s.get("details", {})
                for key in ("floor_certificate", "total_certificate", "lp_gap"):
                    if key in details:
                        print(f"{'':>24}{key} {details[key]}")
                if "phases" in s:
                    print(f"{'':>24}phases {s['phases']}")
    finally:
        if args.folder is None:
            shutil.rmtree(base, ignore_errors=True)


def _verdict(size: str, mode: str, seconds: float, peak_mb: float) -> str:
    target = TARGETS.get((size, mode))
    if target is None:
        return ""
    out = f"< {target:g} s {'ok' if seconds < target else 'MISSED'}"
    memory = MEMORY_TARGETS_MB.get((size, mode))
    if memory is not None:
        out += f", < {memory / 1024:g} GB {'ok' if peak_mb < memory else 'MISSED'}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default=",".join(f"{p}x{e}" for p, e in SIZES))
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=0, help="0: 3 below 10 M pairs, else 1")
    ap.add_argument("--no-compare", action="store_true")
    ap.add_argument("--compare-only", action="store_true")
    ap.add_argument("--process", action="store_true",
                    help="time the whole evalpanel assign process on dense Parquet calls")
    ap.add_argument("--rss-limit-mb", type=float, default=12000.0)
    ap.add_argument("--folder", type=Path, help="with --process: keep the call folders here")
    ap.add_argument("--reuse", action="store_true", help="with --folder: reuse written calls")
    ap.add_argument("--child", choices=("sweep", "compare", "decode"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.sizes_given = any(a == "--sizes" or a.startswith("--sizes=") for a in sys.argv[1:])
    modes = args.modes.split(",")
    if args.process:
        process_sweep(args, modes)
        return
    if args.child == "sweep":
        n = args.repeats or 1
        print(json.dumps(child_sweep(args.sizes, modes, args.k, n)))
        return
    if args.child == "decode":
        print(json.dumps(child_decode(args.folder)))
        return
    if args.child == "compare":
        print(json.dumps(child_compare(args.repeats or 3)))
        return

    print(
        f"{'size':>12} {'mode':>10} {'solve s':>8} {'cpu s':>6} {'process s':>9} {'cpu s':>6} "
        f"{'peak MB':>8} {'inst MB':>8} {'coverage':>8} {'objective':>11} {'floor':>7} "
        f"{'cand':>8} {'rounds':>6} target (solve; peak RSS)"
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
                verdict = _verdict(size, r["mode"], r["median_s"], r["child_peak_mb"])
                print(
                    f"{size:>12} {r['mode']:>10} {r['median_s']:8.2f} {r['median_cpu_s']:6.2f} "
                    f"{r['process_s']:9.2f} {r['process_cpu_s']:6.2f} {r['child_peak_mb']:8.0f} "
                    f"{r['rss_instance_mb']:8.0f} {r['coverage']:8.3f} {r['objective']:11.2f} "
                    f"{r['floor']:7.3f} {r['certificate']['candidate_pairs']:8d} "
                    f"{r['certificate']['rounds']:6d} {verdict}",
                    flush=True,
                )
                if r["details"]:
                    print(f"{'':>24}{r['details']}")
                for name, cert in r["certificates"].items():
                    print(f"{'':>24}{name} {cert}")
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
