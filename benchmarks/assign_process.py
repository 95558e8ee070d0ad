"""The whole ``evalpanel assign`` process against a dense min-cost flow, side by side.

``--family`` runs every call shape of :mod:`benchmarks.call_shapes` (organisation naming, loads,
affinity, languages, k, minimum loads, a reassignment; ``--cases a,b`` for some of them): per
case the process and both baselines below, ``--runs`` times interleaved, the medians, the ratios
process / baseline child (the whole read + plan + dense solve), the certificate rounds and the
process's phases (``evalpanel assign --json``'s ``phases``).

``--org-names 15000`` instead times the plan alone (``read_call``, then
``evalpanel.planning.plan``: conflicts, potential conflicts, affinity, instance) with the
organisations renamed "Organisation N University" (N up to 15,000), the case where a name key
that dropped numbers joined every expert with every partner; ``--impl DIR`` runs the same on
another checkout (e.g. the code before a change).

One command: ``python benchmarks/assign_process.py`` (defaults: 5,000 proposals × 2,000 experts,
k = 3, 3 runs). It writes a generated call folder (``fixtures.generate.write_call``, without
``scores.csv``: a call is assigned before anyone scores) and a dense ``affinity.parquet`` with all
P × E pairs (the computed affinity, ``assignment.compute_affinity``, sorted by ids) into a
temporary folder, then times, each in its own subprocess so every run starts cold:

- the process: ``python -m evalpanel.cli assign CALL -k 3 --json -o pairs.csv`` (read and check
  the folder, conflicts, affinity from the file, instance, solve, certificate, write the pairs);
- two baselines: the same instance built the same way (``read_call`` then ``evalpanel.planning
  .plan``), solved by :func:`assignment.solvers.solve_dense_baseline`, one OR-Tools min-cost flow
  over every eligible pair (9 M arcs), with no candidate set and no certificate. ``bonus`` is the
  one-flow formulation of the assignment's objective (cover as many slots as possible, then
  maximise affinity: a coverage bonus per unit and a bypass arc); ``exact`` requires every slot
  filled (supplies met exactly), which is only valid because this call can fill every slot. Each
  child reports its solve alone (arcs built, solved, flows read) and its whole wall time.

Ratios, process wall / baseline: against each baseline's solve alone and against each baseline
child's whole wall time (the like-for-like process comparison). The target (<= 1/3 of the solve
alone) is judged against ``bonus``, the dense flow of the same problem the process solves;
``exact`` is printed for reference. The objectives are asserted equal to 1e-6 relative and the
process's certificate must report 0 violations. Wall times are medians of ``--runs`` runs; the
machine is shared, so they are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._children import child_env, compile_project  # noqa: E402

SUMMARY_SHARE = 5.0  # per cent of the process, at most
TARGET = 1 / 3
FORMULATIONS = ("bonus", "exact")


def write_folder(folder: Path, n_p: int, n_e: int, seed: int) -> dict[str, float]:
    """The call folder plus its dense affinity.parquet; returns seconds spent and sizes."""
    import polars as pl

    import assignment
    from evalpanel.callfolder import read_call
    from fixtures.generate import write_call

    t = time.perf_counter()
    write_call(folder, seed=seed, n_proposals=n_p, n_experts=n_e)
    (folder / "scores.csv").unlink(missing_ok=True)
    call = read_call(folder)
    aff = assignment.compute_affinity(call.proposals, call.experts)
    pids, eids = call.proposals["proposal_id"], call.experts["expert_id"]
    frame = pl.DataFrame(
        {
            "proposal_id": pids.gather(pl.int_range(0, n_p * n_e, eager=True) // n_e),
            "expert_id": eids.gather(pl.int_range(0, n_p * n_e, eager=True) % n_e),
            "affinity": aff.reshape(-1).astype("float64"),
        }
    )
    frame.write_parquet(folder / "affinity.parquet")
    return {
        "setup_s": time.perf_counter() - t,
        "rows": float(frame.height),
        "parquet_mb": (folder / "affinity.parquet").stat().st_size / 2**20,
    }


def _fixed_args(folder: Path) -> list[str]:
    """``--pinned`` / ``--existing`` for a reassignment case (files beside the call folder)."""
    args: list[str] = []
    for name in ("pinned", "existing"):
        path = folder.parent / f"{name}.csv"
        if path.is_file():
            args += [f"--{name}", str(path)]
    return args


def run_process(folder: Path, k: int, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "evalpanel.cli", "assign", str(folder), "-k", str(k), "--json",
           "-o", str(out), *_fixed_args(folder)]  # fmt: skip
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), cwd=ROOT)
    wall = time.perf_counter() - t
    if done.returncode not in (0, 3):
        raise SystemExit(f"evalpanel assign failed ({done.returncode}):\n{done.stderr}")
    summary: dict[str, Any] = json.loads(done.stdout)
    summary["wall_s"] = wall
    return summary


def child_baseline(folder: Path, k: int, exact: bool) -> None:
    """Read, check, plan and solve densely; print a JSON line (run as a subprocess)."""
    t0 = time.perf_counter()
    import polars as pl

    from assignment.solvers import solve_dense_baseline
    from assignment.solvers._network import Uncoverable
    from evalpanel.callfolder import read_call
    from evalpanel.planning import plan

    fixed = {name: pl.read_csv(folder.parent / f"{name}.csv", infer_schema=False)
             for name in ("pinned", "existing") if (folder.parent / f"{name}.csv").is_file()}
    inst = plan(read_call(folder), k=k, **fixed).instance
    t1 = time.perf_counter()
    try:
        pairs, total = solve_dense_baseline(inst, exact=exact)
    except Uncoverable:  # exact: not every slot can be filled, the formulation does not apply
        print(json.dumps({"prepare_s": t1 - t0, "uncoverable": True}))
        return
    t2 = time.perf_counter()
    fixed_pairs = inst.fixed_pairs()
    total += float(inst.affinity[fixed_pairs[:, 0], fixed_pairs[:, 1]].astype("float64").sum())
    print(json.dumps({"prepare_s": t1 - t0, "solve_s": t2 - t1, "objective": total,
                      "pairs": int(pairs.shape[0])}))  # fmt: skip


def run_baseline(folder: Path, k: int, formulation: str) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--baseline-child", str(folder),
           "-k", str(k), "--formulation", formulation]  # fmt: skip
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), cwd=ROOT,
                          check=True)
    wall = time.perf_counter() - t
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out["wall_s"] = wall
    return out


def conflicts_workload(folder: Path, n_p: int, n_e: int, seed: int, languages: str) -> Path:
    """Frames of a generated call (``fixtures.generate.write_call``, no affinity file) with its
    own languages (``generated``: the language rule excludes about 7.5 % of the pairs) or with
    languages spread so that about a quarter of all pairs is a language conflict (``quarter``:
    10 M rows at 10,000 × 4,000; 60 % of proposals in English, the rest in fr/de/es/it; 90 % of
    experts read English, each reads two of the four others)."""
    import numpy as np
    import polars as pl

    from evalpanel.callfolder import read_call
    from fixtures.generate import write_call

    write_call(folder, seed=seed, n_proposals=n_p, n_experts=n_e)
    (folder / "scores.csv").unlink(missing_ok=True)
    call = read_call(folder)
    proposals, experts = call.proposals, call.experts
    if languages == "quarter":
        rng = np.random.default_rng(seed)
        others = np.array(["fr", "de", "es", "it"])
        language = np.where(rng.random(n_p) < 0.6, "en", others[rng.integers(0, 4, n_p)])
        two = np.argsort(rng.random((n_e, 4)), axis=1)[:, :2]
        english = rng.random(n_e) < 0.9
        reads = [(["en"] if english[i] else []) + others[two[i]].tolist() for i in range(n_e)]
        proposals = proposals.with_columns(language=pl.Series(language.tolist()))
        experts = experts.with_columns(languages=pl.Series(reads, dtype=pl.List(pl.String)))
    out = folder / "frames"
    out.mkdir(exist_ok=True)
    proposals.write_parquet(out / "proposals.parquet")
    experts.write_parquet(out / "experts.parquet")
    call.partners.write_parquet(out / "partners.parquet")
    call.conflicts.write_parquet(out / "conflicts.parquet")
    return out


def _use_checkout(impl: Path) -> None:
    """Import ``assignment`` and ``evalpanel`` from another checkout from now on."""
    sys.path.insert(0, str(impl))
    for name in [m for m in sys.modules if m.split(".")[0] in ("assignment", "evalpanel")]:
        del sys.modules[name]


def child_conflicts(frames_dir: Path, impl: Path | None, step: str) -> None:
    """Peak RSS of one conflicts step on the saved frames; print a JSON line.

    ``find``: one ``find_conflicts`` call (the rows, as the commands that show or write them
    get them). ``plan``: what ``evalpanel assign`` does with the conflicts, through the
    instance: ``evalpanel.planning.plan`` on the call folder (its conflicts, potential
    conflicts and instance; the affinity a constant (P, E) view that takes no memory, so only
    the main-field mask is added to the conflicts' own memory), then the instance's
    ``blocked_codes`` (the sorted excluded pairs every solver starts from). ``impl``: another
    checkout (a directory), or with ``find`` another ``assignment/conflicts.py``."""
    import dataclasses
    import datetime as dt
    import importlib.util
    import resource

    import numpy as np
    import polars as pl

    if impl is not None and impl.is_dir():
        _use_checkout(impl)
    import assignment

    frames = {
        name: pl.read_parquet(frames_dir / f"{name}.parquet")
        for name in ("proposals", "partners", "experts", "conflicts")
    }

    def rss_mb() -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2**20

    out: dict[str, Any] = {"step": step}
    if step == "plan":
        from evalpanel.callfolder import read_call
        from evalpanel.phases import PhaseTimer
        from evalpanel.planning import plan

        call = dataclasses.replace(
            read_call(frames_dir.parent), proposals=frames["proposals"],
            experts=frames["experts"], affinity_matrix=np.broadcast_to(
                np.float32(0.5), (frames["proposals"].height, frames["experts"].height)))
        before = rss_mb()
        timer = PhaseTimer()
        t = time.perf_counter()
        inst = plan(call, k=3, today=dt.date(2026, 3, 1), timer=timer).instance
        blocked = inst.blocked_codes()
        out.update(seconds=time.perf_counter() - t, phases=timer.rounded(),
                   rows=inst.conflicted_pair_count(), blocked=int(blocked.size))
    else:
        find = assignment.find_conflicts
        if impl is not None and not impl.is_dir():  # another assignment/conflicts.py
            spec = importlib.util.spec_from_file_location("assignment._conflicts_other", impl)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            find = module.find_conflicts
        before = rss_mb()
        t = time.perf_counter()
        found = find(frames["proposals"], frames["partners"], frames["experts"],
                     frames["conflicts"], today=dt.date(2026, 3, 1))  # fmt: skip
        out.update(seconds=time.perf_counter() - t, rows=found.height,
                   result_mb=found.estimated_size("mb"),
                   language_rows=found.filter(pl.col("reason") == "language").height)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.update(rss_before_mb=before, rss_after_mb=rss_mb(), peak_mb=usage.ru_maxrss / 1024,
               cpu_s=usage.ru_utime + usage.ru_stime)
    print(json.dumps(out))


def conflicts_memory(args: argparse.Namespace) -> int:
    n_p, n_e = map(int, args.conflicts_memory.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="assign_conflicts_"))
    try:
        frames_dir = conflicts_workload(tmp / "call", n_p, n_e, args.seed, args.languages)
        impls = [args.conflicts_impl, None] if args.conflicts_impl is not None else [None]
        for impl in impls:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--conflicts-child",
                   str(frames_dir), "--conflicts-step", args.conflicts_step]  # fmt: skip
            if impl is not None:
                cmd += ["--conflicts-impl", str(impl)]
            done = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), cwd=ROOT,
                                  check=True)  # fmt: skip
            out = json.loads(done.stdout.strip().splitlines()[-1])
            phases = {k: v for k, v in out.get("phases", {}).items() if v}
            what = (f"{out['rows']:,} rows ({out['language_rows']:,} language)"
                    if args.conflicts_step == "find" else
                    f"{out['rows']:,} excluded pairs, phases {_phase_line(phases)}")
            print(f"{impl or ROOT}: {args.conflicts_step} at {n_p} x {n_e} ({args.languages} "
                  f"languages): {what}; {out['seconds']:.2f} s, CPU {out['cpu_s']:.2f} s; "
                  f"peak RSS {out['peak_mb']:.0f} MB, {out['peak_mb'] - out['rss_before_mb']:.0f}"
                  f" MB above the {out['rss_before_mb']:.0f} MB before, "
                  f"{out['rss_after_mb']:.0f} MB after"
                  + (f"; result frame {out['result_mb']:.0f} MB" if "result_mb" in out else ""))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def name_organisations(folder: Path, n_orgs: int, seed: int) -> dict[str, int]:
    """Rename the call's organisations "Organisation N University" with N <= ``n_orgs``:
    partner row i is organisation N = i mod ``n_orgs`` + 1, each expert's organisation a random
    N; which ids the generator left out is kept. Returns counts for the report."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    partners = pl.read_csv(folder / "partners.csv", infer_schema_length=0)
    experts = pl.read_csv(folder / "experts.csv", infer_schema_length=0)
    partners = partners.with_columns(
        org_name=pl.format("Organisation {} University", pl.int_range(pl.len()) % n_orgs + 1)
    )
    picks = pl.Series(rng.integers(1, n_orgs + 1, experts.height))
    experts = experts.with_columns(
        org_name=pl.when(pl.col("org_name").is_not_null())
        .then(pl.format("Organisation {} University", picks))
    )
    partners.write_csv(folder / "partners.csv", line_terminator="\n")
    experts.write_csv(folder / "experts.csv", line_terminator="\n")
    return {
        "names": partners["org_name"].n_unique(),
        "partners_without_id": partners["org_id"].null_count(),
        "experts_without_id": experts["org_id"].null_count(),
    }


def child_plan(folder: Path, impl: Path | None) -> None:
    """Time ``read_call`` and ``plan`` (and the conflict steps inside it) on a call folder, with
    the code of ``impl`` (another checkout) when given; print a JSON line."""
    if impl is not None:
        _use_checkout(impl)
    import datetime as dt

    import assignment
    from evalpanel.callfolder import read_call
    from evalpanel.planning import plan

    t0 = time.perf_counter()
    call = read_call(folder)
    t1 = time.perf_counter()
    plan(call, k=3, today=dt.date(2026, 3, 1))
    t2 = time.perf_counter()
    found = assignment.find_conflicts(call.proposals, call.partners, call.experts, call.conflicts,
                                      today=dt.date(2026, 3, 1))  # fmt: skip
    t3 = time.perf_counter()
    out = {"read_s": t1 - t0, "plan_s": t2 - t1, "find_conflicts_s": t3 - t2,
           "conflict_rows": found.height,
           "organisation_name_rows": found.filter(found["reason"] == "organisation_name").height}
    find_potential = getattr(assignment, "find_potential_conflicts", None)
    if find_potential is not None:
        t4 = time.perf_counter()
        potential = find_potential(call.partners, call.experts, found)
        out.update(find_potential_s=time.perf_counter() - t4, potential_rows=potential.height)
    print(json.dumps(out))


def plan_time(args: argparse.Namespace) -> int:
    """The plan at ``--proposals`` x ``--experts`` with ``--org-names`` organisation names."""
    tmp = Path(tempfile.mkdtemp(prefix="plan_time_"))
    folder = args.folder or tmp / "call"
    try:
        if not (args.reuse and args.folder and (folder / "affinity.parquet").is_file()):
            write_folder(folder, args.proposals, args.experts, args.seed)
            counts = name_organisations(folder, args.org_names, args.seed)
            print(f"call {args.proposals} x {args.experts}: {counts['names']:,} organisation "
                  f"names \"Organisation N University\" (N <= {args.org_names:,}), "
                  f"{counts['partners_without_id']:,} partner rows and "
                  f"{counts['experts_without_id']:,} experts without an organisation id")
        runs = []
        for _ in range(args.runs):
            cmd = [sys.executable, str(Path(__file__).resolve()), "--plan-child", str(folder)]
            if args.impl:
                cmd += ["--impl", str(args.impl)]
            done = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), cwd=ROOT,
                                  check=True)  # fmt: skip
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        keys = [k for k in runs[0] if k.endswith("_s")]
        med = {k: statistics.median(r[k] for r in runs) for k in keys}
        print(f"code: {args.impl or ROOT}; median of {args.runs} runs:")
        print("  " + ", ".join(f"{k[:-2]} {v:.2f} s" for k, v in med.items()))
        print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in runs[0].items()
                                       if not k.endswith("_s")))  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _phase_line(phases: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.2f}" for k, v in phases.items())


