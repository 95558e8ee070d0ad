"""Services the dashboard reads through: the expert's queue, the call's facts, internal
comments, consolidation lists, user lookups, the server secret, rehearsal reports and removing
a declared conflict. Each permission is checked on a refusal that must be audit-logged."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel import workflow
from evalpanel.store import (
    SYSTEM,
    InvalidInput,
    InvalidState,
    PermissionDenied,
    accept_task,
    add_task,
    audit_frame,
    call_info,
    create_rehearsal,
    create_user,
    declare_conflict,
    get_evaluation,
    internal_comments,
    list_conflicts,
    list_consolidations,
    remove_conflict,
    save_draft,
    save_rehearsal_scores,
    scores_frame,
    start_consolidation,
    start_correction,
    submit_evaluation,
    task_queue,
    user_ids,
)
from evalpanel.store.audit import Actor
from scoring import load_scheme
from tests.store_fixtures import *  # noqa: F403
from tests.store_fixtures import (
    World,
    build_world,
    join_by_link,
    make_call,
    publish,
    scores,
    task_of,
)

FIRST = [("P01", "E03"), ("P01", "E04"), ("P02", "E03"), ("P02", "E05")]
AFI = {"relevance": 20.0, "quality": 24.0, "partnership": 15.0, "impact": 20.0}


def _denials(w: World) -> int:
    log = audit_frame(w.engine, SYSTEM)
    return log.filter(pl.col("action").str.starts_with("denied:")).height


def _refused(w: World, call: Callable[[], object]) -> None:
    before = _denials(w)
    with pytest.raises(PermissionDenied):
        call()
    assert _denials(w) == before + 1, "a refused access must be audit-logged"


@pytest.fixture
def dated(engine: sa.Engine) -> World:
    """The small call with a deadline and the call's own pass mark and relevance maximum."""
    call = make_call()
    config = dataclasses.replace(
        call.config,
        deadline="2026-02-26",
        scheme_overrides={"total_threshold": 75, "criteria": {"relevance": {"max": 30}}},
    )
    return build_world(engine, dataclasses.replace(call, config=config))


def _submit(w: World, proposal_id: str, expert_id: str, values: dict[str, float]) -> int:
    task = task_of(w, proposal_id, expert_id)
    actor = w.experts[expert_id]
    accept_task(w.engine, actor, task)
    version = save_draft(w.engine, actor, task, scores(values), expected_version=0)
    submit_evaluation(w.engine, actor, task, expected_version=version)
    return task


# --- 2. the expert's queue ------------------------------------------------------------------


def test_queue_shows_title_lot_and_deadline_of_own_tasks_only(dated: World) -> None:
    w = dated
    publish(w, FIRST)
    queue = task_queue(w.engine, w.experts["E03"], w.call_id)
    assert queue["proposal_id"].to_list() == ["P01", "P02"]
    assert set(queue["expert_id"]) == {"E03"}
    proposals = w.call.proposals
    for pid, title, lot in queue.select("proposal_id", "title", "lot").rows():
        row = proposals.filter(pl.col("proposal_id") == pid)
        assert (title, lot) == (row["title"].item(), row["lot"].item())
    assert set(queue["deadline"]) == {"2026-02-26"}
    assert set(queue["state"]) == {"assigned"}
    assert "abstract" not in queue.columns and "partners" not in queue.columns
    everything = task_queue(w.engine, w.manager, w.call_id)
    assert everything.height == len(FIRST)
    assert task_queue(w.engine, w.experts["E06"], w.call_id).is_empty()
    _refused(w, lambda: task_queue(w.engine, w.applicant, w.call_id))
    _refused(w, lambda: task_queue(w.engine, w.outsider, w.call_id))


# --- 3. the call's scheme and deadline ------------------------------------------------------


def test_call_info_gives_experts_the_call_scheme(dated: World) -> None:
    w = dated
    info = call_info(w.engine, w.experts["E03"], w.call_id)
    assert info.deadline == "2026-02-26"
    assert info.scheme == "erasmus-afi"
    scheme = load_scheme(info.scheme, info.scheme_overrides)
    preset = load_scheme("erasmus-afi")
    assert scheme.total_threshold == 75 != preset.total_threshold
    relevance = {c.id: c.max for c in scheme.criteria}["relevance"]
    assert relevance == 30 != {c.id: c.max for c in preset.criteria}["relevance"]
    assert call_info(w.engine, w.manager, w.call_id) == info
    _refused(w, lambda: call_info(w.engine, w.applicant, w.call_id))
    _refused(w, lambda: call_info(w.engine, w.outsider, w.call_id))


