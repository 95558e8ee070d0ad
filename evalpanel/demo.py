"""The demo: the whole evaluation of the demo call, recorded in a demo database.

Import, demo accounts, an assignment batch (the demo's scored pairs pinned, so that its scores
belong to the experts who hold the tasks) published, a few declines repaired by reassignment,
every evaluation accepted and submitted by its expert, a further expert for each divergent
proposal (their scores simulated from the panel's, seeded), consolidation by the first expert
of each panel with the others' approval, then the ranking of each lot.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import sqlalchemy as sa

import scoring
from evalpanel.callfolder import CallFolder, read_call
from evalpanel.planning import scheme_of
from evalpanel.store import (
    SYSTEM,
    Actor,
    InvalidState,
    accept_task,
    approve_consensus,
    confirm_replacement,
    create_demo_accounts,
    decline_task,
    import_call,
    is_demo_database,
    list_replacements,
    list_tasks,
    make_engine,
    mark_demo_database,
    publish_batch,
    save_consensus,
    save_draft,
    scores_frame,
    start_consolidation,
    submit_consensus,
    submit_evaluation,
    upgrade,
)
from evalpanel.store.tables import metadata
from evalpanel.vocab import ReplacementState, TaskState
from evalpanel.workflow import (
    add_extra_experts,
    propose_replacements,
    rank_call,
    run_batch,
)

DECLINES = 3  # tasks declined with a declared conflict, to show reassignment
SEED = 2026
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class DemoSummary:
    url: str
    call_id: str
    accounts: dict[str, int]
    batch_id: int
    tasks: int
    declined: list[tuple[str, str, str]]  # proposal, expert who declined, replacement
    extra_tasks: int
    consolidated: int
    result: scoring.ScoreResult
    timings: dict[str, float] = field(default_factory=dict)


def demo_call_dir() -> Path:
    """The demo call folder: ``evalpanel/demo_call`` in an installed wheel, the repository's
    ``fixtures/demo`` in a checkout (an editable install)."""
    package = Path(__file__).resolve().parent
    shipped = package / "demo_call"
    if (shipped / "call.toml").is_file():
        return shipped
    return package.parent / "fixtures" / "demo"


def prepare_database(url: str) -> sa.Engine:
    """An empty demo database at ``url``: a fresh one, or a former demo database wiped. Any
    other database is refused, so the demo's default passwords never reach a real one."""
    engine = make_engine(url)
    with engine.connect() as conn:
        used = any(
            conn.execute(sa.select(sa.func.count()).select_from(metadata.tables[name])).scalar()
            for name in ("users", "calls")
        )
    if used:
        if not is_demo_database(engine):
            raise InvalidState(
                f"{engine.url.render_as_string(hide_password=True)} holds a call or accounts and "
                "is not the demo database; run the demo on an empty database (--db URL)"
            )
        metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(engine)
    mark_demo_database(engine)
    return engine


def _evaluation(scores: pl.DataFrame, proposal_id: str, expert_id: str) -> pl.DataFrame:
    return scores.filter(
        (pl.col("proposal_id") == proposal_id) & (pl.col("expert_id") == expert_id)
    ).select("criterion", "score", "comment")


def _simulated(
    scheme: scoring.Scheme, panel: pl.DataFrame, rng: np.random.Generator
) -> pl.DataFrame:
    """A further expert's scores: the panel's mean per criterion plus noise, on the scale."""
    rows = []
    for crit in scheme.criteria:
        mean = float(panel.filter(pl.col("criterion") == crit.id)["score"].mean())  # type: ignore[arg-type]
        value = mean + rng.normal(0.0, 0.08 * crit.max)
        value = min(max(round(value / crit.step) * crit.step, 0.0), crit.max)
        rows.append((crit.id, value, f"{crit.label}: assessed as a further expert."))
    return pl.DataFrame(rows, schema=["criterion", "score", "comment"], orient="row")


def _evaluate(engine: sa.Engine, expert: Actor, task_id: int, scores: pl.DataFrame) -> None:
    accept_task(engine, expert, task_id)
    version = save_draft(engine, expert, task_id, scores, expected_version=0)
    submit_evaluation(engine, expert, task_id, expected_version=version)


