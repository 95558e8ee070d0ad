"""Names beside ids (store.call_names, store.with_names) and the proposal page's service
(evalpanel.dossier): what a manager and an expert see of one proposal, on SQLite and PostgreSQL."""

from __future__ import annotations

import polars as pl
import pytest

from evalpanel.dossier import proposal_dossier
from evalpanel.store import (
    PermissionDenied,
    accept_task,
    call_names,
    save_draft,
    submit_evaluation,
    with_names,
)
from evalpanel.workflow import conflict_table
from tests.store_fixtures import *  # noqa: F403
from tests.store_fixtures import World, publish, scores, task_of

FULL = {"relevance": 20.0, "quality": 24.0, "partnership": 20.0, "impact": 16.0}


def test_call_names_come_from_the_call(world: World) -> None:
    names = call_names(world.engine, world.manager, world.call_id)
    p = names.proposals.row(0, named=True)
    assert p == {"proposal_id": "P01", "title": "Proposal 1", "coordinator": "Org 1-0",
                 "coordinator_country": "EL", "lot": "L1", "ecosystem": "Digital"}
    assert names.experts.filter(pl.col("expert_id") == "E02")["expert_name"].item() == "Expert 2"
    assert names.organisations.filter(pl.col("org_id") == "9000000010")["org_name"].item() \
        == "Org 1-0"
    with pytest.raises(PermissionDenied):
        call_names(world.engine, world.outsider, world.call_id)
    with pytest.raises(PermissionDenied):
        call_names(world.engine, world.experts["E03"], world.call_id)


def test_with_names_places_each_name_after_its_id(world: World) -> None:
    names = call_names(world.engine, world.manager, world.call_id)
    frame = pl.DataFrame({"n": [2, 1, 3], "proposal_id": ["P02", "P01", "P99"],
                          "expert_id": ["E01", "E02", "E01"], "other": ["P03", None, "P01"]})
    out = with_names(frame, names, proposal=("proposal_id", "other"))
    assert out.columns == ["n", "proposal_id", "title", "coordinator", "expert_id",
                           "expert_name", "other", "other_title", "other_coordinator"]
    assert out["title"].to_list() == ["Proposal 2", "Proposal 1", None]  # rows keep their order
    assert out["expert_name"].to_list() == ["Expert 1", "Expert 2", "Expert 1"]
    assert out["other_title"].to_list() == ["Proposal 3", None, "Proposal 1"]
    assert with_names(out, names).columns == out.columns  # names already there are kept


def test_manager_sees_every_section_of_a_proposal(world: World) -> None:
    publish(world, [("P01", "E03"), ("P01", "E04")])
    d = proposal_dossier(world.engine, world.manager, world.call_id, "P01")
    assert d.manager and not d.closed
    assert d.proposal.title == "Proposal 1"
    assert d.partners["org_name"].to_list() == ["Org 1-0", "Org 1-1"]
    assert d.conflicts is not None
    e01 = d.conflicts.filter(pl.col("expert_id") == "E01").row(0, named=True)
    assert e01["expert_name"] == "Expert 1" and e01["reason"]  # E01 works at the coordinator
    for pid in world.call.proposals["proposal_id"].to_list():  # the same rule as the call's
        full = conflict_table(world.engine, world.manager, world.call_id).filter(
            pl.col("proposal_id") == pid).drop("proposal_id").sort("expert_id", "reason")
        one = proposal_dossier(world.engine, world.manager, world.call_id, pid).conflicts
        assert one is not None
        assert one.select(full.columns).sort("expert_id", "reason").equals(full)
    assert d.tasks.select("expert_id", "expert_name", "state").rows() == [
        ("E03", "Expert 3", "assigned"), ("E04", "Expert 4", "assigned")]
    assert d.ranking is not None
    assert d.ranking["decision"] == "pending"
    assert d.ranking["decision_reason"].startswith("pending: ")
    assert d.scores is not None and d.scores.is_empty()


def test_expert_sees_only_what_the_rules_open(world: World) -> None:
    publish(world, [("P03", "E03"), ("P03", "E04")])
    me = world.experts["E03"]
    with pytest.raises(PermissionDenied):  # not accepted yet: the proposal is closed
        proposal_dossier(world.engine, me, world.call_id, "P03")
    with pytest.raises(PermissionDenied):  # not on its panel at all
        proposal_dossier(world.engine, world.experts["E05"], world.call_id, "P03")
    task = task_of(world, "P03", "E03")
    accept_task(world.engine, me, task)
    d = proposal_dossier(world.engine, me, world.call_id, "P03")
    assert not d.manager
    assert d.tasks["expert_id"].to_list() == ["E03"]  # only their own task
    assert d.conflicts is None and d.ranking is None
    assert set(d.closed) == {"conflicts", "ranking", "scores", "consolidation"}
    assert "after submitting your own" in d.closed["scores"]
    version = save_draft(world.engine, me, task, scores(FULL), expected_version=0)
    submit_evaluation(world.engine, me, task, expected_version=version)
    d = proposal_dossier(world.engine, me, world.call_id, "P03")
    assert "only in consolidation" in d.closed["scores"]
