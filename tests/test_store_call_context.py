"""Every step that names its call is refused on a record of another call: a batch of call B is
never published, discarded or read while call A is shown, nor a task or consolidation of A
acted on under B. The refusal changes nothing and is audited under the record's call."""

from __future__ import annotations

import polars as pl
import pytest

from evalpanel.store import (
    SYSTEM,
    CallMismatch,
    PermissionDenied,
    accept_task,
    approve_consensus,
    audit_frame,
    batch_changes,
    batch_record,
    create_batch,
    decline_task,
    discard_batch,
    get_consolidation,
    grant_call,
    import_call,
    list_tasks,
    name_consolidator,
    publish_batch,
    save_consensus,
    start_consolidation,
    submit_consensus,
)
from evalpanel.store.tables import batches
from tests.store_fixtures import *  # noqa: F403
from tests.store_fixtures import World, make_call, pairs, publish, scores, task_of
from tests.test_store_workflow import _evaluate

OTHER = "AFI-2027"


def _other_call(w: World) -> int:
    """Import call B (granted to the same manager) and return a preview batch of it."""
    import_call(w.engine, make_call(OTHER, title="Alliances for Innovation 2027"))
    grant_call(w.engine, SYSTEM, OTHER, w.manager.user_id or 0)
    return create_batch(w.engine, w.manager, OTHER, pairs([("P01", "E03"), ("P02", "E04")]),
                        solver="hand", parameters={"k": 1}, seed=1, summary={"status": "ok"},
                        elapsed_s=0.01)


def _status(w: World, batch_id: int) -> str:
    with w.engine.connect() as conn:
        return str(conn.execute(
            batches.select().with_only_columns(batches.c.status)
            .where(batches.c.batch_id == batch_id)).scalar_one())


def _denials(w: World, call_id: str, action: str) -> pl.DataFrame:
    log = audit_frame(w.engine, w.manager, call_id)
    return log.filter(pl.col("action") == f"denied:{action}")


def test_a_batch_of_another_call_is_refused_and_audited(world: World) -> None:
    w = world
    b_batch = _other_call(w)
    with pytest.raises(CallMismatch, match=rf"belongs to call '{OTHER}', not to call "
                                           rf"'{w.call_id}'"):
        publish_batch(w.engine, w.manager, b_batch, call_id=w.call_id)
    # nothing changed on either call
    assert _status(w, b_batch) == "preview"
    assert list_tasks(w.engine, w.manager, OTHER).is_empty()
    assert list_tasks(w.engine, w.manager, w.call_id).is_empty()
    refused = _denials(w, OTHER, "publish")
    assert refused["entity_id"].to_list() == [str(b_batch)]
    with pytest.raises(CallMismatch):
        discard_batch(w.engine, w.manager, b_batch, call_id=w.call_id)
    assert _status(w, b_batch) == "preview"
    assert _denials(w, OTHER, "discard").height == 1
    with pytest.raises(CallMismatch):
        batch_changes(w.engine, w.manager, b_batch, call_id=w.call_id)
    with pytest.raises(CallMismatch):
        batch_record(w.engine, w.manager, b_batch, call_id=w.call_id)
    # named with its own call, the same batch goes through
    assert batch_changes(w.engine, w.manager, b_batch, call_id=OTHER).height == 2
    assert batch_record(w.engine, w.manager, b_batch, call_id=OTHER).call_id == OTHER
    counts = publish_batch(w.engine, w.manager, b_batch, call_id=OTHER)
    assert counts["added"] == 2 and _status(w, b_batch) == "published"
    assert list_tasks(w.engine, w.manager, OTHER).height == 2
    assert list_tasks(w.engine, w.manager, w.call_id).is_empty()


def test_a_discard_named_with_its_call_goes_through(world: World) -> None:
    b_batch = _other_call(world)
    discard_batch(world.engine, world.manager, b_batch, call_id=OTHER)
    assert _status(world, b_batch) == "discarded"


def test_permission_comes_before_the_call_check(world: World) -> None:
    # a manager of call A only learns nothing about B's batch beyond the usual denial
    b_batch = _other_call(world)
    grant_call(world.engine, SYSTEM, world.call_id, world.outsider.user_id or 0)
    with pytest.raises(PermissionDenied) as caught:
        publish_batch(world.engine, world.outsider, b_batch, call_id=world.call_id)
    assert not isinstance(caught.value, CallMismatch)
    assert _status(world, b_batch) == "preview"


