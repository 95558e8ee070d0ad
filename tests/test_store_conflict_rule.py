"""One conflict rule where tasks are made: every path that creates or moves a task refuses a pair
the rule excludes (with the reason) and an expert at their maximum load; accepting re-checks; a
stale change-set is refused saying what changed; started tasks that became conflicted do not
block later batches; further experts are a change-set applied all or nothing."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

import assignment
from evalpanel.store import (
    InvalidInput,
    InvalidState,
    PermissionDenied,
    StaleWrite,
    accept_task,
    add_task,
    batch_changes,
    conflicted_tasks,
    create_batch,
    declare_conflict,
    decline_task,
    get_proposal,
    list_conflicts,
    list_tasks,
    propose_replacement,
    publish_batch,
    remove_conflict,
    save_draft,
    submit_evaluation,
)
from evalpanel.store.tables import batch_snapshots
from evalpanel.workflow import preview_extra_experts, run_batch, stored_conflicts
from tests.conflict_rule_support import (
    KEYS,
    force_task,
    overloads,
    rule_call,
    rule_violations,
)
from tests.store_fixtures import *  # noqa: F403
from tests.store_fixtures import World, build_world, pairs, publish, scores, task_of

BASE = [("P01", "E03"), ("P01", "E04"), ("P02", "E04"), ("P02", "E05")]


@pytest.fixture
def rw(engine: sa.Engine) -> World:
    return build_world(engine, rule_call())


def _preview(w: World, rows: list[tuple[str, str]], *, origin: str = "batch") -> int:
    return create_batch(
        w.engine, w.manager, w.call_id, pairs(rows), solver="hand", parameters={}, seed=None,
        summary={}, elapsed_s=0.0, origin=origin,
    )


def _pairs_of(w: World) -> set[tuple[str, str]]:
    t = list_tasks(w.engine, w.manager, w.call_id)
    return set(t.filter(pl.col("state").is_in(["assigned", "accepted", "draft", "submitted"]))
               .select(KEYS).iter_rows())


# --- the pure rule ------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.sets(st.tuples(st.integers(0, 3), st.integers(0, 5)), max_size=24))
def test_excluded_pairs_are_find_conflicts_restricted_to_the_pairs(
    chosen: set[tuple[int, int]],
) -> None:
    call = rule_call()
    today = dt.date(2026, 12, 1)
    frame = pl.DataFrame(
        [(f"P{p + 1:02d}", f"E{e + 1:02d}") for p, e in sorted(chosen)],
        schema={"proposal_id": pl.String, "expert_id": pl.String}, orient="row",
    )
    got = assignment.excluded_pairs(frame, call.proposals, call.partners, call.experts,
                                    call.conflicts, today=today)
    every = assignment.find_conflicts(call.proposals, call.partners, call.experts,
                                      call.conflicts, today=today)
    assert got.equals(every.join(frame, on=KEYS, how="semi", maintain_order="left"))
    # the call holds every reason the store's old check missed
    assert {"language", "organisation_name", "organisation", "preparation"} <= set(every["reason"])


# --- manual add, batch, accept ------------------------------------------------------------


@pytest.mark.parametrize(
    ("proposal", "expert", "reason"),
    [("P04", "E03", "language"), ("P03", "E04", "organisation_name"),
     ("P01", "E01", "organisation"), ("P02", "E02", "preparation")],
)
def test_a_manual_add_of_an_excluded_pair_is_refused_with_the_reason(
    rw: World, proposal: str, expert: str, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=rf"{proposal}–{expert}: {reason} \("):
        add_task(rw.engine, rw.manager, rw.call_id, proposal, expert)
    assert list_tasks(rw.engine, rw.manager, rw.call_id).is_empty()
    with pytest.raises(InvalidInput, match=reason):
        _preview(rw, [(proposal, expert)])


def test_a_manual_add_to_a_full_expert_is_refused(rw: World) -> None:
    publish(rw, [("P01", "E03")])  # E03 takes at most 1
    with pytest.raises(InvalidState, match=r"E03 would have 2 \(max_load 1\)"):
        add_task(rw.engine, rw.manager, rw.call_id, "P03", "E03")
    with pytest.raises(InvalidState, match="maximum load"):
        _preview(rw, [("P01", "E03"), ("P02", "E03")])
    # a batch that frees the slot of E03 in the same change may use it
    batch = _preview(rw, [("P03", "E03")])
    assert publish_batch(rw.engine, rw.manager, batch) == {"added": 1, "removed": 1, "kept": 0}
    assert overloads(rw.engine, rw.call_id).is_empty()


def test_accepting_rechecks_the_rule_and_the_proposal_stays_closed(rw: World) -> None:
    task = force_task(rw.engine, rw.call_id, "P04", "E03", "assigned")  # E03 reads no French
    with pytest.raises(InvalidState, match="language: proposal is in fr"):
        accept_task(rw.engine, rw.experts["E03"], task)
    assert list_tasks(rw.engine, rw.manager, rw.call_id)["state"].to_list() == ["assigned"]
    started = force_task(rw.engine, rw.call_id, "P03", "E04", "accepted")
    with pytest.raises(PermissionDenied):
        get_proposal(rw.engine, rw.experts["E04"], rw.call_id, "P03")
    assert started


def test_started_tasks_that_became_conflicted_do_not_block_later_batches(rw: World) -> None:
    held = force_task(rw.engine, rw.call_id, "P04", "E03", "accepted")
    run = run_batch(rw.engine, rw.manager, rw.call_id, seed=1)
    changes = batch_changes(rw.engine, rw.manager, run.batch_id)
    assert changes.filter(pl.col("change") == "conflicted").select(KEYS).rows() == [("P04", "E03")]
    assert ("P04", "E03") not in set(run.result.pairs.select(KEYS).iter_rows())
    counts = publish_batch(rw.engine, rw.manager, run.batch_id)
    assert counts["conflicted"] == 1
    tasks = list_tasks(rw.engine, rw.manager, rw.call_id)
    # the started work stays, visible to the manager, and P04 got its full panel besides it
    assert tasks.filter(pl.col("task_id") == held)["state"].item() == "accepted"
    listed = conflicted_tasks(rw.engine, rw.manager, rw.call_id)
    assert listed.select("task_id", "state").rows() == [(held, "accepted")]
    assert listed["reason"].item().startswith("language: proposal is in fr")
    p04 = tasks.filter((pl.col("proposal_id") == "P04") & (pl.col("task_id") != held))
    assert set(p04["expert_id"]) == {"E05", "E06"}
    # and the next batch is not blocked either
    again = run_batch(rw.engine, rw.manager, rw.call_id, seed=2)
    publish_batch(rw.engine, rw.manager, again.batch_id)
    assert rule_violations(rw.engine, rw.call_id).select(KEYS).rows() == [("P04", "E03")]
    with pytest.raises(PermissionDenied):
        conflicted_tasks(rw.engine, rw.experts["E03"], rw.call_id)


# --- stale change-sets --------------------------------------------------------------------


def test_a_preview_is_stale_once_a_conflict_is_recorded(rw: World) -> None:
    publish(rw, BASE)
    batch = _preview(rw, [*BASE, ("P03", "E05"), ("P03", "E06")])
    declare_conflict(rw.engine, rw.manager, rw.call_id, "E06", kind="declared",
                     note="former colleague", proposal_id="P04")
    with pytest.raises(StaleWrite, match=r"conflicts of 'AFI-2026' changed after batch \d+ was "
                       r"previewed: 1 conflict\(s\) recorded \(E06 on P04 \(declared\)\)"):
        publish_batch(rw.engine, rw.manager, batch)
    assert _pairs_of(rw) == set(BASE)  # nothing applied
    # removing it again restores what the preview saw: the batch is current again
    declared = list_conflicts(rw.engine, rw.manager, rw.call_id)
    remove_conflict(rw.engine, rw.manager, int(declared["conflict_id"].max()))  # type: ignore[arg-type]
    publish_batch(rw.engine, rw.manager, batch)
    assert _pairs_of(rw) == {*BASE, ("P03", "E05"), ("P03", "E06")}


def test_a_preview_is_stale_once_the_assignment_changes(rw: World) -> None:
    publish(rw, BASE)
    batch = _preview(rw, [*BASE, ("P03", "E05")])
    add_task(rw.engine, rw.manager, rw.call_id, "P04", "E06")
    with pytest.raises(StaleWrite, match=r"changed after batch \d+ was previewed: 1 task\(s\) "
                       r"added \(P04–E06\)"):
        publish_batch(rw.engine, rw.manager, batch)
    other = _preview(rw, [*BASE, ("P04", "E06")])
    decline_task(rw.engine, rw.experts["E03"], task_of(rw, "P01", "E03"), "my former student")
    with pytest.raises(StaleWrite, match=r"1 task\(s\) withdrawn or declined \(P01–E03\).*"
                       "run the assignment again"):
        publish_batch(rw.engine, rw.manager, other)
    # the manager re-runs it: the new preview is current
    fresh = run_batch(rw.engine, rw.manager, rw.call_id, seed=3)
    publish_batch(rw.engine, rw.manager, fresh.batch_id)
    assert rule_violations(rw.engine, rw.call_id).is_empty()


def test_a_batch_records_what_the_rule_saw(rw: World) -> None:
    batch = _preview(rw, BASE)
    with rw.engine.connect() as conn:
        snap = conn.execute(sa.select(batch_snapshots).where(
            batch_snapshots.c.batch_id == batch)).mappings().one()
    assert len(snap["conflict_ids"]) == 1 and len(snap["conflicts_hash"]) == 64
    assert snap["origin"] == "batch"


# --- replacements and further experts -----------------------------------------------------


def test_a_confirmed_replacement_is_rechecked_and_applied_all_or_nothing(rw: World) -> None:
    from evalpanel.store import confirm_replacement

    publish(rw, BASE)
    rid = decline_task(rw.engine, rw.experts["E03"], task_of(rw, "P01", "E03"), "my student")
    propose_replacement(rw.engine, rw.manager, rid, pairs([("P01", "E05"), ("P01", "E06")]))
    declare_conflict(rw.engine, rw.experts["E06"], rw.call_id, "E06", kind="family",
                     note="my sister leads it", proposal_id="P01")
    with pytest.raises(InvalidInput, match=r"P01–E06: family \(family conflict with P01"):
        confirm_replacement(rw.engine, rw.manager, rid)
    assert _pairs_of(rw) == set(BASE) - {("P01", "E03")}  # P01–E05 was not created either
    with pytest.raises(InvalidInput, match=r"replacement request \d+ .* P01–E06: family"):
        propose_replacement(rw.engine, rw.manager, rid, pairs([("P01", "E06")]))
    propose_replacement(rw.engine, rw.manager, rid, pairs([("P01", "E05")]))
    assert len(confirm_replacement(rw.engine, rw.manager, rid)) == 1


LOW = {"relevance": 10.0, "quality": 12.0, "partnership": 8.0, "impact": 10.0}
HIGH = {"relevance": 24.0, "quality": 28.0, "partnership": 19.0, "impact": 19.0}


def _submit(w: World, proposal: str, expert: str, sheet: dict[str, float]) -> None:
    task = task_of(w, proposal, expert)
    accept_task(w.engine, w.experts[expert], task)
    version = save_draft(w.engine, w.experts[expert], task, scores(sheet), expected_version=0)
    submit_evaluation(w.engine, w.experts[expert], task, expected_version=version)


def test_further_experts_are_a_change_set_applied_all_or_nothing(rw: World) -> None:
    publish(rw, BASE)
    _submit(rw, "P01", "E03", LOW)
    _submit(rw, "P01", "E04", HIGH)  # 50 points apart: P01 needs a further expert
    run = preview_extra_experts(rw.engine, rw.manager, rw.call_id)
    assert run is not None
    added = batch_changes(rw.engine, rw.manager, run.batch_id).filter(pl.col("change") == "added")
    assert added["proposal_id"].to_list() == ["P01"]
    extra = added["expert_id"].item()
    assert _pairs_of(rw) == set(BASE)  # a preview writes no task
    declare_conflict(rw.engine, rw.manager, rw.call_id, extra, kind="declared", note="x",
                     proposal_id="P01")
    with pytest.raises(StaleWrite, match=f"{extra} on P01"):
        publish_batch(rw.engine, rw.manager, run.batch_id)
    assert _pairs_of(rw) == set(BASE)
    again = preview_extra_experts(rw.engine, rw.manager, rw.call_id)
    assert again is not None
    assert publish_batch(rw.engine, rw.manager, again.batch_id)["added"] == 1
    tasks = list_tasks(rw.engine, rw.manager, rw.call_id)
    new = tasks.filter(pl.col("origin") == "extra")
    assert new.select("proposal_id").rows() == [("P01",)] and new["expert_id"].item() != extra
    assert rule_violations(rw.engine, rw.call_id).is_empty()
    assert overloads(rw.engine, rw.call_id).is_empty()


# --- concurrent writers -------------------------------------------------------------------


def test_a_conflict_declared_while_a_task_is_added_never_leaves_an_excluded_task(
    rw: World,
) -> None:
    import contextlib
    import threading

    pairs_ = [(p, e) for p in ("P01", "P02", "P03") for e in ("E05", "E06")]
    for proposal, expert in pairs_:
        start = threading.Barrier(2)

        def add(p: str = proposal, e: str = expert, go: threading.Barrier = start) -> None:
            go.wait()
            with contextlib.suppress(InvalidInput):  # refused: the conflict came first
                add_task(rw.engine, rw.manager, rw.call_id, p, e)

        def declare(p: str = proposal, e: str = expert, go: threading.Barrier = start) -> None:
            go.wait()
            declare_conflict(rw.engine, rw.manager, rw.call_id, e, kind="declared",
                             note="raced", proposal_id=p)

        threads = [threading.Thread(target=add), threading.Thread(target=declare)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # either the add was refused, or the conflict declined the new task
        assert rule_violations(rw.engine, rw.call_id).is_empty()


def test_held_tasks_from_the_whole_calls_conflicts_equal_the_rule_applied_to_the_tasks(
        rw: World) -> None:
    # every pair the rule excludes becomes a started task, whatever its reasons
    excluded = assignment.find_conflicts(rw.call.proposals, rw.call.partners, rw.call.experts,
                                         rw.call.conflicts, today=dt.date.today())
    wanted = excluded.select(KEYS).unique().sort(KEYS).rows()
    for state, (proposal, expert) in zip(["accepted", "draft", "assigned"] * len(wanted), wanted,
                                         strict=False):
        force_task(rw.engine, rw.call_id, proposal, expert, state)
    force_task(rw.engine, rw.call_id, "P01", "E03", "accepted")  # not excluded
    found = stored_conflicts(rw.engine, rw.manager, rw.call_id)
    by_rule = conflicted_tasks(rw.engine, rw.manager, rw.call_id)
    by_set = conflicted_tasks(rw.engine, rw.manager, rw.call_id, conflicts=found)
    assert by_rule.select(KEYS).rows() == wanted
    assert set(excluded["reason"]) >= {"language", "organisation_name"}
    assert by_set.equals(by_rule)
