"""Consolidation deadlines against a real SMTP server on loopback (aiosmtpd), on SQLite and
PostgreSQL: the call's deadline and a task's override, a reminder N days before to whoever owes
the next step (the consolidator drafting, then each other expert approving), an overdue notice
after it, in the expert's language, audited, and each exactly once; the managers' overdue view
(AppTest)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from evalpanel.mailer import send_due
from evalpanel.store import (
    SYSTEM,
    PermissionDenied,
    accept_task,
    approve_consensus,
    audit_frame,
    save_consensus,
    save_draft,
    start_consolidation,
    submit_consensus,
    submit_evaluation,
)
from evalpanel.store.deadlines import consolidation_work, overdue_consolidations, set_deadline
from evalpanel.store.engine import reading
from evalpanel.store.notifications import list_notifications, plan_notifications
from evalpanel.store.tables import experts
from tests.dashboard_fixtures import DashWorld, as_user, open_page, texts
from tests.smtp_support import Inbox, smtp_config
from tests.store_fixtures import World, complete, publish, scores, task_of

pytest.importorskip("aiosmtpd.controller")

KINDS = ("consolidation_reminder", "consolidation_overdue", "consolidation_ready")


def _evaluate(w: World, proposal: str, expert: str) -> int:
    task = task_of(w, proposal, expert)
    actor = w.experts[expert]
    accept_task(w.engine, actor, task)
    version = save_draft(w.engine, actor, task, scores(complete({})), expected_version=0)
    submit_evaluation(w.engine, actor, task, expected_version=version)
    return task


def _plan(w: World, day: dt.date) -> int:
    return plan_notifications(w.engine, SYSTEM, today=day, reminder_days=3)


def _outbox(w: World) -> pl.DataFrame:
    frame = list_notifications(w.engine, SYSTEM, call_id=w.call_id)
    return frame.filter(pl.col("kind").is_in(KINDS))


def _work(w: World) -> list[tuple[int, str, object]]:
    with reading(w.engine) as conn:
        return consolidation_work(conn, w.call_id).select("task_id", "step", "due_on").rows()


def test_consolidation_reminders_and_overdue_notices_arrive_once(
        world: World, inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    with world.engine.begin() as conn:
        conn.execute(experts.update().where(experts.c.expert_id == "E04")
                     .values(languages=["de", "en"]))
    publish(world, [("P01", "E03"), ("P01", "E04")])
    t03, t04 = _evaluate(world, "P01", "E03"), _evaluate(world, "P01", "E04")
    send_due(world.engine, SYSTEM, smtp_config(port))  # the assignment notices
    box.messages.clear()
    box.envelopes.clear()

    set_deadline(world.engine, world.manager, world.call_id, "consolidation", dt.date(2031, 4, 30))
    set_deadline(world.engine, world.manager, world.call_id, "consolidation", dt.date(2031, 4, 20),
                 task_id=t04)  # E04's override
    assert _work(world) == []  # nothing is owed before the consolidation starts
    cid = start_consolidation(world.engine, world.manager, world.call_id, "P01", "E03")
    # drafting: only the consolidator owes work, by the call's deadline
    assert _work(world) == [(t03, "draft", dt.date(2031, 4, 30))]

    _plan(world, dt.date(2031, 4, 26))  # 4 days left: no reminder yet
    assert _outbox(world).is_empty()
    _plan(world, dt.date(2031, 4, 27))
    assert _outbox(world)["dedupe_key"].to_list() == [f"consolidation_reminder:{t03}:2031-04-30"]
    assert _plan(world, dt.date(2031, 4, 28)) == 0  # not again
    assert send_due(world.engine, SYSTEM, smtp_config(port)).sent == 1
    assert send_due(world.engine, SYSTEM, smtp_config(port)).sent == 0
    [reminder] = box.messages
    assert reminder["To"] == "Expert 3 <e3@example.org>"
    assert box.envelopes[0][1] == ["e3@example.org"]
    assert reminder["Content-Language"] == "en"
    assert reminder["Subject"] == (f"[{world.call_id}] Reminder: the consolidation of P01 is due "
                                   "on 2031-04-30")
    text = reminder.get_content()
    assert "drafting the consensus report" in text and "3 days left" in text

    # the draft goes to approval: now E04 owes the next step, by their own (past) deadline
    cons = world.experts["E03"]
    v = save_consensus(world.engine, cons, cid, scores(complete({})), "agreed",
                       expected_version=0)
    submit_consensus(world.engine, cons, cid, expected_version=v)
    assert _work(world) == [(t04, "approve", dt.date(2031, 4, 20))]
    late = overdue_consolidations(world.engine, world.manager, world.call_id,
                                  dt.date(2031, 4, 28))
    assert late.select("task_id", "expert_id", "days_overdue").rows() == [(t04, "E04", 8)]
    with pytest.raises(PermissionDenied):
        overdue_consolidations(world.engine, world.experts["E04"], world.call_id)

    _plan(world, dt.date(2031, 4, 28))
    keys = set(_outbox(world)["dedupe_key"])
    assert keys == {f"consolidation_reminder:{t03}:2031-04-30",
                    f"consolidation_overdue:{t04}:2031-04-20",
                    f"consolidation_ready:{cid}:{v}:E04"}
    assert send_due(world.engine, SYSTEM, smtp_config(port)).sent == 2
    german = {m["Subject"]: m for m in box.messages[1:]}
    overdue = german[f"[{world.call_id}] Überfällig: Die Konsolidierung von P01 war am "
                     "2031-04-20 fällig"]
    assert overdue["To"] == "Expert 4 <e4@example.org>"
    assert overdue["Content-Language"] == "de"
    assert "die Freigabe des Konsensberichts" in overdue.get_content()
    assert "vor 8 Tagen" in overdue.get_content()
    assert f"[{world.call_id}] Konsolidierung zur Freigabe: P01" in german

    # the consolidator edits again (back to drafting): the reminder of that date is not sent again
    v = save_consensus(world.engine, cons, cid, scores(complete({"impact": 12})), "agreed again",
                       expected_version=v)
    assert _work(world) == [(t03, "draft", dt.date(2031, 4, 30))]
    assert _plan(world, dt.date(2031, 4, 29)) == 0
    submit_consensus(world.engine, cons, cid, expected_version=v)
    # a new version to approve is a new approval request, but not a second overdue notice
    _plan(world, dt.date(2031, 4, 29))
    assert _outbox(world).height == 4
    assert approve_consensus(world.engine, world.experts["E04"], cid, expected_version=v) == \
        "final"
    assert _work(world) == []
    assert _plan(world, dt.date(2031, 5, 5)) == 0  # a final consolidation owes nothing
    assert send_due(world.engine, SYSTEM, smtp_config(port)).sent == 1
    assert len(box.messages) == 4
    assert set(_outbox(world)["status"]) == {"sent"}

    audit = audit_frame(world.engine, SYSTEM, world.call_id)
    queued = audit.filter(pl.col("action") == "queue_notification")
    assert queued.filter(pl.col("entity_id").str.starts_with("consolidation_")).height == 4
    sent = audit.filter(pl.col("action") == "send_notification")
    assert sent.filter(pl.col("entity_id").str.starts_with("consolidation_")).height == 4
    deadlines_set = audit.filter(pl.col("action") == "set_deadline")
    assert deadlines_set.height == 2


def test_a_task_override_of_the_consolidation_deadline_stays_in_its_call(world: World) -> None:
    from evalpanel.store import NotFound

    publish(world, [("P01", "E03"), ("P01", "E04")])
    with pytest.raises(NotFound):
        set_deadline(world.engine, world.manager, world.call_id, "consolidation",
                     dt.date(2031, 4, 20), task_id=999_999)
    with pytest.raises(PermissionDenied):
        set_deadline(world.engine, world.experts["E03"], world.call_id, "consolidation",
                     dt.date(2031, 4, 20), task_id=task_of(world, "P01", "E03"))


def test_the_overdue_view_lists_late_consolidation_steps(dash: DashWorld) -> None:
    w = dash.world
    for expert in ("E03", "E04"):
        _evaluate(w, "P03", expert)
    start_consolidation(w.engine, w.manager, w.call_id, "P03", "E04")
    set_deadline(w.engine, w.manager, w.call_id, "consolidation",
                 dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2))
    at = open_page(as_user(w.manager, "manager"), "manager_people.py")
    assert not at.exception
    assert "1 consolidation step(s) are past their deadline." in texts(at)
    shown = [t.value for t in at.dataframe if "step" in t.value.columns]
    rows = shown[0][["proposal_id", "expert_id", "step", "days_overdue"]].values.tolist()
    assert rows == [["P03", "E04", "draft", 2]]