def family(args: argparse.Namespace) -> int:
    """Every case of :mod:`benchmarks.call_shapes`: the process and both dense baselines side by
    side, ``--runs`` times each (interleaved), medians and ratios per case."""
    from benchmarks.call_shapes import CASES, write_case

    wanted = [c for c in CASES if not args.cases or c.name in args.cases.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="assign_family_"))
    root = args.folder or tmp
    base = root / "base"
    rows: list[dict[str, Any]] = []
    try:
        if not (args.reuse and (base / "affinity.parquet").is_file()):
            write_folder(base, args.proposals, args.experts, args.seed)
        print(f"family at {args.proposals} x {args.experts}, {len(wanted)} cases, "
              f"{args.runs} run(s) each; load average {os.getloadavg()[0]:.1f}")
        for case in wanted:
            out = root / case.name
            folder = out / "call"
            if not (args.reuse and (folder / "affinity.parquet").is_file()):
                write_case(base, case, out, args.seed)
            procs: list[dict[str, Any]] = []
            bases: dict[str, list[dict[str, Any]]] = {f: [] for f in FORMULATIONS}
            for _ in range(args.runs):
                procs.append(run_process(folder, case.k, tmp / "pairs.csv"))
                for f in FORMULATIONS:
                    bases[f].append(run_baseline(folder, case.k, f))
            row = _family_row(case.name, case.what, procs, bases)
            rows.append(row)
            print(f"  {case.name:10s} process {row['process']:6.2f} s | bonus "
                  f"{row['bonus']:6.2f} s (solve {row['bonus_solve']:5.2f}) {row['r_bonus']:.3f}"
                  " | exact "
                  f"{row['exact']:6.2f} s (solve {row['exact_solve']:5.2f}) {row['r_exact']:.3f}"
                  f" | rounds {row['rounds']} | {_phase_line(row['phases'])}"
                  f"{' | ' + row['note'] if row['note'] else ''}", flush=True)
        _family_table(rows, args.runs)
    finally:
        if args.folder is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _family_row(name: str, what: str, procs: list[dict[str, Any]],
                bases: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    med = statistics.median
    proc = med(p["wall_s"] for p in procs)
    row: dict[str, Any] = {"case": name, "what": what, "process": proc,
                           "rounds": procs[0]["certificate"]["rounds"], "note": ""}
    row["phases"] = {k: med(p["phases"][k] for p in procs) for k in procs[0]["phases"]}
    row["in_process"] = med(p["seconds"] for p in procs)
    objective = procs[0]["objective"]
    assert procs[0]["certificate"]["violations"] == 0, f"{name}: the certificate failed"
    for f in FORMULATIONS:
        ok = [b for b in bases[f] if not b.get("uncoverable")]
        if not ok:
            row[f] = row[f"{f}_solve"] = row[f"r_{f}"] = float("nan")
            row["note"] += f"{f}: not every slot can be filled; "
            continue
        row[f] = med(b["wall_s"] for b in ok)
        row[f"{f}_solve"] = med(b["solve_s"] for b in ok)
        row[f"r_{f}"] = proc / row[f]
        base_obj = ok[0]["objective"]
        if abs(objective - base_obj) > 1e-6 * max(1.0, abs(base_obj)):
            raise SystemExit(f"{name}: objectives differ, process {objective} vs {f} {base_obj}")
    return row


def _family_table(rows: list[dict[str, Any]], runs: int) -> None:
    print(f"\nmedians of {runs} run(s); ratio = process wall / baseline child wall (read, "
          "check, plan, dense solve); target <= 1/3 every case, <= 1/4 median")
    print("| case | shape | process s | bonus s | exact s | process/bonus | process/exact | "
          "rounds | read | conflicts | affinity | plan | solve | certify | summary | write | "
          "summary % |")
    print("|" + " --- |" * 17)
    for r in rows:
        ph = r["phases"]
        print(f"| {r['case']} | {r['what']} | {r['process']:.2f} | {r['bonus']:.2f} | "
              f"{r['exact']:.2f} | {r['r_bonus']:.3f} | {r['r_exact']:.3f} | {r['rounds']} | "
              + " | ".join(f"{ph[k]:.2f}" for k in ph)
              + f" | {100 * ph['summary'] / r['process']:.1f} |")
    for f in FORMULATIONS:
        ratios = [r[f"r_{f}"] for r in rows if r[f"r_{f}"] == r[f"r_{f}"]]
        if ratios:
            worst = max(ratios)
            print(f"against {f}: median ratio {statistics.median(ratios):.3f} (target <= 0.25: "
                  f"{'ok' if statistics.median(ratios) <= 0.25 else 'MISSED'}), worst "
                  f"{worst:.3f} (target <= 0.333: {'ok' if worst <= TARGET else 'MISSED'})")
    shares = [100 * r["phases"]["summary"] / r["process"] for r in rows]
    if shares:
        print(f"summary and diagnostics after the solve: median {statistics.median(shares):.1f} %, "
              f"worst {max(shares):.1f} % of the process (target <= 5 %: "
              f"{'ok' if max(shares) <= SUMMARY_SHARE else 'MISSED'})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=5000)
    parser.add_argument("--experts", type=int, default=2000)
    parser.add_argument("-k", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--folder", type=Path, help="keep the call folder here (default: temp)")
    parser.add_argument(
        "--conflicts-memory",
        metavar="PxE",
        help="instead: peak memory of the conflicts on a generated call of that size (e.g. "
        "10000x4000); see --conflicts-step, --languages, --conflicts-impl",
    )
    parser.add_argument(
        "--conflicts-step",
        choices=("find", "plan"),
        default="find",
        help="with --conflicts-memory: find_conflicts' rows (default), or the plan's conflicts "
        "through the instance and its blocked pairs (what evalpanel assign keeps)",
    )
    parser.add_argument(
        "--languages",
        choices=("quarter", "generated"),
        default="quarter",
        help="with --conflicts-memory: languages spread so a quarter of the pairs conflict "
        "(default), or the generated call's own (about 7.5 %%)",
    )
    parser.add_argument(
        "--conflicts-impl",
        type=Path,
        help="with --conflicts-memory: also run another checkout (a directory; or, with "
        "--conflicts-step find, an assignment/conflicts.py) first, side by side",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="with --folder: use the call already written there"
    )
    parser.add_argument(
        "--org-names",
        type=int,
        metavar="N",
        help="instead: time the plan (read, conflicts, potential conflicts, instance) with the "
        "organisations named \"Organisation N University\", N <= this (e.g. 15000)",
    )
    parser.add_argument("--impl", type=Path, help="with --org-names: run another checkout's code")
    parser.add_argument(
        "--family",
        action="store_true",
        help="instead: every call shape of benchmarks/call_shapes.py against both baselines",
    )
    parser.add_argument("--cases", help="with --family: comma-separated case names")
    parser.add_argument("--plan-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--baseline-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--formulation", choices=FORMULATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--conflicts-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline_child is not None:
        child_baseline(args.baseline_child, args.k, args.formulation == "exact")
        return 0
    if args.conflicts_child is not None:
        child_conflicts(args.conflicts_child, args.conflicts_impl, args.conflicts_step)
        return 0
    if args.conflicts_memory:
        return conflicts_memory(args)
    if args.plan_child is not None:
        child_plan(args.plan_child, args.impl)
        return 0
    compile_project()  # see benchmarks._children: the timed processes run from bytecode
    if args.org_names:
        return plan_time(args)
    if args.family:
        return family(args)

    tmp = Path(tempfile.mkdtemp(prefix="assign_process_"))
    folder = args.folder or tmp / "call"
    try:
        if args.reuse and args.folder and (folder / "affinity.parquet").is_file():
            print(f"call {args.proposals} x {args.experts}, k = {args.k}: reusing {folder}")
        else:
            setup = write_folder(folder, args.proposals, args.experts, args.seed)
            size, rows = f"{args.proposals} x {args.experts}", int(setup["rows"])
            mb, secs = setup["parquet_mb"], setup["setup_s"]
            print(f"call {size}, k = {args.k}: {rows:,} affinity rows, affinity.parquet "
                  f"{mb:.0f} MB (written in {secs:.0f} s)")  # fmt: skip
        procs: list[dict[str, Any]] = []
        bases: dict[str, list[dict[str, Any]]] = {f: [] for f in FORMULATIONS}
        for i in range(args.runs):
            procs.append(run_process(folder, args.k, tmp / "pairs.csv"))
            line = f"  run {i + 1}: process {procs[-1]['wall_s']:.2f} s " \
                   f"(solver {procs[-1]['solver_seconds']:.2f} s)"  # fmt: skip
            for f in FORMULATIONS:
                bases[f].append(run_baseline(folder, args.k, f))
                line += f"; {f} solve {bases[f][-1]['solve_s']:.2f} s " \
                        f"(child {bases[f][-1]['wall_s']:.2f} s)"  # fmt: skip
            print(line)
        proc_wall = statistics.median(p["wall_s"] for p in procs)
        objective, cert = procs[0]["objective"], procs[0]["certificate"]
        print(f"median of {args.runs} runs:")
        print(f"  evalpanel assign process (wall, subprocess): {proc_wall:8.2f} s")
        for f in FORMULATIONS:
            solve_only = statistics.median(b["solve_s"] for b in bases[f])
            base_wall = statistics.median(b["wall_s"] for b in bases[f])
            prepare = statistics.median(b["prepare_s"] for b in bases[f])
            r1, r2 = proc_wall / solve_only, proc_wall / base_wall
            print(f"  dense {f} baseline: solve alone {solve_only:.2f} s, whole child "
                  f"{base_wall:.2f} s (read + check + plan {prepare:.2f} s)")  # fmt: skip
            verdict = f"target <= {TARGET:.3f}: {'ok' if r1 <= TARGET else 'MISSED'}"
            if f == "exact":  # a different problem: valid only when every slot can be filled
                verdict = f"for reference, {'under' if r1 <= TARGET else 'above'} 1/3"
            print(f"    process / solve alone: {r1:.3f} ({verdict}); process / whole child: "
                  f"{r2:.3f}")  # fmt: skip
            base_obj = bases[f][0]["objective"]
            same = abs(objective - base_obj) <= 1e-6 * max(1.0, abs(base_obj))
            print(f"    objective: process {objective:.6f}, baseline {base_obj:.6f} "
                  f"({'equal' if same else 'DIFFERENT'} to 1e-6 relative); pairs "
                  f"{procs[0]['pairs']} vs {bases[f][0]['pairs']}")  # fmt: skip
            assert same, f"objectives differ: {objective} != {base_obj}"
        print(f"  process: {procs[0]['status']}; certificate: {cert}")
        assert cert["violations"] == 0, "the certificate found violations"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
