"""The dashboard's cached reads follow the call's data version: a write made anywhere (another
session, the command line) shows on the next run of a page, and a refused read is never served
from the cache."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from evalpanel.store import accept_task, declare_conflict, save_draft, submit_evaluation
from evalpanel.workflow import conflict_table
from tests.dashboard_fixtures import DashWorld, as_user, open_page, texts
from tests.store_fixtures import scores, task_of

SHEET = {"relevance": 20.0, "quality": 24.0, "partnership": 20.0, "impact": 16.0}


def _metric(at: AppTest, label: str) -> str:
    return str(next(m.value for m in at.metric if m.label == label))


def test_a_write_elsewhere_shows_on_the_next_run(dash: DashWorld) -> None:
    w = dash.world
    at = as_user(w.manager, "manager")
    assert not at.exception
    assert _metric(at, "Submitted") == "0"

    task = task_of(w, "P03", "E03")
    expert = w.experts["E03"]
    accept_task(w.engine, expert, task)
    version = save_draft(w.engine, expert, task, scores(SHEET), expected_version=0)
    submit_evaluation(w.engine, expert, task, expected_version=version)
    at.run()
    assert not at.exception
    assert _metric(at, "Submitted") == "1"

    # the conflicts page's pairs (cached by the call's tables) take a new conflict at once
    at = open_page(at, "manager_conflicts.py")
    assert not at.exception
    n = conflict_table(w.engine, w.manager, w.call_id).height
    assert f"{n:,} excluded pairs" in texts(at)
    declare_conflict(w.engine, w.manager, w.call_id, "E05", kind="declared", note="a link",
                     proposal_id="P02")
    assert conflict_table(w.engine, w.manager, w.call_id).height == n + 1
    at.run()
    assert not at.exception
    assert f"{n + 1:,} excluded pairs" in texts(at)


def test_a_refused_read_is_not_cached(dash: DashWorld) -> None:
    w = dash.world
    manager = as_user(w.manager, "manager")
    assert not manager.exception and _metric(manager, "Proposals") == "4"
    outsider = as_user(w.outsider, "other-manager")
    assert not outsider.exception
    # a manager of no call sees no call at all, and no figure of this one
    assert not [m for m in outsider.metric if m.label == "Proposals"]
