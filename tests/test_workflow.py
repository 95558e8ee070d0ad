"""The computing services over a real store (SQLite and PostgreSQL): batches, their
reproduction, replacements after a decline, further experts, ranking."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import assignment
import scoring
from evalpanel.callfolder import read_call
from evalpanel.cli import cli
from evalpanel.planning import conflicts_of, plan
from evalpanel.store import (
    SYSTEM,
    Actor,
    accept_task,
    confirm_replacement,
    create_user,
    decline_task,
    grant_call,
    import_call,
    link_expert,
    list_replacements,
    list_tasks,
    publish_batch,
    save_draft,
    submit_evaluation,
)
from evalpanel.workflow import (
    add_extra_experts,
    propose_replacements,
    rank_call,
    reproduce_batch,
    run_batch,
)

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "fixtures" / "tiny"
KEYS = ["proposal_id", "expert_id"]


def setup(engine: sa.Engine) -> tuple[str, Actor, dict[str, Actor]]:
    call = read_call(TINY)
    import_call(engine, call)
    manager = Actor(create_user(engine, SYSTEM, "boss", "manager"), "manager")
    grant_call(engine, SYSTEM, call.config.id, manager.user_id or 0)
    experts = {}
    for eid in call.experts["expert_id"]:
        uid = create_user(engine, manager, f"u-{eid}", "expert")
        link_expert(engine, manager, uid, call.config.id, eid)
        experts[eid] = Actor(uid, "expert")
    return call.config.id, manager, experts


def test_batch_is_a_preview_then_published_and_reproducible(engine: sa.Engine) -> None:
    call_id, manager, _ = setup(engine)
    run = run_batch(engine, manager, call_id, mode="fair", seed=3)
    assert list_tasks(engine, manager, call_id).is_empty()  # a preview writes no task
    changes = publish_batch(engine, manager, run.batch_id)
    assert changes["added"] == run.result.pairs.height == 24
    tasks = list_tasks(engine, manager, call_id)
    assert set(tasks.select(KEYS).iter_rows()) == set(run.result.pairs.select(KEYS).iter_rows())
    conflicted = set(conflicts_of(read_call(TINY)).select(KEYS).iter_rows())
    assert not conflicted & set(tasks.select(KEYS).iter_rows())
    same, _ = reproduce_batch(engine, manager, run.batch_id)
    assert same


def test_decline_is_repaired_without_touching_other_pairs(engine: sa.Engine) -> None:
    call_id, manager, experts = setup(engine)
    publish_batch(engine, manager, run_batch(engine, manager, call_id).batch_id)
    before = list_tasks(engine, manager, call_id)
    task_id, pid, eid = before.select("task_id", *KEYS).row(0)
    decline_task(engine, experts[eid], task_id, "I reviewed its draft")
    assert propose_replacements(engine, manager, call_id) == 1
    rid = int(list_replacements(engine, manager, call_id, state="proposed")["replacement_id"][0])
    confirm_replacement(engine, manager, rid)
    after = list_tasks(engine, manager, call_id).filter(pl.col("state") != "declined")
    old = set(before.select(KEYS).iter_rows()) - {(pid, eid)}
    new = set(after.select(KEYS).iter_rows())
    assert old <= new and len(new - old) == 1
    ((new_pid, new_eid),) = new - old
    assert new_pid == pid and new_eid != eid


def test_a_new_batch_keeps_started_work_and_leaves_declined_pairs_out(engine: sa.Engine) -> None:
    call_id, manager, experts = setup(engine)
    # two pairs a fresh run would never choose: each proposal's least related eligible expert
    inst = plan(read_call(TINY)).instance
    fresh = set(assignment.assign(inst).pairs.select(KEYS).iter_rows())
    worst = np.where(inst.eligible_mask(), inst.affinity, np.inf).argmin(axis=1)
    odd = [
        (str(inst.proposal_ids[p]), str(inst.expert_ids[worst[p]]))
        for p in range(inst.n_proposals)
        if (str(inst.proposal_ids[p]), str(inst.expert_ids[worst[p]])) not in fresh
    ][:2]
    assert len(odd) == 2
    first = run_batch(engine, manager, call_id, pinned=[list(pair) for pair in odd])
    publish_batch(engine, manager, first.batch_id)
    tasks = list_tasks(engine, manager, call_id)

    def task(pair: tuple[str, str]) -> int:
        row = tasks.filter((pl.col("proposal_id") == pair[0]) & (pl.col("expert_id") == pair[1]))
        return int(row["task_id"][0])

    accepted, submitted = task(odd[0]), task(odd[1])
    accept_task(engine, experts[odd[0][1]], accepted)
    sheet = pl.DataFrame(
        {"criterion": ["relevance", "quality", "partnership", "impact"], "score": [20.0] * 4,
         "comment": ["Justified."] * 4}
    )
    author = experts[odd[1][1]]
    accept_task(engine, author, submitted)
    version = save_draft(engine, author, submitted, sheet, expected_version=0)
    submit_evaluation(engine, author, submitted, expected_version=version)
    gone = tasks.filter(~pl.col("task_id").is_in([accepted, submitted])).row(0, named=True)
    decline_task(engine, experts[gone["expert_id"]], gone["task_id"], "no time")

    second = run_batch(engine, manager, call_id)
    pairs = set(second.result.pairs.select(KEYS).iter_rows())
    assert set(odd) <= pairs
    assert (gone["proposal_id"], gone["expert_id"]) not in pairs
    assert second.result.status == "complete"
    publish_batch(engine, manager, second.batch_id)
    after = list_tasks(engine, manager, call_id)
    states = dict(zip(after["task_id"].to_list(), after["state"].to_list(), strict=True))
    assert states[accepted] == "accepted" and states[submitted] == "submitted"
    active = after.filter(pl.col("state").is_in(["assigned", "accepted", "draft", "submitted"]))
    assert active.group_by("proposal_id").len()["len"].to_list() == [2] * inst.n_proposals
    same, _ = reproduce_batch(engine, manager, second.batch_id)
    assert same


def _submit_all(
    engine: sa.Engine,
    manager: Actor,
    experts: dict[str, Actor],
    call_id: str,
    sheet: dict[str, dict[str, float]],
) -> None:
    for task_id, _pid, eid in (
        list_tasks(engine, manager, call_id)
        .filter(pl.col("state") == "assigned")
        .select("task_id", *KEYS)
        .iter_rows()
    ):
        accept_task(engine, experts[eid], task_id)
        scores = pl.DataFrame({"criterion": list(sheet[eid]), "score": list(sheet[eid].values()),
                               "comment": ["Justified."] * len(sheet[eid])})
        version = save_draft(engine, experts[eid], task_id, scores, expected_version=0)
        submit_evaluation(engine, experts[eid], task_id, expected_version=version)


def test_divergent_proposals_get_a_further_expert_and_ranking_matches_scoring(
    engine: sa.Engine,
) -> None:
    call_id, manager, experts = setup(engine)
    publish_batch(engine, manager, run_batch(engine, manager, call_id).batch_id)
    # half of the experts harsh (total 40), half generous (total 95): most panels diverge
    ids = sorted(experts)
    low = {"relevance": 10.0, "quality": 12.0, "partnership": 10.0, "impact": 8.0}
    high = {"relevance": 24.0, "quality": 28.0, "partnership": 24.0, "impact": 19.0}
    sheet = {eid: (low if i % 2 else high) for i, eid in enumerate(ids)}
    _submit_all(engine, manager, experts, call_id, sheet)
    ranked = rank_call(engine, manager, call_id).proposals
    needy = set(ranked.filter(pl.col("needs_expert"))["proposal_id"])
    assert needy  # the harsh/generous split makes some panels 55 points apart
    new_tasks = add_extra_experts(engine, manager, call_id)
    tasks = list_tasks(engine, manager, call_id)
    added = tasks.filter(pl.col("task_id").is_in(new_tasks))
    assert set(added["proposal_id"]) == needy and added.height == len(needy)
    conflicted = set(conflicts_of(read_call(TINY)).select(KEYS).iter_rows())
    assert not conflicted & set(added.select(KEYS).iter_rows())
    _submit_all(engine, manager, experts, call_id, sheet)
    final = rank_call(engine, manager, call_id).proposals
    assert not final["needs_expert"].any()
    # the stored ranking is the scoring engine's result on the same evaluations
    call = read_call(TINY)
    rows = [(p, e, c, s) for p, e in tasks.select(KEYS).iter_rows() for c, s in sheet[e].items()]
    assert call.scheme is not None
    direct = scoring.score_call(
        pl.DataFrame(rows, schema=["proposal_id", "expert_id", "criterion", "score"], orient="row"),
        call.scheme,
        call.proposals,
        {
            lot.id: scoring.LotRules(budget_eur=lot.budget_eur, one_per=lot.one_per)
            for lot in call.config.lots.values()
        },
    ).proposals
    cols = ["proposal_id", "total", "decision", "rank"]
    assert final.select(cols).sort("proposal_id").equals(direct.select(cols).sort("proposal_id"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_import_command_is_all_or_nothing(tmp_path: Path) -> None:
    db = tmp_path / "call.sqlite"
    url = f"sqlite:///{db}"
    runner = CliRunner()
    first = runner.invoke(cli, ["import", str(TINY), "--db", url])
    assert first.exit_code == 0, first.output
    before = _digest(db)
    again = runner.invoke(cli, ["import", str(TINY), "--db", url])
    assert again.exit_code == 2 and "--replace" in again.output
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in TINY.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "experts.csv").write_text((TINY / "experts.csv").read_text().replace(",en", ",zz", 1))
    bad = runner.invoke(cli, ["import", str(broken), "--db", url])
    assert bad.exit_code == 2 and "experts.csv:2: languages" in bad.output
    assert _digest(db) == before
    replaced = runner.invoke(cli, ["import", str(TINY), "--db", url, "--replace"])
    assert replaced.exit_code == 0, replaced.output
    garbage = tmp_path / "notes.sqlite"
    garbage.write_text("not a database\n")
    unusable = runner.invoke(cli, ["import", str(TINY), "--db", f"sqlite:///{garbage}"])
    assert unusable.exit_code == 2 and "cannot open the database" in unusable.output
    assert garbage.read_text() == "not a database\n"


@pytest.mark.slow
def test_demo_runs_the_whole_story_and_refuses_other_databases(tmp_path: Path) -> None:
    from evalpanel.demo import run_demo
    from evalpanel.store import InvalidState, make_engine

    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    summary = run_demo(url)
    table = summary.result.proposals
    assert table.height == 240
    assert not (table["decision"] == "pending").any()
    assert len(summary.declined) == 3 and summary.extra_tasks > 0
    assert summary.consolidated == 240 and summary.result.consolidated is not None
    call = read_call(ROOT / "fixtures" / "demo")
    for lot in call.config.lots.values():
        spent = table.filter((pl.col("lot") == lot.id) & (pl.col("decision") == "funded"))[
            "requested_eur"
        ].sum()
        assert spent <= lot.budget_eur
        # every lot ends with a funded list, a reserve list and rejected proposals
        decisions = set(table.filter(pl.col("lot") == lot.id)["decision"])
        assert {"funded", "reserve", "rejected"} <= decisions, lot.id
    assert sorted(call.config.lots) == ["LOT1", "LOT2", "LOT3"]
    # ex-aequo proposals stay tied (sharing a rank), never ordered by the engine
    tied = table.filter(pl.col("tied").fill_null(False))
    assert tied.group_by("lot", "rank").len()["len"].min() >= 2 if tied.height else True  # type: ignore[operator]
    assert table["tie_order_note"].null_count() == table.height
    assert run_demo(url).result.proposals.height == 240  # a demo database is rebuilt
    other = f"sqlite:///{tmp_path / 'real.sqlite'}"
    import_call(make_engine(other), read_call(TINY))
    with pytest.raises(InvalidState, match="not the demo database"):
        run_demo(other)