def test_task_steps_are_refused_under_another_call(world: World) -> None:
    w = world
    _other_call(w)
    publish(w, [("P01", "E03"), ("P01", "E04")])
    task = task_of(w, "P01", "E03")
    with pytest.raises(CallMismatch):
        accept_task(w.engine, w.experts["E03"], task, call_id=OTHER)
    with pytest.raises(CallMismatch):
        decline_task(w.engine, w.manager, task, "a conflict", call_id=OTHER)
    state = list_tasks(w.engine, w.manager, w.call_id).filter(pl.col("task_id") == task)["state"]
    assert state.to_list() == ["assigned"]
    assert _denials(w, w.call_id, "accept").height == 1
    accept_task(w.engine, w.experts["E03"], task, call_id=w.call_id)
    state = list_tasks(w.engine, w.manager, w.call_id).filter(pl.col("task_id") == task)["state"]
    assert state.to_list() == ["accepted"]


def test_consolidation_steps_are_refused_under_another_call(world: World) -> None:
    w = world
    _other_call(w)
    publish(w, [("P01", "E03"), ("P01", "E04")])
    _evaluate(w, "P01", "E03", {"relevance": 20, "quality": 25})
    _evaluate(w, "P01", "E04", {"relevance": 19, "quality": 24})
    cons_id = start_consolidation(w.engine, w.manager, w.call_id, "P01", "E03")
    rapporteur, other = w.experts["E03"], w.experts["E04"]
    sheet = scores({"relevance": 19, "quality": 24})
    with pytest.raises(CallMismatch):
        save_consensus(w.engine, rapporteur, cons_id, sheet, "agreed", expected_version=0,
                       call_id=OTHER)
    v = save_consensus(w.engine, rapporteur, cons_id, sheet, "agreed", expected_version=0,
                       call_id=w.call_id)
    with pytest.raises(CallMismatch):
        submit_consensus(w.engine, rapporteur, cons_id, expected_version=v, call_id=OTHER)
    assert submit_consensus(w.engine, rapporteur, cons_id, expected_version=v,
                            call_id=w.call_id) == "approval"
    with pytest.raises(CallMismatch):
        approve_consensus(w.engine, other, cons_id, expected_version=v, call_id=OTHER)
    with pytest.raises(CallMismatch):
        name_consolidator(w.engine, w.manager, cons_id, "E04", "E03 is away", call_id=OTHER)
    got = get_consolidation(w.engine, w.manager, w.call_id, "P01")
    assert (got.state, got.consolidator, got.approved) == ("approval", "E03", [])
    assert set(_denials(w, w.call_id, "approve")["entity_id"]) == {str(cons_id)}
    assert approve_consensus(w.engine, other, cons_id, expected_version=v,
                             call_id=w.call_id) == "final"


def test_requests_replacements_and_conflicts_are_refused_under_another_call(
    world: World,
) -> None:
    from evalpanel.store import (
        declare_conflict,
        dismiss_replacement,
        list_conflicts,
        list_requests,
        refuse_request,
        remove_conflict,
    )

    w = world
    _other_call(w)
    publish(w, [("P01", "E03"), ("P02", "E03")])
    _evaluate(w, "P01", "E03", {"relevance": 20, "quality": 25})
    # on the submitted task a conflict request waits for the manager; the other is declined
    replaced = declare_conflict(w.engine, w.experts["E03"], w.call_id, "E03", kind="other",
                                note="advised P01", proposal_id="P01")
    assert replaced == []
    request_id = int(list_requests(w.engine, w.manager, w.call_id)["request_id"].item())
    with pytest.raises(CallMismatch):
        refuse_request(w.engine, w.manager, request_id, note="no", call_id=OTHER)
    assert list_requests(w.engine, w.manager, w.call_id)["state"].to_list() == ["pending"]
    refuse_request(w.engine, w.manager, request_id, note="no", call_id=w.call_id)
    assert list_requests(w.engine, w.manager, w.call_id)["state"].to_list() == ["refused"]

    replacement = decline_task(w.engine, w.experts["E03"], task_of(w, "P02", "E03"), "a friend",
                               call_id=w.call_id)
    with pytest.raises(CallMismatch):
        dismiss_replacement(w.engine, w.manager, replacement, call_id=OTHER)
    dismiss_replacement(w.engine, w.manager, replacement, call_id=w.call_id)

    declared = list_conflicts(w.engine, w.manager, w.call_id).filter(
        pl.col("source") == "declared")["conflict_id"].to_list()
    assert declared
    with pytest.raises(CallMismatch):
        remove_conflict(w.engine, w.manager, int(declared[0]), call_id=OTHER)
    assert int(declared[0]) in list_conflicts(w.engine, w.manager, w.call_id)["conflict_id"]
    remove_conflict(w.engine, w.manager, int(declared[0]), call_id=w.call_id)
    assert int(declared[0]) not in list_conflicts(w.engine, w.manager, w.call_id)["conflict_id"]
    assert {"denied:refuse", "denied:dismiss", "denied:remove"} <= set(
        audit_frame(w.engine, w.manager, w.call_id)["action"].to_list())
