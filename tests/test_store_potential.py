"""Potential conflicts of a stored call: listed apart from the exclusions, avoided by batches,
listed in a batch's record when used, and confirmed or dismissed by a manager (SQLite and
PostgreSQL, the real solver)."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.callfolder import CallFolder
from evalpanel.store import (
    InvalidState,
    NotFound,
    PermissionDenied,
    audit_frame,
    batch_record,
    confirm_potential_conflict,
    dismiss_potential_conflict,
    list_conflicts,
    list_replacements,
    list_tasks,
    potential_decisions,
    publish_batch,
)
from evalpanel.workflow import conflict_table, potential_conflict_table, reproduce_batch, run_batch
from tests.store_fixtures import World, build_world, make_call

PAIR = ("P03", "E03")


def likely_call() -> CallFolder:
    """The fixture call, with P03's coordinator and expert E03 named alike and without ids,
    and E03 the best expert for P03 by far."""
    call = make_call()
    partners = call.partners.with_columns(
        org_id=pl.when((pl.col("proposal_id") == "P03") & (pl.col("role") == "coordinator"))
        .then(None).otherwise(pl.col("org_id")),
        org_name=pl.when((pl.col("proposal_id") == "P03") & (pl.col("role") == "coordinator"))
        .then(pl.lit("Univerzita Karlova v Praze")).otherwise(pl.col("org_name")),
    )  # fmt: skip
    experts = call.experts.with_columns(
        org_id=pl.when(pl.col("expert_id") == "E03").then(None).otherwise(pl.col("org_id")),
        org_name=pl.when(pl.col("expert_id") == "E03").then(pl.lit("Univerzita Karlova"))
        .otherwise(pl.col("org_name")),
    )  # fmt: skip
    assert call.affinity is not None
    affinity = call.affinity.with_columns(
        affinity=pl.when((pl.col("proposal_id") == PAIR[0]) & (pl.col("expert_id") == PAIR[1]))
        .then(0.99).otherwise(pl.col("affinity"))
    )  # fmt: skip
    return dataclasses.replace(call, partners=partners, experts=experts, affinity=affinity)


@pytest.fixture
def lw(engine: sa.Engine) -> World:
    return build_world(engine, likely_call())


def pairs_of(frame: pl.DataFrame) -> set[tuple[str, str]]:
    return set(frame.select("proposal_id", "expert_id").iter_rows())


def test_listed_apart_from_the_exclusions_and_avoided_by_a_batch(lw: World) -> None:
    table = potential_conflict_table(lw.engine, lw.manager, lw.call_id)
    assert pairs_of(table) == {PAIR}
    assert '"Univerzita Karlova"' in table["detail"].item()
    assert PAIR not in pairs_of(conflict_table(lw.engine, lw.manager, lw.call_id))
    run = run_batch(lw.engine, lw.manager, lw.call_id)
    assert PAIR not in pairs_of(run.result.pairs)  # the best pair by affinity, avoided
    record = batch_record(lw.engine, lw.manager, run.batch_id)
    assert record.summary["potential_pairs_used"] == []
    assert record.parameters["potential_decided"] == []


def test_a_pinned_potential_pair_is_listed_in_the_batch_record(lw: World) -> None:
    run = run_batch(lw.engine, lw.manager, lw.call_id, pinned=[list(PAIR)])
    record = batch_record(lw.engine, lw.manager, run.batch_id)
    (used,) = record.summary["potential_pairs_used"]
    assert (used["proposal_id"], used["expert_id"], used["fixed"]) == (*PAIR, True)
    assert "likely" in used["detail"]
    assert PAIR in pairs_of(record.pairs)


def test_dismissed_never_again_and_no_longer_avoided(lw: World) -> None:
    detail = potential_conflict_table(lw.engine, lw.manager, lw.call_id)["detail"].item()
    dismiss_potential_conflict(lw.engine, lw.manager, lw.call_id, *PAIR, detail=detail,
                               note="a different faculty, checked")  # fmt: skip
    assert potential_conflict_table(lw.engine, lw.manager, lw.call_id).height == 0
    decided = potential_decisions(lw.engine, lw.manager, lw.call_id)
    assert decided.select("proposal_id", "expert_id", "decision", "note").rows() == [
        (*PAIR, "dismissed", "a different faculty, checked")
    ]
    run = run_batch(lw.engine, lw.manager, lw.call_id)
    assert PAIR in pairs_of(run.result.pairs)  # now simply the best pair
    assert reproduce_batch(lw.engine, lw.manager, run.batch_id)[0]
    audit = audit_frame(lw.engine, lw.manager, lw.call_id)
    assert audit.filter((pl.col("entity") == "potential_conflict")
                        & (pl.col("action") == "dismiss")).height == 1  # fmt: skip
    with pytest.raises(InvalidState, match="already dismissed"):
        confirm_potential_conflict(lw.engine, lw.manager, lw.call_id, *PAIR, detail=detail)


def test_confirmed_becomes_a_conflict_and_declines_the_task(lw: World) -> None:
    run = run_batch(lw.engine, lw.manager, lw.call_id, pinned=[list(PAIR)])
    publish_batch(lw.engine, lw.manager, run.batch_id)
    detail = potential_conflict_table(lw.engine, lw.manager, lw.call_id)["detail"].item()
    conflict_id = confirm_potential_conflict(lw.engine, lw.manager, lw.call_id, *PAIR,
                                             detail=detail)  # fmt: skip
    row = list_conflicts(lw.engine, lw.manager, lw.call_id).filter(
        pl.col("conflict_id") == conflict_id
    ).row(0, named=True)
    assert (row["expert_id"], row["proposal_id"], row["kind"], row["source"]) == (
        "E03", "P03", "other", "declared")  # fmt: skip
    assert row["note"] == f"confirmed potential conflict: {detail}"
    assert PAIR in pairs_of(conflict_table(lw.engine, lw.manager, lw.call_id).filter(
        pl.col("reason") == "other"))  # fmt: skip
    assert potential_conflict_table(lw.engine, lw.manager, lw.call_id).height == 0
    tasks = list_tasks(lw.engine, lw.manager, lw.call_id)
    state = tasks.filter((pl.col("proposal_id") == PAIR[0]) & (pl.col("expert_id") == PAIR[1]))
    assert state["state"].to_list() == ["declined"]
    assert list_replacements(lw.engine, lw.manager, lw.call_id, state="pending").height == 1
    decided = potential_decisions(lw.engine, lw.manager, lw.call_id).row(0, named=True)
    assert (decided["decision"], decided["conflict_id"]) == ("confirmed", conflict_id)
    assert PAIR not in pairs_of(run_batch(lw.engine, lw.manager, lw.call_id).result.pairs)


def test_only_a_manager_of_the_call_decides(lw: World) -> None:
    for who in (lw.experts["E03"], lw.outsider, lw.applicant):
        with pytest.raises(PermissionDenied):
            dismiss_potential_conflict(lw.engine, who, lw.call_id, *PAIR, detail="x")
        with pytest.raises(PermissionDenied):
            confirm_potential_conflict(lw.engine, who, lw.call_id, *PAIR, detail="x")
        with pytest.raises(PermissionDenied):
            potential_decisions(lw.engine, who, lw.call_id)
    assert potential_decisions(lw.engine, lw.manager, lw.call_id).height == 0
    with pytest.raises(NotFound, match="no expert 'E99'"):
        dismiss_potential_conflict(lw.engine, lw.manager, lw.call_id, "P03", "E99", detail="x")
    with pytest.raises(Exception, match="kind must be one of"):
        confirm_potential_conflict(lw.engine, lw.manager, lw.call_id, *PAIR, detail="x",
                                   kind="rumour")  # fmt: skip
    assert potential_decisions(lw.engine, lw.manager, lw.call_id).height == 0
