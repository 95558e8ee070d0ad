"""Bulk actions of the call manager (evalpanel.bulk): confirm every proposed replacement and
remind every overdue expert, checked by their effect in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import polars as pl

from evalpanel.bulk import confirm_all_replacements, remind_overdue
from evalpanel.store import decline_task, list_replacements, list_tasks
from evalpanel.store.deadlines import set_deadline
from evalpanel.store.notifications import list_notifications
from evalpanel.workflow import propose_replacements
from tests.store_fixtures import *  # noqa: F403
from tests.store_fixtures import World, publish, task_of

PANELS = [("P03", "E03"), ("P03", "E04"), ("P04", "E03"), ("P04", "E04")]


def test_confirm_all_replacements_applies_each_proposal(world: World) -> None:
    publish(world, PANELS)
    decline_task(world.engine, world.experts["E03"], task_of(world, "P03", "E03"), "I advised it")
    decline_task(world.engine, world.experts["E04"], task_of(world, "P04", "E04"), "former job")
    assert confirm_all_replacements(world.engine, world.manager, world.call_id).done == ()
    assert propose_replacements(world.engine, world.manager, world.call_id) == 2
    outcome = confirm_all_replacements(world.engine, world.manager, world.call_id)
    assert len(outcome.done) == 2 and not outcome.refused
    assert outcome.summary == "2 replacement(s) confirmed."
    states = list_replacements(world.engine, world.manager, world.call_id)["state"].to_list()
    assert states == ["applied", "applied"]
    tasks = list_tasks(world.engine, world.manager, world.call_id)
    replaced = tasks.filter(pl.col("origin") == "replacement")
    assert sorted(replaced["proposal_id"].to_list()) == ["P03", "P04"]
    assert not {("P03", "E03"), ("P04", "E04")} & set(replaced.select(
        "proposal_id", "expert_id").rows())


def test_remind_overdue_queues_one_reminder_per_overdue_task(world: World) -> None:
    publish(world, PANELS)
    today = dt.date(2026, 3, 10)
    assert remind_overdue(world.engine, world.manager, world.call_id, today=today).done == ()
    set_deadline(world.engine, world.manager, world.call_id, "evaluation", dt.date(2026, 3, 1))
    late = task_of(world, "P04", "E04")
    set_deadline(world.engine, world.manager, world.call_id, "evaluation", dt.date(2026, 3, 20),
                 task_id=late)  # this one is not overdue yet
    outcome = remind_overdue(world.engine, world.manager, world.call_id, today=today)
    assert len(outcome.done) == 3
    assert outcome.summary.startswith("3 overdue reminder(s) queued for 2 expert(s)")
    queued = list_notifications(world.engine, world.manager, call_id=world.call_id)
    overdue = queued.filter(pl.col("kind") == "overdue")
    assert overdue.height == 3
    assert all(f":{late}:" not in k for k in overdue["dedupe_key"].to_list())
    again = remind_overdue(world.engine, world.manager, world.call_id, today=today)
    assert again.done == () and len(again.refused) == 3  # reminded once per deadline
    assert list_notifications(world.engine, world.manager, call_id=world.call_id).filter(
        pl.col("kind") == "overdue").height == 3


def test_a_refused_confirmation_is_reported_and_the_rest_go_through(world: World) -> None:

    from evalpanel.store import proposed_pairs
    from evalpanel.store.tables import experts

    publish(world, PANELS)
    decline_task(world.engine, world.experts["E03"], task_of(world, "P03", "E03"), "I advised it")
    decline_task(world.engine, world.experts["E04"], task_of(world, "P04", "E04"), "former job")
    assert propose_replacements(world.engine, world.manager, world.call_id) == 2
    first, second = list_replacements(world.engine, world.manager, world.call_id)[
        "replacement_id"].to_list()
    blocked = proposed_pairs(world.engine, world.manager, first)["expert_id"].item()
    others = proposed_pairs(world.engine, world.manager, second)["expert_id"].to_list()
    with world.engine.begin() as conn:  # the expert's load limit drops to 0 meanwhile
        conn.execute(experts.update().where(experts.c.call_id == world.call_id,
                                            experts.c.expert_id == blocked).values(max_load=0))
    outcome = confirm_all_replacements(world.engine, world.manager, world.call_id)
    refused = dict(outcome.refused)
    assert first in refused and f"request {first}: " in outcome.summary
    states = dict(list_replacements(world.engine, world.manager, world.call_id).select(
        "replacement_id", "state").iter_rows())
    assert states[first] == "proposed"  # left to decide again
    assert states[second] == ("proposed" if blocked in others else "applied")
    assert set(outcome.done) == ({second} if blocked not in others else set())
