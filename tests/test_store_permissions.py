from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest

from evalpanel.store import (
    SYSTEM,
    PermissionDenied,
    StaleWrite,
    accept_task,
    audit_frame,
    call_folder,
    create_batch,
    create_rehearsal,
    create_user,
    declare_conflict,
    get_evaluation,
    get_proposal,
    list_calls,
    list_rehearsals,
    list_tasks,
    peer_scores,
    rehearsal_view,
    save_draft,
    save_rehearsal_scores,
    scores_frame,
    start_consolidation,
    submit_evaluation,
)
from evalpanel.store.audit import Actor
from tests.store_fixtures import AFI_FORM, World, join_by_link, pairs, publish, scores, task_of

FIRST = [("P01", "E03"), ("P01", "E04"), ("P02", "E03"), ("P02", "E05")]


def _denials(w: World) -> pl.DataFrame:
    log = audit_frame(w.engine, SYSTEM)
    return log.filter(pl.col("action").str.starts_with("denied:"))


def _refused(w: World, call: Callable[[], object], match: str | None = None) -> None:
    before = _denials(w).height
    with pytest.raises(PermissionDenied, match=match):
        call()
    assert _denials(w).height == before + 1, "a refused access must be audit-logged"


def test_an_expert_sees_only_their_own_queue(world: World) -> None:
    publish(world, FIRST)
    mine = list_tasks(world.engine, world.experts["E03"], world.call_id)
    assert set(mine["expert_id"]) == {"E03"} and mine.height == 2
    assert list_tasks(world.engine, world.experts["E06"], world.call_id).is_empty()
    everything = list_tasks(world.engine, world.manager, world.call_id)
    assert everything.height == len(FIRST)
    _refused(world, lambda: list_tasks(world.engine, world.applicant, world.call_id))
    _refused(world, lambda: list_tasks(world.engine, world.outsider, world.call_id))
    assert list_calls(world.engine, world.experts["E03"])["call_id"].to_list() == [world.call_id]
    assert list_calls(world.engine, world.outsider).is_empty()


def test_the_proposal_opens_only_after_accepting_without_conflict(world: World) -> None:
    publish(world, FIRST)
    e03, e04 = world.experts["E03"], world.experts["E04"]
    task = task_of(world, "P01", "E03")
    _refused(world, lambda: get_proposal(world.engine, e03, world.call_id, "P01"), "accept")
    _refused(world, lambda: accept_task(world.engine, e04, task), "not one of your tasks")
    accept_task(world.engine, e03, task)
    assert get_proposal(world.engine, e03, world.call_id, "P01").title == "Proposal 1"
    _refused(world, lambda: get_proposal(world.engine, e03, world.call_id, "P03"))
    _refused(world, lambda: get_evaluation(world.engine, e04, task))
    _refused(
        world, lambda: save_draft(world.engine, e04, task, scores({"q": 1}), expected_version=0)
    )
    # A conflict declared later closes the proposal again.
    declare_conflict(
        world.engine,
        e03,
        world.call_id,
        "E03",
        proposal_id="P01",
        kind="family",
        note="my cousin coordinates it",
    )
    _refused(world, lambda: get_proposal(world.engine, e03, world.call_id, "P01"))
    assert len(get_proposal(world.engine, world.manager, world.call_id, "P01").partners) == 2


def test_peer_scores_open_after_submitting_and_only_in_consolidation(world: World) -> None:
    publish(world, FIRST)
    e03, e04 = world.experts["E03"], world.experts["E04"]
    for expert in ("E03", "E04"):
        task = task_of(world, "P01", expert)
        accept_task(world.engine, world.experts[expert], task)
        save_draft(world.engine, world.experts[expert], task, scores(AFI_FORM), expected_version=0)
    submit_evaluation(world.engine, e03, task_of(world, "P01", "E03"), expected_version=1)
    _refused(world, lambda: peer_scores(world.engine, e04, world.call_id, "P01"), "submitting")
    _refused(world, lambda: peer_scores(world.engine, e03, world.call_id, "P01"), "consolidation")
    submit_evaluation(world.engine, e04, task_of(world, "P01", "E04"), expected_version=1)
    start_consolidation(world.engine, world.manager, world.call_id, "P01", "E03")
    seen = peer_scores(world.engine, e03, world.call_id, "P01")
    assert set(seen["expert_id"]) == {"E03", "E04"}
    _refused(world, lambda: peer_scores(world.engine, world.experts["E05"], world.call_id, "P01"))


