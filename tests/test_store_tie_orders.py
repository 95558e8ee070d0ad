"""Managers' orders of ex-aequo proposals: stored, audited, refused to others, used by the
ranking (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.callfolder.model import Lot
from evalpanel.store import (
    SYSTEM,
    InvalidInput,
    InvalidState,
    NotFound,
    PermissionDenied,
    accept_task,
    audit_frame,
    list_tie_orders,
    record_tie_order,
    save_draft,
    submit_evaluation,
)
from evalpanel.store.exports import export_ranking
from evalpanel.workflow import ex_aequo_groups, order_ties, rank_call
from tests.store_fixtures import World, build_world, make_call, publish, scores, task_of

WHY = "P03 builds on the funded portfolio; synergy with P01's network"
# P01 and P03 are lot L1, P02 and P04 lot L2 (tests/store_fixtures.make_call).
SAME = {"relevance": 20.0, "quality": 24.0, "partnership": 20.0, "impact": 16.0}
PANELS = [("P01", "E03"), ("P01", "E04"), ("P03", "E03"), ("P03", "E04"),
          ("P02", "E05"), ("P02", "E06"), ("P04", "E05"), ("P04", "E06")]


def _evaluate_all(w: World) -> None:
    """Every expert gives every proposal the same points: P01 and P03 are ex aequo in L1."""
    publish(w, PANELS)
    for pid, eid in PANELS:
        task = task_of(w, pid, eid)
        accept_task(w.engine, w.experts[eid], task)
        version = save_draft(w.engine, w.experts[eid], task, scores(SAME), expected_version=0)
        submit_evaluation(w.engine, w.experts[eid], task, expected_version=version)


def _tie_log(w: World) -> pl.DataFrame:
    return audit_frame(w.engine, SYSTEM).filter(pl.col("entity") == "tie_order")


def test_a_manager_records_an_order_and_it_is_audited(world: World) -> None:
    oid = record_tie_order(world.engine, world.manager, world.call_id, "L1", ["P03", "P01"],
                           "  " + WHY + "  ")
    orders = list_tie_orders(world.engine, world.manager, world.call_id)
    assert orders.select("tie_order_id", "lot_id", "proposal_ids", "justification",
                         "recorded_by").rows() == [
        (oid, "L1", ["P03", "P01"], WHY, world.manager.user_id)]
    log = _tie_log(world)
    assert log.select("action", "entity_id", "user_id", "call_id").rows() == [
        ("record", str(oid), world.manager.user_id, world.call_id)]
    assert json.loads(log["after"][0]) == {"lot_id": "L1", "proposal_ids": ["P03", "P01"],
                                           "justification": WHY}
    # a new order of the same proposals replaces the old one; the log keeps both
    again = record_tie_order(world.engine, world.manager, world.call_id, "L1", ["P01", "P03"],
                             "P01 reaches more regions than P03")
    assert list_tie_orders(world.engine, world.manager, world.call_id)[
        "tie_order_id"].to_list() == [again]
    log = _tie_log(world)
    assert log["action"].to_list() == ["record", "replace", "record"]
    assert json.loads(log["before"][1])["justification"] == WHY


def test_others_are_refused_and_the_refusal_is_audited(world: World) -> None:
    for who in (world.experts["E03"], world.applicant, world.outsider):
        before = audit_frame(world.engine, SYSTEM).height
        with pytest.raises(PermissionDenied):
            record_tie_order(world.engine, who, world.call_id, "L1", ["P03", "P01"], WHY)
        with pytest.raises(PermissionDenied):
            list_tie_orders(world.engine, who, world.call_id)
        denials = audit_frame(world.engine, SYSTEM).slice(before)
        assert denials["action"].to_list() == [
            "denied:order ex-aequo proposals in",
            "denied:read the orders of ex-aequo proposals of",
        ]
    assert list_tie_orders(world.engine, world.manager, world.call_id).is_empty()


@pytest.mark.parametrize(
    ("lot", "ids", "why", "error", "match"),
    [
        ("L1", ["P01"], WHY, InvalidInput, "at least two proposal ids"),
        ("L1", ["P01", "P01"], WHY, InvalidInput, "listed twice"),
        ("L1", ["P01", "P03"], "   ", InvalidInput, "write the justification"),
        ("L1", ["P01", "P02"], WHY, InvalidInput, "not proposals of lot L1 in call AFI-2026: P02"),
        ("L1", ["P01", "P99"], WHY, InvalidInput, "P99"),
        ("L9", ["P01", "P03"], WHY, NotFound, "no lot 'L9'"),
    ],
)
def test_bad_orders_are_refused_with_the_reason(
    world: World, lot: str, ids: list[str], why: str, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        record_tie_order(world.engine, world.manager, world.call_id, lot, ids, why)
    assert list_tie_orders(world.engine, world.manager, world.call_id).is_empty()
    assert _tie_log(world).is_empty()


def test_the_ranking_applies_the_order_and_shows_its_justification(
    engine: sa.Engine, tmp_path: Path
) -> None:
    call = make_call()
    # L1's budget funds one of P01 (400,001) and P03 (400,003), not both
    lots = {**call.config.lots, "L1": Lot("L1", 500_000.0, "Education and enterprises")}
    world = build_world(engine, dataclasses.replace(
        call, config=dataclasses.replace(call.config, lots=lots)))
    _evaluate_all(world)
    before = rank_call(world.engine, world.manager, world.call_id)
    assert ex_aequo_groups(before) == [("L1", 1, ["P01", "P03"]), ("L2", 1, ["P02", "P04"])]
    l1 = before.proposals.filter(pl.col("lot") == "L1")
    assert l1.select("proposal_id", "rank", "tied", "tie_order_note").rows() == [
        ("P01", 1, True, None), ("P03", 1, True, None)]
    # the engine did not pick one: L1's budget (500,000) cannot fund both requests
    assert l1["decision"].to_list() == ["reserve", "reserve"]

    with pytest.raises(InvalidInput, match="order all of them, and only them"):
        order_ties(world.engine, world.manager, world.call_id, "L2", ["P02"], WHY)
    with pytest.raises(InvalidInput, match="tied at rank 1 of lot L1 are P01, P03"):
        order_ties(world.engine, world.manager, world.call_id, "L1", ["P01", "P02"], WHY)
    with pytest.raises(InvalidState, match="not ex aequo in lot L2"):
        order_ties(world.engine, world.manager, world.call_id, "L2", ["P01", "P03"], WHY)
    assert list_tie_orders(world.engine, world.manager, world.call_id).is_empty()
    order_ties(world.engine, world.manager, world.call_id, "L1", ["P03", "P01"], WHY)

    after = rank_call(world.engine, world.manager, world.call_id)
    l1 = after.proposals.filter(pl.col("lot") == "L1")
    assert l1.select("proposal_id", "rank", "tied", "tie_order_note", "decision").rows() == [
        ("P03", 1, False, WHY, "funded"), ("P01", 2, False, WHY, "reserve")]
    assert ex_aequo_groups(after) == [("L2", 1, ["P02", "P04"])]
    # the ranking export (the panel report's table) carries the order's justification
    exported = pl.read_csv(export_ranking(after.proposals, tmp_path / "ranking.csv"))
    assert exported.filter(pl.col("lot") == "L1").select(
        "proposal_id", "rank", "tie_order_note").rows() == [("P03", 1, WHY), ("P01", 2, WHY)]
    # an applied order can be changed by recording the proposals' order again
    order_ties(world.engine, world.manager, world.call_id, "L1", ["P01", "P03"],
               "on reflection P01 has the wider reach")
    final = rank_call(world.engine, world.manager, world.call_id).proposals
    assert final.filter(pl.col("lot") == "L1")["proposal_id"].to_list() == ["P01", "P03"]
