"""The ranking page lists ex-aequo proposals and lets a manager record their order with a
justification, through evalpanel.workflow.order_ties (real store, AppTest)."""

from __future__ import annotations

import polars as pl

from evalpanel.store import accept_task, list_tie_orders, save_draft, submit_evaluation
from tests.dashboard_fixtures import DashWorld, as_user, click, open_page, texts
from tests.store_fixtures import publish, scores, task_of

SAME = {"relevance": 20.0, "quality": 24.0, "partnership": 20.0, "impact": 16.0}
PANELS = [("P01", "E03"), ("P01", "E04"), ("P03", "E03"), ("P03", "E04")]
WHY = "<b>P03</b> complements the funded portfolio"  # shown as text, never as markup


def test_a_manager_orders_a_tie_on_the_ranking_page(dash: DashWorld) -> None:
    w = dash.world
    publish(w, PANELS)
    for pid, eid in PANELS:  # P01 and P03 (lot L1) get the same points: ex aequo
        task = task_of(w, pid, eid)
        accept_task(w.engine, w.experts[eid], task)
        version = save_draft(w.engine, w.experts[eid], task, scores(SAME), expected_version=0)
        submit_evaluation(w.engine, w.experts[eid], task, expected_version=version)
    at = open_page(as_user(w.manager, "manager"), "manager_ranking.py")
    assert not at.exception, at.exception
    assert "Ex-aequo proposals** (1 unresolved tie(s))" in texts(at)
    assert at.selectbox[0].value == "rank 1: P01, P03"
    at.multiselect[0].set_value(["P03", "P01"])
    at.text_area[0].input(WHY)
    at = click(at, "Record the order")
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    orders = list_tie_orders(w.engine, w.manager, w.call_id)
    assert orders.select("lot_id", "proposal_ids", "justification").rows() == [
        ("L1", ["P03", "P01"], WHY)]
    ranked = next(pl.from_pandas(d.value) for d in at.dataframe
                  if "tie_order_note" in d.value.columns)
    shown = dict(zip(ranked["proposal_id"], ranked["tie_order_note"], strict=True))
    assert shown["P03"] == WHY and shown["P01"] == WHY
    assert "No proposals of this lot are tied" in texts(at)
    listed = next(pl.from_pandas(d.value) for d in at.dataframe
                  if "justification" in d.value.columns)
    assert listed["justification"].to_list() == [WHY]


def test_an_incomplete_order_is_refused_with_the_reason(dash: DashWorld) -> None:
    w = dash.world
    publish(w, PANELS)
    for pid, eid in PANELS:
        task = task_of(w, pid, eid)
        accept_task(w.engine, w.experts[eid], task)
        version = save_draft(w.engine, w.experts[eid], task, scores(SAME), expected_version=0)
        submit_evaluation(w.engine, w.experts[eid], task, expected_version=version)
    at = open_page(as_user(w.manager, "manager"), "manager_ranking.py")
    at.multiselect[0].set_value(["P03"])
    at.text_area[0].input(WHY)
    at = click(at, "Record the order")
    assert len(at.error) == 1
    assert ("the proposals tied at rank 1 of lot L1 are P01, P03: order all of them, and only "
            "them") in texts(at)
    assert list_tie_orders(w.engine, w.manager, w.call_id).is_empty()
