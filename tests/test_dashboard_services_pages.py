"""Pages on the store's newer services: queue details before accepting, the call's own scheme in
the scoring form, the internal comment, consolidation lists, and removing a declared
conflict."""

from __future__ import annotations

import polars as pl

from evalpanel.store import (
    accept_task,
    declare_conflict,
    get_evaluation,
    list_conflicts,
    list_tasks,
    save_draft,
    start_consolidation,
    submit_evaluation,
)
from evalpanel.store.tables import calls
from tests.dashboard_fixtures import (
    DashWorld,
    as_user,
    click,
    open_page,
    texts,
)
from tests.store_fixtures import scores

AFI = {"relevance": 20.0, "quality": 24.0, "partnership": 15.0, "impact": 20.0}


def _task(d: DashWorld, proposal_id: str, expert_id: str) -> int:
    w = d.world
    tasks = list_tasks(w.engine, w.manager, w.call_id)
    row = tasks.filter((pl.col("proposal_id") == proposal_id) & (pl.col("expert_id") == expert_id))
    return int(row["task_id"].item())


def _set_call(d: DashWorld, **values: object) -> None:
    with d.world.engine.begin() as conn:
        conn.execute(calls.update().where(calls.c.call_id == d.world.call_id).values(**values))


def test_queue_shows_title_lot_and_deadline_before_accepting(dash: DashWorld) -> None:
    _set_call(dash, deadline="2026-02-26")
    at = as_user(dash.world.experts["E03"], "user-E03")
    assert not at.exception
    shown = at.dataframe[0].value
    assert set(shown["state"]) == {"assigned"}
    proposals = dash.world.call.proposals
    for pid, title, lot in zip(shown["proposal_id"], shown["title"], shown["lot"], strict=True):
        row = proposals.filter(pl.col("proposal_id") == pid)
        assert (title, lot) == (row["title"].item(), row["lot"].item())
    assert "2026-02-26" in texts(at)
    assert "abstract" not in shown.columns


def test_scoring_form_uses_the_call_overrides(dash: DashWorld) -> None:
    _set_call(
        dash, scheme_overrides={"total_threshold": 75, "criteria": {"relevance": {"max": 30}}}
    )
    w = dash.world
    task = _task(dash, "P03", "E03")
    accept_task(w.engine, w.experts["E03"], task)
    at = open_page(as_user(w.experts["E03"], "user-E03"), "expert_evaluate.py")
    assert not at.exception
    assert at.number_input[0].max == 30.0  # relevance, the preset's 25 overridden
    assert "pass mark 75" in str(next(m for m in at.metric if m.label == "Total").delta)


def test_scoring_form_saves_the_internal_comment(dash: DashWorld) -> None:
    w = dash.world
    task = _task(dash, "P04", "E04")
    accept_task(w.engine, w.experts["E04"], task)
    at = open_page(as_user(w.experts["E04"], "user-E04"), "expert_evaluate.py")
    at.selectbox(key="score_task").set_value(task).run()
    box = next(t for t in at.text_area if t.label.startswith("Internal comment"))
    box.input("the partnership looks thin").run()
    click(at, "Save draft")
    assert not at.exception
    ev = get_evaluation(w.engine, w.manager, task)
    assert ev.internal_comment == "the partnership looks thin"
    assert "the partnership looks thin" not in ev.scores["comment"].to_list()


def _submit_all(d: DashWorld, proposal_id: str) -> None:
    w = d.world
    for expert_id in ("E03", "E04"):
        task = _task(d, proposal_id, expert_id)
        actor = w.experts[expert_id]
        accept_task(w.engine, actor, task)
        version = save_draft(w.engine, actor, task, scores(AFI), expected_version=0)
        submit_evaluation(w.engine, actor, task, expected_version=version)


def test_consolidation_pages_list_the_stored_consolidations(dash: DashWorld) -> None:
    w = dash.world
    _submit_all(dash, "P03")
    _submit_all(dash, "P04")
    start_consolidation(w.engine, w.manager, w.call_id, "P03", "E04")
    at = open_page(as_user(w.manager, "manager"), "manager_consolidation.py")
    assert not at.exception
    board = at.dataframe[0].value
    states = dict(zip(board["proposal_id"], board["state"], strict=True))
    assert states == {"P03": "drafting", "P04": "ready"}
    assert dict(zip(board["proposal_id"], board["consolidator"], strict=True))["P03"] == "E04"

    at = open_page(as_user(w.experts["E03"], "user-E03"), "expert_consolidation.py")
    assert not at.exception
    options = at.selectbox[0].options
    assert len(options) == 1 and options[0].startswith("P03")
    assert "Consolidator E04" in texts(at)


def test_conflicts_page_removes_a_declared_conflict(dash: DashWorld) -> None:
    w = dash.world
    declare_conflict(
        w.engine, w.manager, w.call_id, "E06", kind="declared", note="mistake", proposal_id="P01"
    )
    declared = (
        list_conflicts(w.engine, w.manager, w.call_id)
        .filter(pl.col("source") == "declared")["conflict_id"]
        .item()
    )
    at = open_page(as_user(w.manager, "manager"), "manager_conflicts.py")
    assert not at.exception
    at.selectbox(key="remove_conflict").set_value(declared).run()
    click(at, "Remove")
    assert not at.exception
    left = list_conflicts(w.engine, w.manager, w.call_id)
    assert declared not in left["conflict_id"].to_list()
    assert set(left["source"]) == {"import"}
    assert f"Conflict #{declared} removed" in texts(at)


def test_imported_conflicts_offer_no_removal(dash: DashWorld) -> None:
    at = open_page(as_user(dash.world.manager, "manager"), "manager_conflicts.py")
    assert not at.exception
    assert not any(b.label == "Remove" for b in at.button)
    assert "re-importing" in texts(at)


def test_no_direct_table_access_left_in_the_dashboard() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "dashboard"
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "evalpanel.store.tables" in p.read_text(encoding="utf-8")
        or "reading(" in p.read_text(encoding="utf-8")
        or "writing(" in p.read_text(encoding="utf-8")
    ]
    assert not offenders
