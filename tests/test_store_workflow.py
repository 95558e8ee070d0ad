from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.callfolder import CallFolder
from evalpanel.store import (
    InvalidInput,
    InvalidState,
    StaleWrite,
    accept_task,
    add_task,
    approve_consensus,
    batch_changes,
    batch_record,
    confirm_replacement,
    consolidated_frame,
    create_batch,
    declare_conflict,
    decline_task,
    get_consolidation,
    get_evaluation,
    list_replacements,
    list_tasks,
    propose_replacement,
    propose_with,
    publish_batch,
    published_pairs,
    save_consensus,
    save_draft,
    scores_frame,
    start_consolidation,
    start_correction,
    submit_consensus,
    submit_evaluation,
)
from evalpanel.store.tables import evaluation_scores, evaluations
from tests.store_fixtures import World, complete, pairs, publish, scores, task_of

FIRST = [("P01", "E03"), ("P01", "E04"), ("P02", "E03"), ("P02", "E05")]


def _batch(w: World, rows: list[tuple[str, str]], seed: int = 7) -> int:
    return create_batch(
        w.engine,
        w.manager,
        w.call_id,
        pairs(rows),
        solver="min-cost-flow",
        parameters={"k": 2, "mode": "max-total"},
        seed=seed,
        summary={"coverage": 1.0},
        elapsed_s=0.25,
    )


def _keys(frame: pl.DataFrame) -> set[tuple[str, str]]:
    return set(frame.select("proposal_id", "expert_id").iter_rows())


def test_batch_preview_is_a_change_set_and_publish_applies_it(world: World) -> None:
    publish(world, FIRST)
    second = [("P01", "E03"), ("P01", "E05"), ("P02", "E03"), ("P02", "E05"), ("P03", "E06")]
    batch = _batch(world, second)
    changes = batch_changes(world.engine, world.manager, batch)
    by_change = {
        c: _keys(changes.filter(pl.col("change") == c)) for c in ("added", "kept", "removed")
    }
    assert by_change["added"] == set(second) - set(FIRST)
    assert by_change["kept"] == set(second) & set(FIRST)
    assert by_change["removed"] == set(FIRST) - set(second)
    assert _keys(published_pairs(world.engine, world.manager, world.call_id)) == set(FIRST)
    counts = publish_batch(world.engine, world.manager, batch)
    assert counts == {"added": 2, "removed": 1, "kept": 3}
    assert _keys(published_pairs(world.engine, world.manager, world.call_id)) == set(second)
    states = list_tasks(world.engine, world.manager, world.call_id)
    assert states.filter(pl.col("expert_id") == "E04")["state"].to_list() == ["withdrawn"]


def test_batch_record_holds_what_reproduces_it(world: World) -> None:
    batch = _batch(world, FIRST, seed=12345)
    rec = batch_record(world.engine, world.manager, batch)
    assert rec.seed == 12345
    assert rec.solver == "min-cost-flow"
    assert rec.parameters == {"k": 2, "mode": "max-total"}
    assert rec.inputs_hash == world.call.content_hash
    assert rec.summary == {"coverage": 1.0}
    assert rec.status == "preview"
    assert _keys(rec.pairs) == set(FIRST)


def test_a_stale_preview_is_not_published(world: World) -> None:
    a = _batch(world, FIRST)
    b = _batch(world, FIRST[:2])
    publish_batch(world.engine, world.manager, a)
    with pytest.raises(StaleWrite, match="changed after batch"):
        publish_batch(world.engine, world.manager, b)
    with pytest.raises(InvalidState, match="published"):
        publish_batch(world.engine, world.manager, a)


