"""Expert pages: the queue holds only the expert's own tasks; accept, decline, score, submit."""

from __future__ import annotations

import polars as pl

from evalpanel.store import get_evaluation, list_tasks
from tests.dashboard_fixtures import (
    DashWorld,
    as_user,
    click,
    open_page,
    texts,
)


def _task(d: DashWorld, proposal_id: str, expert_id: str) -> int:
    w = d.world
    tasks = list_tasks(w.engine, w.manager, w.call_id)
    row = tasks.filter((pl.col("proposal_id") == proposal_id) & (pl.col("expert_id") == expert_id))
    return int(row["task_id"].item())


def test_queue_lists_only_own_tasks(dash: DashWorld) -> None:
    at = as_user(dash.world.experts["E03"], "user-E03")
    assert not at.exception
    shown = at.dataframe[0].value
    assert sorted(shown["proposal_id"]) == ["P03", "P04"]
    mine = {_task(dash, "P03", "E03"), _task(dash, "P04", "E03")}
    assert set(shown["task_id"]) == mine


def test_expert_without_tasks_sees_an_empty_queue(dash: DashWorld) -> None:
    at = as_user(dash.world.experts["E05"], "user-E05")
    assert not at.exception
    assert "No task is assigned to you" in texts(at)
    assert not at.dataframe


def test_accept_then_score_and_submit(dash: DashWorld) -> None:
    w = dash.world
    task = _task(dash, "P03", "E03")
    at = as_user(dash.world.experts["E03"], "user-E03")
    at.selectbox(key="queue_task").set_value(task).run()
    click(at, "Accept the task")
    assert not at.exception
    states = dict(
        list_tasks(w.engine, w.experts["E03"], w.call_id).select("task_id", "state").rows()
    )
    assert states[task] == "accepted"

    at = open_page(at, "expert_evaluate.py")
    assert not at.exception
    assert "Relevance" in texts(at)
    wanted = {"relevance": 20.0, "quality": 25.0, "partnership": 15.0, "impact": 20.0}
    inputs = at.number_input
    assert len(inputs) == len(wanted)
    for box, value in zip(inputs, wanted.values(), strict=True):
        box.set_value(value)
    for area in at.text_area[: len(wanted)]:  # every criterion needs a comment at submission
        area.input("Justified for the applicant.")
    at.run()
    total = next(m for m in at.metric if m.label == "Total")
    assert float(total.value) == sum(wanted.values())
    click(at, "Submit")
    click(at, "Yes, submit the evaluation")  # submitting asks for confirmation
    assert not at.exception
    ev = get_evaluation(w.engine, w.manager, task)
    assert ev.status == "submitted"
    assert dict(ev.scores.select("criterion", "score").rows()) == wanted


def test_draft_save_keeps_the_version(dash: DashWorld) -> None:
    w = dash.world
    task = _task(dash, "P04", "E04")
    from evalpanel.store import accept_task

    accept_task(w.engine, w.experts["E04"], task)
    at = open_page(as_user(dash.world.experts["E04"], "user-E04"), "expert_evaluate.py")
    at.selectbox(key="score_task").set_value(task).run()
    at.number_input[0].set_value(7.0).run()
    click(at, "Save draft")
    assert not at.exception
    ev = get_evaluation(w.engine, w.experts["E04"], task)
    assert ev.status == "draft" and ev.version == 1
    assert ev.scores.filter(pl.col("criterion") == "relevance")["score"].item() == 7.0


def test_declining_records_the_conflict(dash: DashWorld) -> None:
    w = dash.world
    task = _task(dash, "P04", "E03")
    at = as_user(dash.world.experts["E03"], "user-E03")
    at.selectbox(key="queue_task").set_value(task).run()
    at.text_area[0].input("I advised the coordinator")
    click(at, "Declare a conflict and decline")
    click(at, "Yes, decline the task")  # declining asks for confirmation
    assert not at.exception
    row = list_tasks(w.engine, w.manager, w.call_id).filter(pl.col("task_id") == task)
    assert row["state"].item() == "declined"
    assert row["decline_reason"].item() == "I advised the coordinator"


def test_scoring_form_refuses_nothing_before_acceptance(dash: DashWorld) -> None:
    at = open_page(as_user(dash.world.experts["E04"], "user-E04"), "expert_evaluate.py")
    assert not at.exception
    assert "Accept a task in My queue first" in texts(at)
    assert not at.number_input


def test_consolidation_page_without_consolidation(dash: DashWorld) -> None:
    at = open_page(as_user(dash.world.experts["E03"], "user-E03"), "expert_consolidation.py")
    assert not at.exception
    assert "None of your proposals is in consolidation" in texts(at)
