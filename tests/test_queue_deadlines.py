"""Time left in the expert's queue: the call's deadline or a task's own, per task, only the
expert's own tasks (store on SQLite and PostgreSQL; the queue page with AppTest)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from evalpanel.store import PermissionDenied, list_tasks
from evalpanel.store.deadlines import my_deadlines, set_deadline, time_left
from tests.dashboard_fixtures import DashWorld, as_user
from tests.store_fixtures import World, publish, task_of


def test_each_task_has_its_own_time_left(world: World) -> None:
    w = world
    publish(w, [("P03", "E03"), ("P04", "E03"), ("P04", "E04")])
    today = dt.date(2031, 3, 20)
    set_deadline(w.engine, w.manager, w.call_id, "evaluation", dt.date(2031, 3, 25))
    late = task_of(w, "P04", "E03")
    set_deadline(w.engine, w.manager, w.call_id, "evaluation", dt.date(2031, 3, 18), task_id=late)
    mine = my_deadlines(w.engine, w.experts["E03"], w.call_id, today)
    assert dict(mine.select("task_id", "days_left").iter_rows()) == {
        task_of(w, "P03", "E03"): 5, late: -2}
    assert my_deadlines(w.engine, w.manager, w.call_id, today).height == 3
    with pytest.raises(PermissionDenied):
        my_deadlines(w.engine, w.applicant, w.call_id, today)
    assert [time_left(d) for d in (5, 1, 0, -1, -2, None)] == [
        "5 days left", "1 day left", "due today", "1 day overdue", "2 days overdue",
        "no deadline"]


def test_the_queue_shows_the_time_left_per_task(dash: DashWorld) -> None:
    w = dash.world
    tasks = list_tasks(w.engine, w.manager, w.call_id).filter(pl.col("expert_id") == "E03")
    first, second = sorted(tasks["task_id"].to_list())
    today = dt.datetime.now(dt.UTC).date()
    set_deadline(w.engine, w.manager, w.call_id, "evaluation", today + dt.timedelta(days=9))
    set_deadline(w.engine, w.manager, w.call_id, "evaluation", today - dt.timedelta(days=2),
                 task_id=second)
    at = as_user(w.experts["E03"], "user-E03")
    assert not at.exception
    shown = at.dataframe[0].value
    left = dict(zip(shown["task_id"], shown["time_left"], strict=True))
    assert left == {first: "9 days left", second: "2 days overdue"}
    assert any("1 task(s) past their deadline" in x.value for x in at.warning)


def test_the_manager_queues_the_overdue_notices_from_the_overdue_view(dash: DashWorld) -> None:
    from evalpanel.store.notifications import list_notifications
    from tests.dashboard_fixtures import click, open_page, texts

    w = dash.world
    set_deadline(w.engine, w.manager, w.call_id, "evaluation",
                 dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3))
    at = open_page(as_user(w.manager, "manager"), "manager_people.py")
    assert "4 open task(s) are past their deadline." in texts(at)
    at = click(at, "Queue the reminders and overdue notices due now")
    assert not at.exception
    outbox = list_notifications(w.engine, w.manager, call_id=w.call_id)
    overdue = outbox.filter(pl.col("kind") == "overdue")
    assert overdue.height == 4 and "new message(s) queued" in texts(at)
    assert all(s.startswith(f"[{w.call_id}] Overdue: ") for s in overdue["subject"])
    again = click(at, "Queue the reminders and overdue notices due now")
    assert "0 new message(s) queued" in texts(again)  # nothing twice