def test_conflicted_and_unknown_pairs_are_refused(world: World) -> None:
    # E01 works at P01's coordinator; E02 helped prepare P02.
    for bad in ([("P01", "E01")], [("P02", "E02")]):
        with pytest.raises(InvalidInput, match="conflict"):
            _batch(world, bad)
    with pytest.raises(InvalidInput, match="P77"):
        _batch(world, [("P77", "E03")])
    with pytest.raises(InvalidInput, match="repeats"):
        _batch(world, [("P01", "E03"), ("P01", "E03")])


def _evaluate(w: World, proposal: str, expert: str, values: dict[str, float]) -> int:
    task = task_of(w, proposal, expert)
    actor = w.experts[expert]
    accept_task(w.engine, actor, task)
    version = save_draft(w.engine, actor, task, scores(complete(values)), expected_version=0)
    submit_evaluation(w.engine, actor, task, expected_version=version)
    return task


def test_draft_versions_submission_and_correction(world: World) -> None:
    publish(world, FIRST)
    task = task_of(world, "P01", "E03")
    me = world.experts["E03"]
    with pytest.raises(InvalidState, match="accept"):
        save_draft(world.engine, me, task, scores({"relevance": 1}), expected_version=0)
    accept_task(world.engine, me, task)
    v1 = save_draft(world.engine, me, task, scores({"relevance": 10}), expected_version=0)
    v2 = save_draft(world.engine, me, task, scores(complete({"relevance": 12})),
                    expected_version=v1)
    with pytest.raises(StaleWrite, match="reload"):
        save_draft(world.engine, me, task, scores({"relevance": 99}), expected_version=v1)
    ev = get_evaluation(world.engine, me, task)
    relevance = pl.col("criterion") == "relevance"
    assert ev.version == v2 and ev.scores.filter(relevance)["score"].to_list() == [12.0]
    submit_evaluation(world.engine, me, task, expected_version=v2)
    with pytest.raises(InvalidState, match="frozen"):
        save_draft(world.engine, me, task, scores({"relevance": 1}), expected_version=v2)
    cv = start_correction(world.engine, me, task)
    save_draft(world.engine, me, task, scores(complete({"relevance": 15})), expected_version=cv)
    # Until the correction is submitted, the submitted version still counts.
    counted = scores_frame(world.engine, world.manager, world.call_id).filter(relevance)
    assert counted["score"].to_list() == [12.0]
    submit_evaluation(world.engine, me, task, expected_version=cv + 1)
    counted = scores_frame(world.engine, world.manager, world.call_id).filter(relevance)
    assert counted["score"].to_list() == [15.0]
    with world.engine.connect() as conn:
        kept = conn.execute(
            sa.select(evaluations.c.version_no, evaluation_scores.c.score)
            .join(evaluation_scores)
            .where(evaluations.c.task_id == task, evaluation_scores.c.criterion == "relevance")
            .order_by(evaluations.c.version_no)
        ).all()
    assert [tuple(r) for r in kept] == [(1, 12.0), (2, 15.0)]


def test_decline_opens_a_replacement_that_the_manager_confirms(world: World) -> None:
    publish(world, FIRST)
    task = task_of(world, "P02", "E05")
    rid = decline_task(
        world.engine, world.experts["E05"], task, "my former employer", kind="employment"
    )
    pending = list_replacements(world.engine, world.manager, world.call_id, state="pending")
    assert pending["replacement_id"].to_list() == [rid]
    assert pending["expert_id"].to_list() == ["E05"]
    with pytest.raises(InvalidState, match="propose"):
        confirm_replacement(world.engine, world.manager, rid)
    # The declined pair is now a conflict: it cannot come back.
    with pytest.raises(InvalidInput, match="conflict"):
        add_task(world.engine, world.manager, world.call_id, "P02", "E05")
    propose_replacement(world.engine, world.manager, rid, pairs([("P02", "E06")]))
    (new_task,) = confirm_replacement(world.engine, world.manager, rid)
    tasks = list_tasks(world.engine, world.manager, world.call_id)
    row = tasks.filter(pl.col("task_id") == new_task)
    assert row["expert_id"].item() == "E06" and row["origin"].item() == "replacement"
    assert tasks.filter(pl.col("task_id") == task)["state"].item() == "declined"
    assert list_replacements(world.engine, world.manager, world.call_id)["state"].to_list() == [
        "applied"
    ]