def run_demo(url: str, progress: Progress = lambda _: None) -> DemoSummary:
    """Run the whole demo into the database at ``url`` (wiped first if it is a demo one)."""
    import time

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        timings[name] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()
        progress(name)

    call: CallFolder = read_call(demo_call_dir())
    engine = prepare_database(url)
    import_call(engine, call)
    call_id = call.config.id
    accounts = create_demo_accounts(engine, call.experts.height, call_id=call_id)
    manager = Actor(accounts["manager"], "manager")
    experts = {
        eid: Actor(accounts[f"expert{i}"], "expert")
        for i, eid in enumerate(call.experts["expert_id"].to_list(), start=1)
    }
    step("import and accounts")

    assert call.scores is not None
    scored = (
        call.scores.select("proposal_id", "expert_id").unique().sort("proposal_id", "expert_id")
    )
    batch = run_batch(engine, manager, call_id, pinned=scored)
    publish_batch(engine, manager, batch.batch_id)
    step("assignment batch")

    # A few experts decline with a declared conflict; the solver proposes replacements.
    tasks = list_tasks(engine, manager, call_id).sort("proposal_id", "expert_id")
    chosen = tasks.gather(np.linspace(5, tasks.height - 5, DECLINES).astype(int))
    declined_by: dict[str, tuple[str, str]] = {}
    for task_id, pid, eid in chosen.select("task_id", "proposal_id", "expert_id").iter_rows():
        decline_task(engine, experts[eid], task_id, "I advised one of the partners last year")
        declined_by[pid] = (eid, pid)
    propose_replacements(engine, manager, call_id)
    replaced: list[tuple[str, str, str]] = []
    proposed = list_replacements(engine, manager, call_id, state=ReplacementState.PROPOSED)
    for rid in proposed["replacement_id"]:
        confirm_replacement(engine, manager, int(rid))
    active = list_tasks(engine, manager, call_id).filter(pl.col("state") == TaskState.ASSIGNED)
    step("declines reassigned")

    # Every expert evaluates; a replacement takes over the scores drawn for the declined slot.
    scored_pairs = set(scored.iter_rows())
    for task_id, pid, eid in active.select("task_id", "proposal_id", "expert_id").iter_rows():
        if (pid, eid) in scored_pairs:
            sheet = _evaluation(call.scores, pid, eid)
        else:
            gone = declined_by[pid][0]
            sheet = _evaluation(call.scores, pid, gone)
            replaced.append((pid, gone, eid))
        _evaluate(engine, experts[eid], task_id, sheet)
    step("evaluations submitted")

    # A further expert for each divergent proposal.
    scheme = scheme_of(call)
    rng = np.random.default_rng(SEED)
    extra = add_extra_experts(engine, manager, call_id)
    tasks = list_tasks(engine, manager, call_id)
    submitted = scores_frame(engine, manager, call_id)
    for task_id, pid, eid in (
        tasks.filter(pl.col("task_id").is_in(extra))
        .select("task_id", "proposal_id", "expert_id")
        .iter_rows()
    ):
        panel = submitted.filter(pl.col("proposal_id") == pid)
        _evaluate(engine, experts[eid], task_id, _simulated(scheme, panel, rng))
    step("further experts")

    # Consolidation: the first expert of each panel drafts, the others approve.
    before = rank_call(engine, manager, call_id).proposals
    done = 0
    panels = list_tasks(engine, manager, call_id).filter(pl.col("state") == TaskState.SUBMITTED)
    for row in before.filter(~pl.col("needs_expert")).iter_rows(named=True):
        pid = row["proposal_id"]
        members = sorted(panels.filter(pl.col("proposal_id") == pid)["expert_id"].to_list())
        if len(members) < 2:
            continue
        cid = start_consolidation(engine, manager, call_id, pid, members[0])
        consensus = pl.DataFrame(
            [
                (c.id, _round_to(row[c.id], c.step), f"{c.label}: consensus of the panel.")
                for c in scheme.criteria
            ],
            schema=["criterion", "score", "comment"],
            orient="row",
        )
        version = save_consensus(
            engine,
            experts[members[0]],
            cid,
            consensus,
            "Consensus reached in consolidation.",
            expected_version=0,
        )
        submit_consensus(engine, experts[members[0]], cid, expected_version=version)
        for other in members[1:]:
            approve_consensus(engine, experts[other], cid, expected_version=version)
        done += 1
    step("consolidation")

    result = rank_call(engine, manager, call_id)
    step("ranking")
    return DemoSummary(
        url=engine.url.render_as_string(hide_password=True),
        call_id=call_id,
        accounts=accounts,
        batch_id=batch.batch_id,
        tasks=tasks.height,
        declined=replaced,
        extra_tasks=len(extra),
        consolidated=done,
        result=result,
        timings=timings,
    )


def _round_to(value: float, step: float) -> float:
    return math.floor(value / step + 0.5) * step


__all__ = ["SYSTEM", "DemoSummary", "demo_call_dir", "prepare_database", "run_demo"]
