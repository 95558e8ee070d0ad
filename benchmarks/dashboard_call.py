"""A generated call at the scale of a real one, stored with its evaluation under way, for the
dashboard's page-time benchmark and its browser journey at scale.

    PYTHONPATH=. python -m benchmarks.dashboard_call URL [--proposals 5000] [--experts 2000]

``build_call(url)`` writes a call folder with :func:`fixtures.generate.write_call`, reads and
imports it as ``evalpanel import`` does, creates the demo accounts (``manager``,
``expert1``…``expertN``, ``applicant``; password ``demo``; so the database must be empty or a
former demo database), stores the generated panels as one batch and publishes it through the
batch services (the conflict rule checks every pair). A few experts decline through the task
services. Then, for speed, the evaluations and consolidations are written in bulk with the rows
the evaluation services write (tasks, evaluation versions, scores, audit lines): a share of the
proposals fully submitted and consolidated, some submitted without consolidation, some with a
draft or an accepted task, the rest untouched. Experts ``expert1`` and ``expert2`` keep tasks
that are still assigned, for a browser journey to accept and score.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa

from evalpanel.callfolder import read_call
from evalpanel.demo import prepare_database
from evalpanel.store import (
    Actor,
    create_batch,
    create_demo_accounts,
    decline_task,
    import_call,
    list_tasks,
    publish_batch,
)
from evalpanel.store.tables import (
    audit_log,
    consolidation_approvals,
    consolidation_scores,
    consolidations,
    evaluation_scores,
    evaluations,
    tasks,
)
from fixtures.generate import write_call

CALL_ID = "AFI-2026-SCALE"


@dataclass(frozen=True, slots=True)
class ScaleCall:
    """What :func:`build_call` stored: counts, and the accounts by username."""

    url: str
    call_id: str
    accounts: dict[str, int]
    counts: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)


def _chunks(rows: list[dict[str, Any]], size: int = 5000) -> list[list[dict[str, Any]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        conn.execute(table.insert(), chunk)


def build_call(
    url: str,
    *,
    n_proposals: int = 5000,
    n_experts: int = 2000,
    n_conflicts: int | None = None,
    submitted_share: float = 0.7,
    consolidated_share: float = 0.5,
    seed: int = 2026,
    progress: Any = None,
) -> ScaleCall:
    """Build the call into ``url`` (see the module docstring). Of the proposals, the first
    ``consolidated_share`` (in a seeded random order) are submitted by their whole panel and
    consolidated, up to ``submitted_share`` submitted only, a tenth more have one draft and one
    accepted task, the rest are assigned."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        timings[name] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()
        if progress is not None:
            progress(f"{name}: {timings[name]} s")

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_call(Path(tmp) / "call", seed=seed, n_proposals=n_proposals,
                            n_experts=n_experts, n_conflicts=n_conflicts, call_id=CALL_ID)
        call = read_call(folder)
    step("generate and read")
    engine = prepare_database(url)
    import_call(engine, call)
    accounts = create_demo_accounts(engine, call.experts.height, call_id=CALL_ID)
    manager = Actor(accounts["manager"], "manager")
    expert_ids = call.experts["expert_id"].to_list()
    user_of = {eid: accounts[f"expert{i}"] for i, eid in enumerate(expert_ids, start=1)}
    step("import and accounts")

    assert call.scores is not None
    panels = call.scores.select("proposal_id", "expert_id").unique().sort("proposal_id",
                                                                          "expert_id")
    batch = create_batch(engine, manager, CALL_ID, panels.with_columns(affinity=pl.lit(0.5)),
                         solver="generated panels", parameters={}, seed=seed, summary={},
                         elapsed_s=0.0)
    publish_batch(engine, manager, batch)
    step("batch")

    rng = np.random.default_rng(seed)
    all_tasks = list_tasks(engine, manager, CALL_ID).sort("task_id")
    pids = all_tasks["proposal_id"].unique().sort().to_list()
    order = [pids[i] for i in rng.permutation(len(pids))]
    # expert1 and expert2 keep their assigned tasks for a journey to accept and score
    keep = {expert_ids[0], expert_ids[1]}
    kept = set(all_tasks.filter(pl.col("expert_id").is_in(list(keep)))["proposal_id"])
    order = [p for p in order if p not in kept] + sorted(kept)
    n_cons = int(consolidated_share * len(order))
    n_sub = int(submitted_share * len(order))
    n_draft = min(len(order) - len(kept), n_sub + len(order) // 10)
    consolidated, submitted = order[:n_cons], order[:n_sub]
    drafting = order[n_sub:n_draft]

    # A few declines through the services (each opens a replacement request).
    declined = 0
    for task_id, eid in (
        all_tasks.filter(pl.col("proposal_id").is_in(order[n_draft : n_draft + 12]))
        .unique("proposal_id", keep="first")
        .select("task_id", "expert_id")
        .iter_rows()
    ):
        if eid in keep:
            continue
        decline_task(engine, Actor(user_of[eid], "expert"), task_id,
                     "I advised one of the partners last year")
        declined += 1
    step("declines")

    scores = call.scores
    by_task = all_tasks.select("task_id", "proposal_id", "expert_id")
    sub_tasks = by_task.filter(pl.col("proposal_id").is_in(submitted))
    draft_pids = by_task.filter(pl.col("proposal_id").is_in(drafting)).sort("task_id")
    first_of = draft_pids.unique("proposal_id", keep="first", maintain_order=True)
    second_of = draft_pids.join(first_of.select("task_id"), on="task_id", how="anti")
    stamp = datetime.now(UTC)
    with engine.begin() as conn:
        for frame, task_state, status in ((sub_tasks, "submitted", "submitted"),
                                          (first_of, "draft", "draft")):
            ids = frame["task_id"].to_list()
            for chunk in (ids[i : i + 5000] for i in range(0, len(ids), 5000)):
                conn.execute(tasks.update().where(tasks.c.task_id.in_(chunk))
                             .values(state=task_state, updated_at=stamp))
            _insert(conn, evaluations, [
                {"task_id": t, "version_no": 1, "status": status, "row_version": 1,
                 "created_at": stamp, "updated_at": stamp,
                 "submitted_at": stamp if status == "submitted" else None}
                for t in ids
            ])
        ids2 = second_of["task_id"].to_list()
        for chunk in (ids2[i : i + 5000] for i in range(0, len(ids2), 5000)):
            conn.execute(tasks.update().where(tasks.c.task_id.in_(chunk))
                         .values(state="accepted", updated_at=stamp))
        ev = pl.DataFrame(
            conn.execute(sa.select(evaluations.c.evaluation_id, evaluations.c.task_id,
                                   evaluations.c.status)
                         .join(tasks, tasks.c.task_id == evaluations.c.task_id)
                         .where(tasks.c.call_id == CALL_ID)).all(),
            schema={"evaluation_id": pl.Int64, "task_id": pl.Int64, "status": pl.String},
            orient="row",
        ).join(by_task, on="task_id")
        rows = ev.join(scores, on=["proposal_id", "expert_id"]).select(
            "evaluation_id", "criterion", "score", "comment")
        _insert(conn, evaluation_scores, rows.to_dicts())
        _insert(conn, audit_log, [
            {"at": stamp, "user_id": user_of[eid], "role": "expert",
             "action": "submit" if status == "submitted" else "save_draft",
             "entity": "evaluation", "entity_id": str(evaluation_id), "call_id": CALL_ID,
             "before": None, "after": {"version_no": 1, "task_id": task_id}}
            for evaluation_id, task_id, status, _pid, eid in ev.rows()
        ])

        # Consolidation: the panel's mean per criterion, rounded to the point, approved by all.
        cons_scores = (
            scores.filter(pl.col("proposal_id").is_in(consolidated))
            .group_by("proposal_id", "criterion").agg(score=pl.col("score").mean().round(0))
        )
        members = (
            sub_tasks.filter(pl.col("proposal_id").is_in(consolidated))
            .group_by("proposal_id").agg(pl.col("expert_id").sort())
        )
        _insert(conn, consolidations, [
            {"call_id": CALL_ID, "proposal_id": pid, "consolidator": experts_[0],
             "state": "final", "comment": "Consensus reached in consolidation.",
             "row_version": 1, "created_at": stamp, "finalised_at": stamp}
            for pid, experts_ in members.rows()
        ])
        cons_ids = pl.DataFrame(
            conn.execute(sa.select(consolidations.c.consolidation_id,
                                   consolidations.c.proposal_id)
                         .where(consolidations.c.call_id == CALL_ID)).all(),
            schema={"consolidation_id": pl.Int64, "proposal_id": pl.String}, orient="row")
        _insert(conn, consolidation_scores, cons_scores.join(cons_ids, on="proposal_id").select(
            "consolidation_id", "criterion", "score",
            comment=pl.format("{}: consensus of the panel.", "criterion")).to_dicts())
        _insert(conn, consolidation_approvals, [
            {"consolidation_id": cid, "expert_id": eid, "row_version": 1, "approved_at": stamp}
            for cid, eids in cons_ids.join(members, on="proposal_id").select(
                "consolidation_id", "expert_id").rows()
            for eid in eids[1:]
        ])
    step("evaluations and consolidations")
    counts = {
        "proposals": call.proposals.height,
        "experts": call.experts.height,
        "partners": call.partners.height,
        "declared conflicts": call.conflicts.height,
        "tasks": all_tasks.height,
        "submitted": sub_tasks.height,
        "drafts": first_of.height,
        "declined": declined,
        "consolidated": members.height,
    }
    engine.dispose()
    return ScaleCall(url, CALL_ID, accounts, counts, timings)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url", help="database URL (empty, or a former demo database)")
    ap.add_argument("--proposals", type=int, default=5000)
    ap.add_argument("--experts", type=int, default=2000)
    args = ap.parse_args(argv)
    made = build_call(args.url, n_proposals=args.proposals, n_experts=args.experts,
                      progress=print)
    print(made.counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