def test_managers_see_only_their_calls(world: World) -> None:
    out = world.outsider
    _refused(world, lambda: scores_frame(world.engine, out, world.call_id))
    _refused(world, lambda: call_folder(world.engine, out, world.call_id))
    _refused(world, lambda: audit_frame(world.engine, out, world.call_id))
    _refused(world, lambda: audit_frame(world.engine, world.experts["E03"], world.call_id))
    _refused(
        world,
        lambda: create_batch(
            world.engine,
            world.experts["E03"],
            world.call_id,
            pairs([("P01", "E03")]),
            solver="x",
            parameters={},
            seed=None,
            summary={},
            elapsed_s=0.0,
        ),
    )
    _refused(world, lambda: create_user(world.engine, world.manager, "boss", "manager"))
    assert audit_frame(world.engine, world.manager, world.call_id).height > 0


def test_rehearsals_are_blind_and_private(world: World) -> None:
    colleague = Actor(create_user(world.engine, SYSTEM, "colleague", "applicant"), "applicant")
    other = Actor(create_user(world.engine, SYSTEM, "stranger", "applicant"), "applicant")
    rid = create_rehearsal(
        world.engine,
        world.applicant,
        "erasmus-afi",
        "Our alliance",
        "What we plan",
        [world.applicant.user_id or 0],
    )
    join_by_link(world.engine, world.applicant, rid, colleague)  # colleagues join by invitation
    save_rehearsal_scores(world.engine, colleague, rid, scores({"relevance": 20}), submit=True)
    save_rehearsal_scores(world.engine, world.applicant, rid, scores({"relevance": 14}))
    own = rehearsal_view(world.engine, world.applicant, rid)
    assert sorted(own.scores["score"].to_list()) == [14.0, 20.0]
    assert colleague.user_id is not None
    assert own.scorers[colleague.user_id] is True
    blind = rehearsal_view(world.engine, colleague, rid)
    assert blind.scores["score"].to_list() == [20.0] and blind.scorers == {}
    _refused(world, lambda: rehearsal_view(world.engine, other, rid))
    _refused(world, lambda: rehearsal_view(world.engine, world.manager, rid))
    _refused(world, lambda: save_rehearsal_scores(world.engine, other, rid, scores({"r": 1})))
    _refused(world, lambda: create_rehearsal(world.engine, world.manager, "x", "t", "d", []))
    assert list_rehearsals(world.engine, other).is_empty()
    assert list_rehearsals(world.engine, colleague)["owner"].to_list() == [False]


def test_writes_are_audited_in_their_transaction(world: World) -> None:
    publish(world, FIRST)
    task = task_of(world, "P01", "E03")
    e03 = world.experts["E03"]
    accept_task(world.engine, e03, task)
    save_draft(world.engine, e03, task, scores({"q": 3}), expected_version=0)
    before = audit_frame(world.engine, world.manager, world.call_id).height
    with pytest.raises(StaleWrite):
        save_draft(world.engine, e03, task, scores({"q": 4}), expected_version=0)
    log = audit_frame(world.engine, world.manager, world.call_id)
    assert log.height == before, "a refused write must leave no audit line"
    save_draft(world.engine, e03, task, scores({"q": 5}), expected_version=1)
    last = audit_frame(world.engine, world.manager, world.call_id).row(-1, named=True)
    assert (last["action"], last["role"], last["user_id"]) == ("save_draft", "expert", e03.user_id)
    assert '"version": 1' in last["before"] and '"score": 5.0' in last["after"]
    actions = set(log["action"])
    assert {"import", "create", "publish", "accepted", "save_draft"} <= actions