# --- 4. internal comments -------------------------------------------------------------------


def test_internal_comment_is_kept_apart_from_the_applicant_comments(world: World) -> None:
    w = world
    publish(w, FIRST)
    e03 = w.experts["E03"]
    task = task_of(w, "P01", "E03")
    accept_task(w.engine, e03, task)
    v1 = save_draft(
        w.engine,
        e03,
        task,
        scores(AFI, "for the applicant"),
        expected_version=0,
        internal_comment="budget looks inflated",
    )
    assert get_evaluation(w.engine, e03, task).internal_comment == "budget looks inflated"
    # A save without the keyword keeps the comment (callers from before it existed).
    v2 = save_draft(w.engine, e03, task, scores(AFI, "for the applicant"), expected_version=v1)
    assert get_evaluation(w.engine, w.manager, task).internal_comment == "budget looks inflated"
    submit_evaluation(w.engine, e03, task, expected_version=v2)
    applicant_side = scores_frame(w.engine, w.manager, w.call_id)
    assert "budget looks inflated" not in applicant_side["comment"].to_list()
    internal = internal_comments(w.engine, w.manager, w.call_id)
    assert internal.select("proposal_id", "expert_id", "internal_comment").rows() == [
        ("P01", "E03", "budget looks inflated")
    ]
    # A correction starts from the submitted comment and may change it.
    version = start_correction(w.engine, e03, task)
    assert get_evaluation(w.engine, e03, task).internal_comment == "budget looks inflated"
    version = save_draft(
        w.engine, e03, task, scores(AFI), expected_version=version, internal_comment="fine"
    )
    submit_evaluation(w.engine, e03, task, expected_version=version)
    latest = internal_comments(w.engine, w.manager, w.call_id)
    assert latest.select("version_no", "internal_comment").rows() == [(2, "fine")]
    assert get_evaluation(w.engine, w.experts["E03"], task).version_no == 2
    _refused(w, lambda: internal_comments(w.engine, e03, w.call_id))
    _refused(w, lambda: internal_comments(w.engine, w.outsider, w.call_id))


# --- 5. consolidations ----------------------------------------------------------------------


def test_list_consolidations_by_role(world: World) -> None:
    w = world
    publish(w, FIRST)
    for pid, eid in FIRST:
        _submit(w, pid, eid, AFI)
    first = start_consolidation(w.engine, w.manager, w.call_id, "P01", "E04")
    second = start_consolidation(w.engine, w.manager, w.call_id, "P02", "E05")
    everything = list_consolidations(w.engine, w.manager, w.call_id)
    assert everything.rows() == [
        (first, "P01", "E04", "drafting", 0),
        (second, "P02", "E05", "drafting", 0),
    ]
    assert list_consolidations(w.engine, w.experts["E03"], w.call_id).height == 2
    assert list_consolidations(w.engine, w.experts["E04"], w.call_id)["proposal_id"].to_list() == [
        "P01"
    ]
    assert list_consolidations(w.engine, w.experts["E06"], w.call_id).is_empty()
    _refused(w, lambda: list_consolidations(w.engine, w.applicant, w.call_id))
    _refused(w, lambda: list_consolidations(w.engine, w.outsider, w.call_id))


# --- 6. user lookups and the server secret --------------------------------------------------


def test_applicants_look_up_user_ids_and_nothing_else(world: World) -> None:
    w = world
    found = user_ids(w.engine, w.applicant, ["user-E05", " manager ", "nobody", ""])
    assert found == {"user-E05": w.experts["E05"].user_id, "manager": w.manager.user_id}
    assert user_ids(w.engine, w.applicant, []) == {}
    _refused(w, lambda: user_ids(w.engine, w.experts["E03"], ["user-E05"]))
    _refused(w, lambda: user_ids(w.engine, w.manager, ["user-E05"]))


