"""The call's data version (what the dashboard's caches are keyed by) and the evaluation's
progress, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from evalpanel.reports import build_esrs
from evalpanel.store import (
    PermissionDenied,
    accept_task,
    audit_frame,
    confirm_replacement,
    declare_conflict,
    decline_task,
    dismiss_replacement,
    import_call,
    list_replacements,
    list_tasks,
    save_draft,
    submit_evaluation,
)
from evalpanel.store.replacements import propose_replacement
from evalpanel.store.summary import call_data_version, evaluation_progress, lot_summary
from tests.store_fixtures import World, pairs, publish, scores, task_of

SHEET = {"relevance": 20.0, "quality": 24.0, "partnership": 20.0, "impact": 16.0}


def _evaluate(w: World, proposal_id: str, expert_id: str) -> None:
    task = task_of(w, proposal_id, expert_id)
    actor = w.experts[expert_id]
    accept_task(w.engine, actor, task)
    version = save_draft(w.engine, actor, task, scores(SHEET), expected_version=0)
    submit_evaluation(w.engine, actor, task, expected_version=version)


def test_progress_counts_declined_and_replaced_tasks(world: World) -> None:
    w = world
    publish(w, [("P03", "E03"), ("P03", "E04"), ("P04", "E03"), ("P04", "E04")])
    start = evaluation_progress(w.engine, w.manager, w.call_id)
    assert (start.proposals, start.experts, start.expected, start.submitted) == (4, 6, 4, 0)
    assert start.by_state == {"assigned": 4}

    # A declined task still waits for its replacement: the call still expects 4 evaluations.
    rid = decline_task(w.engine, w.experts["E03"], task_of(w, "P03", "E03"), "advised them")
    declined = evaluation_progress(w.engine, w.manager, w.call_id)
    assert (declined.expected, declined.by_state) == (4, {"assigned": 3, "declined": 1})
    propose_replacement(w.engine, w.manager, rid, pairs([("P03", "E05")]))
    assert evaluation_progress(w.engine, w.manager, w.call_id).expected == 4
    confirm_replacement(w.engine, w.manager, rid)
    replaced = evaluation_progress(w.engine, w.manager, w.call_id)
    assert replaced.by_state == {"assigned": 4, "declined": 1}
    assert replaced.expected == 4  # the replacement's task carries the slot, not both

    # A declined task whose replacement is dismissed is not expected any more.
    rid2 = decline_task(w.engine, w.experts["E04"], task_of(w, "P04", "E04"), "advised them")
    dismiss_replacement(w.engine, w.manager, rid2)
    assert evaluation_progress(w.engine, w.manager, w.call_id).expected == 3
    assert list_replacements(w.engine, w.manager, w.call_id, state="dismissed").height == 1

    # Once every expected evaluation is submitted, the call is at 100 %.
    for pid, eid in (("P03", "E04"), ("P03", "E05"), ("P04", "E03")):
        _evaluate(w, pid, eid)
    done = evaluation_progress(w.engine, w.manager, w.call_id)
    assert (done.expected, done.submitted, done.share) == (3, 3, 1.0)
    active = list_tasks(w.engine, w.manager, w.call_id)
    assert active.filter(pl.col("state") == "submitted").height == 3


def test_progress_and_version_are_for_the_call_only(world: World) -> None:
    w = world
    with pytest.raises(PermissionDenied):
        evaluation_progress(w.engine, w.outsider, w.call_id)
    with pytest.raises(PermissionDenied):
        call_data_version(w.engine, w.outsider, w.call_id)
    with pytest.raises(PermissionDenied):
        lot_summary(w.engine, w.experts["E03"], w.call_id)
    # an expert of the call may read the version (their queue is cached by it)
    assert call_data_version(w.engine, w.experts["E03"], w.call_id)


def test_lot_summary_aggregates_in_the_database(world: World) -> None:
    w = world
    lots = lot_summary(w.engine, w.manager, w.call_id)
    by_lot = w.call.proposals.group_by("lot").agg(n=pl.len(), eur=pl.col("requested_eur").sum())
    expected = {r[0]: (r[1], r[2]) for r in by_lot.rows()}
    assert {r[0]: (r[4], r[5]) for r in lots.rows()} == expected
    assert lots["lot"].to_list() == sorted(w.call.config.lots)


def test_data_version_moves_with_every_write_and_only_then(world: World) -> None:
    w = world
    seen = [call_data_version(w.engine, w.manager, w.call_id)]

    def moved(what: str) -> None:
        now = call_data_version(w.engine, w.manager, w.call_id)
        assert now not in seen, f"the data version did not change after {what}"
        seen.append(now)

    # reads leave it as it is, also those the audit log records, and refused attempts
    list_tasks(w.engine, w.manager, w.call_id)
    evaluation_progress(w.engine, w.manager, w.call_id)
    assert build_esrs(w.engine, w.manager, w.call_id) == []
    with pytest.raises(PermissionDenied):
        list_tasks(w.engine, w.outsider, w.call_id)
    assert audit_frame(w.engine, w.manager, w.call_id)["action"].to_list()[-2:] == [
        "build_reports", "denied:list"]
    assert call_data_version(w.engine, w.manager, w.call_id) == seen[-1]

    tables = call_data_version(w.engine, w.manager, w.call_id, tables_only=True)
    publish(w, [("P03", "E03"), ("P03", "E04"), ("P04", "E03"), ("P04", "E04")])
    moved("publishing a batch")
    task = task_of(w, "P03", "E04")
    actor = w.experts["E04"]
    accept_task(w.engine, actor, task)
    moved("accepting a task")
    version = save_draft(w.engine, actor, task, scores(SHEET), expected_version=0)
    moved("saving a draft")
    version = save_draft(w.engine, actor, task, scores({**SHEET, "impact": 18.0}),
                         expected_version=version)
    moved("saving the draft again")
    submit_evaluation(w.engine, actor, task, expected_version=version)
    moved("submitting")
    # the version of the call's own tables stays through tasks and evaluations ...
    assert call_data_version(w.engine, w.manager, w.call_id, tables_only=True) == tables
    # ... and moves with the conflicts (a decline declares one) and with a new import
    decline_task(w.engine, w.experts["E03"], task_of(w, "P04", "E03"), "advised them")
    moved("declining")
    declined = call_data_version(w.engine, w.manager, w.call_id, tables_only=True)
    assert declined != tables
    declare_conflict(w.engine, w.manager, w.call_id, "E05", kind="declared", note="a link",
                     proposal_id="P02")
    moved("declaring a conflict")
    assert call_data_version(w.engine, w.manager, w.call_id, tables_only=True) != declined
    assert call_data_version(w.engine, w.manager, w.call_id) == seen[-1]
    again = call_data_version(w.engine, w.manager, w.call_id, tables_only=True)
    import_call(w.engine, replace(w.call, experts=w.call.experts.with_columns(
        max_load=pl.col("max_load") + 1)), replace=True)
    moved("importing the call again")
    assert call_data_version(w.engine, w.manager, w.call_id, tables_only=True) != again
