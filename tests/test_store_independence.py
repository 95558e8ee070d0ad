"""Evaluations stay independent: corrections after the panel's scores became visible, conflicts
declared after submission and the consolidator's replacement go through the call manager.

Every test runs on SQLite and PostgreSQL (the ``world`` fixture)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from evalpanel.store import (
    InvalidInput,
    InvalidState,
    PermissionDenied,
    RequestKind,
    RequestState,
    StaleWrite,
    accept_task,
    approve_consensus,
    approve_request,
    audit_frame,
    confirm_replacement,
    declare_conflict,
    dismiss_replacement,
    get_consolidation,
    get_evaluation,
    list_conflicts,
    list_replacements,
    list_requests,
    list_tasks,
    name_consolidator,
    peer_scores,
    propose_replacement,
    refuse_request,
    request_correction,
    save_consensus,
    save_draft,
    scores_frame,
    start_consolidation,
    start_correction,
    submit_consensus,
    submit_evaluation,
)
from tests.store_fixtures import World, pairs, publish, scores, task_of

LOW = {"relevance": 5.0, "quality": 5.0, "partnership": 5.0, "impact": 5.0}
HIGH = {"relevance": 20.0, "quality": 20.0, "partnership": 20.0, "impact": 20.0}
PANEL = [("P01", "E03"), ("P01", "E04"), ("P03", "E03"), ("P03", "E05")]


def _submit(w: World, proposal: str, expert: str, values: dict[str, float]) -> int:
    task = task_of(w, proposal, expert)
    actor = w.experts[expert]
    accept_task(w.engine, actor, task)
    version = save_draft(w.engine, actor, task, scores(values), expected_version=0)
    submit_evaluation(w.engine, actor, task, expected_version=version)
    return task


def _consolidating(w: World, consolidator: str = "E03") -> int:
    """P01 evaluated by E03 (5 on every criterion) and E04 (20), in consolidation."""
    publish(w, PANEL)
    _submit(w, "P01", "E03", LOW)
    _submit(w, "P01", "E04", HIGH)
    return start_consolidation(w.engine, w.manager, w.call_id, "P01", consolidator)


def _counted(w: World, expert: str) -> dict[str, float]:
    frame = scores_frame(w.engine, w.manager, w.call_id).filter(
        (pl.col("proposal_id") == "P01") & (pl.col("expert_id") == expert)
    )
    return dict(frame.select("criterion", "score").iter_rows())


def _audit(w: World, entity: str, action: str) -> list[dict[str, object]]:
    log = audit_frame(w.engine, w.manager, w.call_id).filter(
        (pl.col("entity") == entity) & (pl.col("action") == action)
    )
    return [json.loads(a) for a in log["after"].to_list()]


def test_copying_the_panel_after_consolidation_started_needs_an_approved_request(
    world: World,
) -> None:
    w = world
    _consolidating(w)
    e03 = w.experts["E03"]
    task = task_of(w, "P01", "E03")
    # The attack of the issue: read the panel's scores, correct, copy them.
    panel = peer_scores(w.engine, e03, w.call_id, "P01")
    assert set(panel["expert_id"]) == {"E03", "E04"}
    assert get_evaluation(w.engine, e03, task).peers_visible
    with pytest.raises(InvalidState, match="approval"):
        start_correction(w.engine, e03, task)
    with pytest.raises(InvalidInput, match="say why"):
        request_correction(w.engine, e03, task, "  ")
    first = request_correction(w.engine, e03, task, "I mixed up two criteria")
    with pytest.raises(InvalidState, match="already has correction request"):
        request_correction(w.engine, e03, task, "again")
    # Pending is not approved.
    with pytest.raises(InvalidState, match="approval"):
        start_correction(w.engine, e03, task)
    with pytest.raises(PermissionDenied):
        approve_request(w.engine, e03, first)
    with pytest.raises(PermissionDenied):
        approve_request(w.engine, w.outsider, first)
    refuse_request(w.engine, w.manager, first, note="the scores are consistent")
    with pytest.raises(InvalidState, match="not pending"):
        approve_request(w.engine, w.manager, first)
    with pytest.raises(InvalidState, match="approval"):
        start_correction(w.engine, e03, task)
    assert _counted(w, "E03") == LOW

    second = request_correction(w.engine, e03, task, "criterion 'impact' was entered as 5, not 15")
    approve_request(w.engine, w.manager, second, note="typo confirmed")
    version = start_correction(w.engine, e03, task)
    changed = {**LOW, "impact": 15.0}
    version = save_draft(w.engine, e03, task, scores(changed), expected_version=version)
    assert _counted(w, "E03") == LOW  # the draft does not count yet
    submit_evaluation(w.engine, e03, task, expected_version=version)
    assert _counted(w, "E03") == changed
    # The approval covered one version: a further correction needs a new request.
    with pytest.raises(InvalidState, match="approval"):
        start_correction(w.engine, e03, task)
    listed = list_requests(w.engine, w.manager, w.call_id)
    assert listed.select("request_id", "kind", "state", "version_no").rows() == [
        (first, "correction", "refused", 2),
        (second, "correction", "approved", 2),
    ]
    assert list_requests(w.engine, e03, w.call_id).height == 2
    assert list_requests(w.engine, w.experts["E04"], w.call_id).is_empty()
    created = _audit(w, "request", "create")
    assert [a["reason"] for a in created] == [
        "I mixed up two criteria",
        "criterion 'impact' was entered as 5, not 15",
    ]
    assert [a["note"] for a in _audit(w, "request", "refuse")] == ["the scores are consistent"]
    assert [a["note"] for a in _audit(w, "request", "approve")] == ["typo confirmed"]


def test_before_the_scores_are_visible_the_correction_needs_no_approval(world: World) -> None:
    w = world
    publish(w, PANEL)
    task = _submit(w, "P01", "E03", LOW)
    e03 = w.experts["E03"]
    assert not get_evaluation(w.engine, e03, task).peers_visible
    with pytest.raises(InvalidState, match="needs no approval"):
        request_correction(w.engine, e03, task, "typo")
    version = start_correction(w.engine, e03, task)
    version = save_draft(w.engine, e03, task, scores(HIGH), expected_version=version)
    submit_evaluation(w.engine, e03, task, expected_version=version)
    assert _counted(w, "E03") == HIGH
    assert list_requests(w.engine, w.manager, w.call_id).is_empty()


def test_a_correction_draft_opened_before_the_scores_became_visible_is_frozen_after(
    world: World,
) -> None:
    w = world
    publish(w, PANEL)
    task = _submit(w, "P01", "E03", LOW)
    e03 = w.experts["E03"]
    version = start_correction(w.engine, e03, task)
    version = save_draft(w.engine, e03, task, scores(LOW), expected_version=version)
    _submit(w, "P01", "E04", HIGH)
    start_consolidation(w.engine, w.manager, w.call_id, "P01", "E04")
    # Now the draft could be aligned with the panel: neither saving nor submitting goes through.
    with pytest.raises(InvalidState, match="approval"):
        save_draft(w.engine, e03, task, scores(HIGH), expected_version=version)
    with pytest.raises(InvalidState, match="approval"):
        submit_evaluation(w.engine, e03, task, expected_version=version)
    shown = get_evaluation(w.engine, e03, task)
    assert shown.status == "draft" and not shown.editable
    rid = request_correction(w.engine, e03, task, "finish the correction I had started")
    assert list_requests(w.engine, w.manager, w.call_id)["version_no"].to_list() == [2]
    approve_request(w.engine, w.manager, rid)
    assert get_evaluation(w.engine, e03, task).editable
    version = save_draft(w.engine, e03, task, scores(HIGH), expected_version=version)
    submit_evaluation(w.engine, e03, task, expected_version=version)
    assert _counted(w, "E03") == HIGH


def test_a_submitted_correction_sends_the_consensus_back_to_drafting(world: World) -> None:
    w = world
    cid = _consolidating(w, consolidator="E04")
    e04, e03 = w.experts["E04"], w.experts["E03"]
    v = save_consensus(w.engine, e04, cid, scores(HIGH), "agreed", expected_version=0)
    assert submit_consensus(w.engine, e04, cid, expected_version=v) == "approval"
    task = task_of(w, "P01", "E03")
    rid = request_correction(w.engine, e03, task, "impact misread")
    approve_request(w.engine, w.manager, rid)
    version = start_correction(w.engine, e03, task)
    version = save_draft(w.engine, e03, task, scores(HIGH), expected_version=version)
    submit_evaluation(w.engine, e03, task, expected_version=version)
    cons = get_consolidation(w.engine, w.manager, w.call_id, "P01")
    assert cons.state == "drafting" and cons.version == v + 1
    # An approval of the version read before the correction no longer goes through.
    with pytest.raises(StaleWrite):
        approve_consensus(w.engine, e03, cid, expected_version=v)
    assert _audit(w, "consolidation", "reopen")[0]["state"] == "drafting"


def test_a_conflict_on_a_submitted_evaluation_is_a_request_refused_changes_nothing(
    world: World,
) -> None:
    w = world
    cid = _consolidating(w)
    e04 = w.experts["E04"]
    task = task_of(w, "P01", "E04")
    with pytest.raises(InvalidInput, match="say why"):
        declare_conflict(w.engine, e04, w.call_id, "E04", kind="family", note="", proposal_id="P01")
    opened = declare_conflict(
        w.engine, e04, w.call_id, "E04", kind="family", note="my cousin", proposal_id="P01"
    )
    assert opened == []  # no replacement: the evaluation still counts
    state = dict(list_tasks(w.engine, w.manager, w.call_id).select("task_id", "state").rows())
    assert state[task] == "submitted"
    assert _counted(w, "E04") == HIGH
    assert (
        list_conflicts(w.engine, w.manager, w.call_id)
        .filter(pl.col("expert_id") == "E04")["conflict_id"]
        .is_empty()
    )
    (rid,) = list_requests(w.engine, w.manager, w.call_id, state=RequestState.PENDING)[
        "request_id"
    ].to_list()
    asked = get_evaluation(w.engine, e04, task).conflict_request
    assert asked is not None and asked.state == "pending"
    with pytest.raises(InvalidState, match="already has conflict request"):
        declare_conflict(
            w.engine, e04, w.call_id, "E04", kind="family", note="again", proposal_id="P01"
        )
    refuse_request(w.engine, w.manager, rid, note="a cousin is not a conflict under the code")
    assert _counted(w, "E04") == HIGH
    assert get_consolidation(w.engine, w.manager, w.call_id, "P01").state == "drafting"
    assert list_replacements(w.engine, w.manager, w.call_id).is_empty()
    assert (
        list_conflicts(w.engine, w.manager, w.call_id)
        .filter(pl.col("expert_id") == "E04")["conflict_id"]
        .is_empty()
    )
    assert cid > 0


def test_an_approved_conflict_of_the_consolidator_is_restarted_by_the_manager(
    world: World,
) -> None:
    w = world
    cid = _consolidating(w, consolidator="E03")
    e03, e04 = w.experts["E03"], w.experts["E04"]
    v = save_consensus(w.engine, e03, cid, scores(LOW), "draft", expected_version=0)
    declare_conflict(
        w.engine,
        e03,
        w.call_id,
        "E03",
        kind="preparation",
        note="I advised them",
        proposal_id="P01",
    )
    # Until the decision, the consolidation runs on.
    v = save_consensus(w.engine, e03, cid, scores(LOW), "draft 2", expected_version=v)
    (rid,) = list_requests(w.engine, w.manager, w.call_id)["request_id"].to_list()
    approve_request(w.engine, w.manager, rid, note="preparation is a hard exclusion")
    state = dict(list_tasks(w.engine, w.manager, w.call_id).select("task_id", "state").rows())
    assert state[task_of(w, "P01", "E03")] == "declined"
    assert _counted(w, "E03") == {}
    assert _counted(w, "E04") == HIGH
    kinds = list_conflicts(w.engine, w.manager, w.call_id).filter(
        (pl.col("expert_id") == "E03") & (pl.col("proposal_id") == "P01")
    )
    assert kinds["kind"].to_list() == ["preparation"]
    (replacement,) = list_replacements(w.engine, w.manager, w.call_id, state="pending")[
        "replacement_id"
    ].to_list()
    cons = get_consolidation(w.engine, w.manager, w.call_id, "P01")
    assert cons.state == "suspended"
    with pytest.raises(PermissionDenied):
        save_consensus(w.engine, e03, cid, scores(LOW), "x", expected_version=cons.version)
    with pytest.raises(InvalidState, match="suspended"):
        approve_consensus(w.engine, e04, cid, expected_version=cons.version)
    with pytest.raises(InvalidState, match="already in consolidation"):
        start_consolidation(w.engine, w.manager, w.call_id, "P01", "E04")
    # The replacement expert must evaluate before the manager restarts it.
    propose_replacement(w.engine, w.manager, replacement, pairs([("P01", "E06")]))
    confirm_replacement(w.engine, w.manager, replacement)
    with pytest.raises(InvalidState, match="E06"):
        name_consolidator(w.engine, w.manager, cid, "E04", "E03 has a conflict")
    _submit(w, "P01", "E06", HIGH)
    with pytest.raises(InvalidInput, match="one of P01's experts"):
        name_consolidator(w.engine, w.manager, cid, "E03", "back")
    with pytest.raises(PermissionDenied):
        name_consolidator(w.engine, e04, cid, "E04", "me")
    name_consolidator(w.engine, w.manager, cid, "E04", "E03 has a conflict")
    cons = get_consolidation(w.engine, w.manager, w.call_id, "P01")
    assert (cons.state, cons.consolidator) == ("drafting", "E04")
    v = save_consensus(w.engine, e04, cid, scores(HIGH), "agreed", expected_version=cons.version)
    submit_consensus(w.engine, e04, cid, expected_version=v)
    assert approve_consensus(w.engine, w.experts["E06"], cid, expected_version=v) == "final"
    assert [a["state"] for a in _audit(w, "consolidation", "suspend")] == ["suspended"]
    named = _audit(w, "consolidation", "name_consolidator")
    assert [(a["consolidator"], a["reason"]) for a in named] == [("E04", "E03 has a conflict")]
    assert [a["kind"] for a in _audit(w, "request", "approve")] == ["conflict"]


def test_an_approved_conflict_closes_a_pending_correction_and_needs_no_replacement(
    world: World,
) -> None:
    w = world
    cid = _consolidating(w, consolidator="E04")
    e03 = w.experts["E03"]
    task = task_of(w, "P01", "E03")
    correction = request_correction(w.engine, e03, task, "typo")
    declare_conflict(
        w.engine, w.manager, w.call_id, "E03", kind="employment", note="moved", proposal_id="P01"
    )
    conflict = (
        list_requests(w.engine, w.manager, w.call_id, state=RequestState.PENDING)
        .filter(pl.col("kind") == RequestKind.CONFLICT)["request_id"]
        .item()
    )
    approve_request(w.engine, w.manager, conflict)
    states = dict(
        list_requests(w.engine, w.manager, w.call_id).select("request_id", "state").rows()
    )
    assert states == {correction: "refused", conflict: "approved"}
    # One expert is enough here: the manager dismisses the replacement and restarts.
    (replacement,) = list_replacements(w.engine, w.manager, w.call_id)["replacement_id"].to_list()
    dismiss_replacement(w.engine, w.manager, replacement)
    name_consolidator(w.engine, w.manager, cid, "E04", "panel of one after the conflict")
    v = save_consensus(w.engine, w.experts["E04"], cid, scores(HIGH), "", expected_version=2)
    assert submit_consensus(w.engine, w.experts["E04"], cid, expected_version=v) == "final"


def test_a_conflict_on_an_organisation_declines_open_tasks_and_asks_for_submitted_ones(
    world: World,
) -> None:
    w = world
    publish(w, PANEL)
    _submit(w, "P01", "E03", LOW)  # P01's coordinator is org 9000000010
    opened = declare_conflict(
        w.engine,
        w.experts["E03"],
        w.call_id,
        "E03",
        kind="collaboration",
        note="joint project",
        org_id="9000000010",
    )
    assert opened == []
    assert _counted(w, "E03") == LOW
    (rid,) = list_requests(w.engine, w.manager, w.call_id)["request_id"].to_list()
    recorded = list_conflicts(w.engine, w.manager, w.call_id).filter(
        pl.col("org_id") == "9000000010"
    )
    assert recorded.height == 1  # the organisation's conflict is on record at once
    approve_request(w.engine, w.manager, rid)
    assert _counted(w, "E03") == {}
    # No second record: the organisation's conflict already covers the proposal.
    assert (
        list_conflicts(w.engine, w.manager, w.call_id).filter(pl.col("expert_id") == "E03").height
        == 1
    )


def test_name_consolidator_without_a_conflict(world: World) -> None:
    w = world
    cid = _consolidating(w, consolidator="E03")
    e03, e04 = w.experts["E03"], w.experts["E04"]
    v = save_consensus(w.engine, e03, cid, scores(LOW), "first draft", expected_version=0)
    submit_consensus(w.engine, e03, cid, expected_version=v)
    with pytest.raises(InvalidInput, match="say why"):
        name_consolidator(w.engine, w.manager, cid, "E04", " ")
    name_consolidator(w.engine, w.manager, cid, "E04", "E03 is unavailable")
    cons = get_consolidation(w.engine, e04, w.call_id, "P01")
    assert (cons.consolidator, cons.state, cons.comment) == (
        "E04",
        "drafting",
        "first draft",
    )
    with pytest.raises(PermissionDenied):
        save_consensus(w.engine, e03, cid, scores(LOW), "", expected_version=cons.version)
    v = save_consensus(w.engine, e04, cid, scores(HIGH), "", expected_version=cons.version)
    submit_consensus(w.engine, e04, cid, expected_version=v)
    assert approve_consensus(w.engine, e03, cid, expected_version=v) == "final"
    with pytest.raises(InvalidState, match="final"):
        name_consolidator(w.engine, w.manager, cid, "E03", "too late")
    task = task_of(w, "P01", "E03")
    with pytest.raises(InvalidState, match="final"):
        request_correction(w.engine, e03, task, "too late")
