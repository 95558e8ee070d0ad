"""The pages of the independence rules: an expert asks for a correction or declares a conflict
on a submitted evaluation, the manager decides on the Follow-up page and names another
consolidator on the Consolidation page."""

from __future__ import annotations

import polars as pl
from streamlit.testing.v1 import AppTest

from evalpanel.store import (
    accept_task,
    audit_frame,
    get_consolidation,
    list_requests,
    list_tasks,
    save_draft,
    start_consolidation,
    submit_evaluation,
)
from tests.dashboard_fixtures import DashWorld, as_user, click, open_page, texts
from tests.store_fixtures import scores

AFI = {"relevance": 20.0, "quality": 24.0, "partnership": 15.0, "impact": 20.0}
HOSTILE = "**bold** ![x](http://127.0.0.2/pixel) $x^2$ <b>raw</b>"


def _task(d: DashWorld, proposal_id: str, expert_id: str) -> int:
    w = d.world
    tasks = list_tasks(w.engine, w.manager, w.call_id)
    row = tasks.filter((pl.col("proposal_id") == proposal_id) & (pl.col("expert_id") == expert_id))
    return int(row["task_id"].item())


def _consolidating(d: DashWorld, consolidator: str = "E03") -> int:
    w = d.world
    for expert in ("E03", "E04"):
        task = _task(d, "P03", expert)
        actor = w.experts[expert]
        accept_task(w.engine, actor, task)
        version = save_draft(w.engine, actor, task, scores(AFI), expected_version=0)
        submit_evaluation(w.engine, actor, task, expected_version=version)
    return start_consolidation(w.engine, w.manager, w.call_id, "P03", consolidator)


def _plain_texts(at: AppTest) -> str:
    return "\n".join(str(t.value) for t in at.text)


def _submit_form(at: AppTest, label: str) -> None:
    button = next(b for b in at.button if b.label == label)
    button.click().run()


def test_expert_asks_for_a_correction_and_the_manager_approves_it(dash: DashWorld) -> None:
    w = dash.world
    _consolidating(dash)
    task = _task(dash, "P03", "E04")
    at = open_page(as_user(w.experts["E04"], "user-E04"), "expert_evaluate.py")
    at.selectbox(key="score_task").set_value(task).run()
    assert not at.exception
    assert "Start a correction" not in [b.label for b in at.button]
    assert "needs the call manager's approval" in texts(at)
    at.text_area(key=f"correction-why-{task}").set_value(HOSTILE)
    _submit_form(at, "Ask the manager for a correction")
    assert not at.exception
    (row,) = list_requests(w.engine, w.manager, w.call_id).rows(named=True)
    assert (row["kind"], row["state"], row["reason"]) == ("correction", "pending", HOSTILE)
    # The reason is shown to its author as typed, as plain text.
    assert HOSTILE in _plain_texts(at)

    manager = open_page(as_user(w.manager, "manager"), "manager_followup.py")
    assert not manager.exception
    (shown,) = [d.value for d in manager.dataframe if "kind" in d.value.columns]
    assert shown["reason"].to_list() == [HOSTILE]
    manager.text_input[0].set_value("typo confirmed")
    _submit_form(manager, "Approve")
    assert not manager.exception
    assert list_requests(w.engine, w.manager, w.call_id)["state"].to_list() == ["approved"]
    assert "Request" in texts(manager) and "approved" in texts(manager)

    at = open_page(as_user(w.experts["E04"], "user-E04"), "expert_evaluate.py")
    at.selectbox(key="score_task").set_value(task).run()
    assert "typo confirmed" in _plain_texts(at)
    click(at, "Start a correction")
    assert not at.exception
    assert not any(n.disabled for n in at.number_input)


def test_a_conflict_after_submitting_goes_to_the_manager_who_names_a_consolidator(
    dash: DashWorld,
) -> None:
    w = dash.world
    cid = _consolidating(dash, consolidator="E03")
    task = _task(dash, "P03", "E03")
    at = open_page(as_user(w.experts["E03"], "user-E03"), "expert_evaluate.py")
    at.selectbox(key="score_task").set_value(task).run()
    at.text_area(key=f"conflict-note-{task}").set_value("I advised the coordinator")
    _submit_form(at, "Send the conflict to the manager")
    assert not at.exception
    states = dict(list_tasks(w.engine, w.manager, w.call_id).select("task_id", "state").rows())
    assert states[task] == "submitted"  # a request, not a withdrawal

    manager = open_page(as_user(w.manager, "manager"), "manager_followup.py")
    manager.text_input[0].set_value("refused: the advice was in 2019")
    _submit_form(manager, "Refuse")
    assert not manager.exception
    assert list_requests(w.engine, w.manager, w.call_id)["state"].to_list() == ["refused"]
    assert get_consolidation(w.engine, w.manager, w.call_id, "P03").state == "drafting"

    at = open_page(as_user(w.experts["E03"], "user-E03"), "expert_evaluate.py")
    at.selectbox(key="score_task").set_value(task).run()
    at.text_area(key=f"conflict-note-{task}").set_value("I also reviewed its budget")
    _submit_form(at, "Send the conflict to the manager")
    manager = open_page(as_user(w.manager, "manager"), "manager_followup.py")
    _submit_form(manager, "Approve")
    assert not manager.exception
    assert get_consolidation(w.engine, w.manager, w.call_id, "P03").state == "suspended"

    page = open_page(as_user(w.manager, "manager"), "manager_consolidation.py")
    assert not page.exception
    board = page.dataframe[0].value
    assert dict(zip(board["proposal_id"], board["state"], strict=True))["P03"] == "suspended"
    page.selectbox(key=f"rename_proposal-{w.call_id}").set_value("P03").run()
    assert page.selectbox(key=f"rename_expert-{w.call_id}").options == ["E04"]
    page.text_input(key=f"rename_reason-{w.call_id}").set_value("E03 has a conflict")
    _submit_form(page, "Name the consolidator")
    assert not page.exception
    cons = get_consolidation(w.engine, w.manager, w.call_id, "P03")
    assert (cons.state, cons.consolidator) == ("drafting", "E04")
    log = audit_frame(w.engine, w.manager, w.call_id)
    assert log.filter(pl.col("action") == "name_consolidator")["entity_id"].to_list() == [str(cid)]

    expert = open_page(as_user(w.experts["E04"], "user-E04"), "expert_consolidation.py")
    assert not expert.exception
    assert "Consolidator E04" in texts(expert)