def test_rehearsal_report_counts_submitted_scorers_for_the_owner_only(world: World) -> None:
    w = world
    a, b, c = (Actor(create_user(w.engine, SYSTEM, f"colleague-{n}", "applicant"), "applicant")
               for n in range(3))
    rid = create_rehearsal(w.engine, w.applicant, "erasmus-afi", "Draft", "text", [])
    for colleague in (a, b, c):  # colleagues join by invitation
        join_by_link(w.engine, w.applicant, rid, colleague)
    with pytest.raises(InvalidState):
        workflow.rehearsal_report(w.engine, w.applicant, rid)
    low = {"relevance": 10.0, "quality": 12.0, "partnership": 8.0, "impact": 10.0}
    save_rehearsal_scores(w.engine, a, rid, scores(AFI), submit=True)
    save_rehearsal_scores(w.engine, b, rid, scores(low), submit=True)
    save_rehearsal_scores(w.engine, c, rid, scores({k: 0.0 for k in AFI}))  # not submitted
    report = workflow.rehearsal_report(w.engine, w.applicant, rid)
    assert report.scorers == 2
    assert report.total == pytest.approx((79.0 + 40.0) / 2)
    assert report.total_spread == pytest.approx(39.0)
    assert report.divergent  # 39 ≥ the preset's gap of 30
    assert not report.passed  # 59.5 < 70
    _refused(w, lambda: workflow.rehearsal_report(w.engine, a, rid))
    _refused(w, lambda: workflow.rehearsal_report(w.engine, w.manager, rid))


# --- 8. removing a declared conflict --------------------------------------------------------


def test_a_manager_removes_a_declared_conflict_only(world: World) -> None:
    w = world
    declare_conflict(
        w.engine,
        w.experts["E06"],
        w.call_id,
        "E06",
        kind="declared",
        note="my cousin",
        proposal_id="P03",
    )
    with pytest.raises(InvalidInput):
        add_task(w.engine, w.manager, w.call_id, "P03", "E06")
    recorded = list_conflicts(w.engine, w.manager, w.call_id)
    declared = recorded.filter(pl.col("source") == "declared")["conflict_id"].item()
    imported = recorded.filter(pl.col("source") == "import")["conflict_id"].item()
    _refused(w, lambda: remove_conflict(w.engine, w.experts["E06"], declared))
    _refused(w, lambda: remove_conflict(w.engine, w.outsider, declared))
    with pytest.raises(InvalidState, match="re-import"):
        remove_conflict(w.engine, w.manager, imported)
    remove_conflict(w.engine, w.manager, declared)
    assert list_conflicts(w.engine, w.manager, w.call_id)["conflict_id"].to_list() == [imported]
    log = audit_frame(w.engine, w.manager, w.call_id).filter(
        (pl.col("action") == "remove") & (pl.col("entity") == "conflict")
    )
    assert log["entity_id"].to_list() == [str(declared)]
    assert "my cousin" in log["before"].item()
    add_task(w.engine, w.manager, w.call_id, "P03", "E06")  # no longer excluded
    _refused(w, lambda: list_conflicts(w.engine, w.experts["E06"], w.call_id))


# --- 1. no ambiguous is_in on the store and workflow path -----------------------------------


def test_no_ambiguous_is_in_on_the_store_and_workflow_path(engine: sa.Engine) -> None:
    """Polars deprecates ``is_in`` with a same-dtype collection; the warning is emitted from
    Rust and does not become an error under ``-W error``, so it is caught here instead. The
    call has no affinity file, so the text affinity runs too."""
    w = build_world(engine, make_call(with_optional=False))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = workflow.run_batch(w.engine, w.manager, w.call_id, k=2)
        workflow.conflict_table(w.engine, w.manager, w.call_id)
        workflow.rank_call(w.engine, w.manager, w.call_id)
    assert run.batch_id > 0
    ambiguous = [c for c in caught if "is_in" in str(c.message)]
    assert not ambiguous, [f"{c.filename}:{c.lineno}" for c in ambiguous]


def test_actor_is_needed_for_every_new_read(world: World) -> None:
    nobody = Actor(None, "applicant")
    _refused(world, lambda: task_queue(world.engine, nobody, world.call_id))
    _refused(world, lambda: user_ids(world.engine, nobody, ["manager"]))
