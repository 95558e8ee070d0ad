"""Store benchmark: import, batch preview/publish, concurrent draft saves and score reads,
on SQLite and (when EVALPANEL_TEST_PG_URL is set) PostgreSQL.

    PYTHONPATH=. python benchmarks/bench_store.py [--proposals 400] [--experts 300] [--repeat 3]

Prints the median wall time of each step over ``--repeat`` runs (seconds) and the
PostgreSQL / SQLite ratio measured in the same run. The call is synthetic (no data files).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import sqlalchemy as sa

from evalpanel.callfolder.model import CallConfig, CallFolder, Lot
from evalpanel.callfolder.schema import polars_schema
from evalpanel.store import (
    SYSTEM,
    Actor,
    accept_task,
    create_batch,
    create_user,
    import_call,
    link_expert,
    list_tasks,
    make_engine,
    publish_batch,
    save_draft,
    scores_frame,
    submit_evaluation,
)
from evalpanel.store.tables import metadata


def synthetic_call(n_p: int, n_e: int, seed: int = 0) -> CallFolder:
    rng = np.random.default_rng(seed)
    pids = [f"P{i:05d}" for i in range(n_p)]
    eids = [f"E{i:05d}" for i in range(n_e)]
    props = pl.DataFrame({
        "proposal_id": pids, "lot": ["L1"] * n_p, "title": [f"Proposal {p}" for p in pids],
        "abstract": ["An abstract " * 20] * n_p, "language": ["en"] * n_p,
        "fields": [["0714"]] * n_p, "ecosystems": [["Digital"]] * n_p,
        "keywords": [["ai", "skills"]] * n_p, "requested_eur": rng.uniform(2e5, 1e6, n_p),
    }, schema=polars_schema("proposals"))
    parts = pl.DataFrame({
        "proposal_id": [p for p in pids for _ in range(4)],
        "org_id": [f"9{i:08d}" for i in range(4 * n_p)],
        "org_name": [f"Org {i}" for i in range(4 * n_p)], "country": ["DE"] * (4 * n_p),
        "role": ["coordinator", "partner", "partner", "associated"] * n_p,
    }, schema=polars_schema("partners"))
    exps = pl.DataFrame({
        "expert_id": eids, "name": eids, "email": [f"{e}@x.org" for e in eids],
        "org_id": [f"8{i:08d}" for i in range(n_e)], "org_name": [""] * n_e,
        "country": ["FR"] * n_e, "nationality": [None] * n_e, "gender": [None] * n_e,
        "languages": [["en"]] * n_e, "fields": [["0714"]] * n_e, "ecosystems": [[]] * n_e,
        "keywords": [[]] * n_e, "profile": ["profile text " * 30] * n_e,
        "max_load": [8] * n_e, "min_load": [0] * n_e,
    }, schema=polars_schema("experts"))
    pi, ei = np.meshgrid(np.arange(n_p), np.arange(n_e), indexing="ij")
    aff = pl.DataFrame({"proposal_id": np.array(pids)[pi.ravel()],
                        "expert_id": np.array(eids)[ei.ravel()],
                        "affinity": rng.uniform(0, 1, n_p * n_e).round(4)})
    return CallFolder(
        path=Path("synthetic"), config=CallConfig("BENCH", "bench", "erasmus-afi", 2,
                                                  {"L1": Lot("L1", 1e8)}),
        proposals=props, partners=parts, experts=exps,
        conflicts=pl.DataFrame(schema=polars_schema("conflicts")), affinity=aff, scores=None,
        content_hash="bench")


def assignment(n_p: int, n_e: int, k: int, shift: int) -> pl.DataFrame:
    rows = [(f"P{p:05d}", f"E{(p * k + j + shift) % n_e:05d}") for p in range(n_p)
            for j in range(k)]
    return pl.DataFrame(rows, schema={"proposal_id": pl.String, "expert_id": pl.String},
                        orient="row").with_columns(affinity=pl.lit(0.5))


def fresh(url: str) -> sa.Engine:
    if url.startswith("postgresql"):
        eng = sa.create_engine(url)
        with eng.begin() as conn:
            metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        eng.dispose()
    return make_engine(url)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_once(url: str, call: CallFolder, writers: int, saves: int) -> dict[str, float]:
    n_p, n_e = call.proposals.height, call.experts.height
    engine = fresh(url)
    out = {"import": timed(lambda: import_call(engine, call))}
    b1 = create_batch(engine, SYSTEM, "BENCH", assignment(n_p, n_e, 2, 0), solver="bench",
                      parameters={}, seed=0, summary={}, elapsed_s=0.0)
    out["publish (all added)"] = timed(lambda: publish_batch(engine, SYSTEM, b1))
    holder: list[int] = []
    out["preview (change-set)"] = timed(lambda: holder.append(create_batch(
        engine, SYSTEM, "BENCH", assignment(n_p, n_e, 2, 1), solver="bench", parameters={},
        seed=1, summary={}, elapsed_s=0.0)))
    out["publish (half changed)"] = timed(lambda: publish_batch(engine, SYSTEM, holder[0]))
    tasks = list_tasks(engine, SYSTEM, "BENCH").filter(pl.col("state") == "assigned")
    tasks = tasks.unique("expert_id", keep="first").sort("task_id").head(writers)
    actors = []
    for i, (task_id, expert_id) in enumerate(tasks.select("task_id", "expert_id").iter_rows()):
        uid = create_user(engine, SYSTEM, f"u{i}", "expert")
        link_expert(engine, SYSTEM, uid, "BENCH", expert_id)
        actors.append((Actor(uid, "expert"), task_id))
        accept_task(engine, actors[-1][0], task_id)
    sheet = pl.DataFrame({"criterion": ["relevance", "quality", "partnership", "impact"],
                          "score": [20.0, 25.0, 15.0, 20.0], "comment": ["x" * 500] * 4})

    def work(item: tuple[Actor, int]) -> None:
        version = 0
        for _ in range(saves):
            version = save_draft(engine, item[0], item[1], sheet, expected_version=version)
        submit_evaluation(engine, item[0], item[1], expected_version=version)

    with ThreadPoolExecutor(max_workers=writers) as pool:
        out[f"{writers} writers x {saves} saves"] = timed(lambda: list(pool.map(work, actors)))
    out["scores_frame"] = timed(lambda: scores_frame(engine, SYSTEM, "BENCH"))
    engine.dispose()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--proposals", type=int, default=400)
    ap.add_argument("--experts", type=int, default=300)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--saves", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    call = synthetic_call(args.proposals, args.experts)
    backends = {"sqlite": None}
    if os.environ.get("EVALPANEL_TEST_PG_URL"):
        backends["postgres"] = os.environ["EVALPANEL_TEST_PG_URL"]
    print(f"call: {args.proposals} proposals, {args.experts} experts, "
          f"{call.affinity.height if call.affinity is not None else 0} affinity rows, "
          f"{call.partners.height} partners; {args.repeat} runs, median seconds")
    results: dict[str, dict[str, float]] = {}
    for name, url in backends.items():
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(run_once(url or f"sqlite:///{tmp}/bench.sqlite", call,
                                     args.writers, args.saves))
        results[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    steps = list(results["sqlite"])
    header = f"{'step':28s}" + "".join(f"{b:>10s}" for b in results)
    print(header + ("  pg/sqlite" if "postgres" in results else ""))
    for step in steps:
        line = f"{step:28s}" + "".join(f"{results[b][step]:10.3f}" for b in results)
        if "postgres" in results:
            line += f"  {results['postgres'][step] / results['sqlite'][step]:9.2f}"
        print(line)
    total = args.writers * args.saves
    for b in results:
        rate = total / results[b][f"{args.writers} writers x {args.saves} saves"]
        print(f"{b}: {rate:.0f} draft saves/s with {args.writers} concurrent writers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