def test_a_new_conflict_on_an_organisation_declines_its_tasks(world: World) -> None:
    publish(world, FIRST)
    opened = declare_conflict(
        world.engine,
        world.manager,
        world.call_id,
        "E03",
        org_id="9000000020",
        kind="collaboration",
        note="joint project",
    )
    assert len(opened) == 1  # P02's coordinator; E03's task on P01 is untouched
    tasks = list_tasks(world.engine, world.manager, world.call_id)
    e03 = dict(
        tasks.filter(pl.col("expert_id") == "E03").select("proposal_id", "state").iter_rows()
    )
    assert e03 == {"P01": "assigned", "P02": "declined"}

    def solver(call: CallFolder, pending: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
        assert set(pending["proposal_id"]) == {"P02"}
        return pl.DataFrame(
            {
                "replacement_id": pending["replacement_id"],
                "proposal_id": pending["proposal_id"],
                "expert_id": ["E06"],
            }
        )

    assert propose_with(world.engine, world.manager, world.call_id, solver) == opened
    confirm_replacement(world.engine, world.manager, opened[0])
    assert ("P02", "E06") in _keys(published_pairs(world.engine, world.manager, world.call_id))


def test_consolidation_needs_every_other_expert_to_approve(world: World) -> None:
    publish(world, FIRST)
    _evaluate(world, "P01", "E03", {"relevance": 20, "quality": 25})
    with pytest.raises(InvalidState, match="E04"):
        start_consolidation(world.engine, world.manager, world.call_id, "P01", "E03")
    _evaluate(world, "P01", "E04", {"relevance": 10, "quality": 5})
    # A divergent proposal gets a further expert, who must evaluate before consolidation.
    extra = add_task(world.engine, world.manager, world.call_id, "P01", "E06")
    with pytest.raises(InvalidState, match="E06"):
        start_consolidation(world.engine, world.manager, world.call_id, "P01", "E03")
    _evaluate(world, "P01", "E06", {"relevance": 18, "quality": 20})
    assert extra == task_of(world, "P01", "E06")
    cid = start_consolidation(world.engine, world.manager, world.call_id, "P01", "E03")
    cons = world.experts["E03"]
    v = save_consensus(
        world.engine,
        cons,
        cid,
        scores({"relevance": 18, "quality": 21}),
        "agreed",
        expected_version=0,
    )
    assert submit_consensus(world.engine, cons, cid, expected_version=v) == "approval"
    assert (
        approve_consensus(world.engine, world.experts["E04"], cid, expected_version=v) == "approval"
    )
    # The consolidator edits: the approval given on the old version no longer counts.
    v = save_consensus(
        world.engine,
        cons,
        cid,
        scores({"relevance": 17, "quality": 21}),
        "agreed again",
        expected_version=v,
    )
    submit_consensus(world.engine, cons, cid, expected_version=v)
    assert (
        approve_consensus(world.engine, world.experts["E06"], cid, expected_version=v) == "approval"
    )
    assert consolidated_frame(world.engine, world.manager, world.call_id).is_empty()
    assert approve_consensus(world.engine, world.experts["E04"], cid, expected_version=v) == "final"
    final = consolidated_frame(world.engine, world.manager, world.call_id)
    assert final.select("criterion", "score").rows() == [("quality", 21.0), ("relevance", 17.0)]
    got = get_consolidation(world.engine, world.experts["E06"], world.call_id, "P01")
    assert got.state == "final" and got.approved == ["E04", "E06"]
    with pytest.raises(InvalidState, match="final"):
        start_correction(world.engine, world.experts["E04"], task_of(world, "P01", "E04"))
