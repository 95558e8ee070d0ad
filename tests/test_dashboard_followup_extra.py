"""The follow-up page adds further experts as a change-set: preview, then apply (or discard)."""

from __future__ import annotations

import polars as pl

from evalpanel.store import accept_task, list_tasks, save_draft, submit_evaluation
from tests.dashboard_fixtures import DashWorld, as_user, button, click, confirm, open_page, texts
from tests.store_fixtures import scores, task_of

LOW = {"relevance": 10.0, "quality": 12.0, "partnership": 8.0, "impact": 10.0}
HIGH = {"relevance": 24.0, "quality": 28.0, "partnership": 19.0, "impact": 19.0}


def _diverge(dash: DashWorld) -> None:
    w = dash.world
    for expert, sheet in (("E03", LOW), ("E04", HIGH)):  # P03's panel, 50 points apart
        task = task_of(w, "P03", expert)
        accept_task(w.engine, w.experts[expert], task)
        version = save_draft(w.engine, w.experts[expert], task, scores(sheet), expected_version=0)
        submit_evaluation(w.engine, w.experts[expert], task, expected_version=version)


def _extra(dash: DashWorld) -> pl.DataFrame:
    w = dash.world
    return list_tasks(w.engine, w.manager, w.call_id).filter(pl.col("origin") == "extra")


def test_further_experts_are_previewed_then_applied(dash: DashWorld) -> None:
    _diverge(dash)
    at = open_page(as_user(dash.world.manager, "manager"), "manager_followup.py")
    click(at, "Preview an extra expert for 1 proposal(s)")
    assert not at.exception, at.exception
    assert "Extra experts to add" in texts(at)
    preview = at.dataframe[-1].value
    assert list(preview["proposal_id"]) == ["P03"]
    assert _extra(dash).is_empty()  # the preview writes no task
    assert button(at, "Add these experts").disabled  # until the manager confirms
    confirm(at, "I understand that adding cannot be undone")
    click(at, "Add these experts")
    assert not at.exception, at.exception
    extra = _extra(dash)
    assert extra.select("proposal_id", "expert_id").rows() == [("P03", preview["expert_id"][0])]
    assert "1 extra task(s) added." in texts(at)


def test_a_discarded_preview_adds_nothing(dash: DashWorld) -> None:
    _diverge(dash)
    at = open_page(as_user(dash.world.manager, "manager"), "manager_followup.py")
    click(at, "Preview an extra expert for 1 proposal(s)")
    confirm(at, "I understand that discarding cannot be undone")
    click(at, "Discard")
    assert not at.exception, at.exception
    assert _extra(dash).is_empty()
    assert "Extra experts to add" not in texts(at)
