"""The results pages: a manager sees the comment checks, marks quality, downloads the reports
and releases a lot after confirming; the applicant contact then reads only their own report."""

from __future__ import annotations

import polars as pl

from evalpanel.store import (
    accept_task,
    approve_consensus,
    save_consensus,
    save_draft,
    start_consolidation,
    submit_consensus,
    submit_evaluation,
)
from evalpanel.store.releases import link_contact
from tests.dashboard_fixtures import DashWorld, as_user, click, open_page, texts
from tests.store_fixtures import task_of

VALUES = {"relevance": 20, "quality": 24, "partnership": 18, "impact": 16}


def _scores(comment: str) -> pl.DataFrame:
    return pl.DataFrame({"criterion": list(VALUES), "score": [float(v) for v in VALUES.values()],
                         "comment": [comment] * len(VALUES)})


def _consolidate(dash: DashWorld, proposal: str) -> None:
    w = dash.world
    for expert in ("E03", "E04"):
        task = task_of(w, proposal, expert)
        accept_task(w.engine, w.experts[expert], task)
        v = save_draft(w.engine, w.experts[expert], task, _scores("Well argued."),
                       expected_version=0)
        submit_evaluation(w.engine, w.experts[expert], task, expected_version=v)
    cid = start_consolidation(w.engine, w.manager, w.call_id, proposal, "E03")
    v = save_consensus(w.engine, w.experts["E03"], cid, _scores("Agreed: well argued."), "ok",
                       expected_version=0)
    submit_consensus(w.engine, w.experts["E03"], cid, expected_version=v)
    approve_consensus(w.engine, w.experts["E04"], cid, expected_version=v)


def test_manager_checks_quality_and_releases_then_the_contact_reads_it(dash: DashWorld) -> None:
    w = dash.world
    at = open_page(as_user(w.manager, "manager"), "manager_results.py")
    assert not at.exception
    assert "No proposal has a final consolidation yet" in texts(at)
    _consolidate(dash, "P03")
    at = open_page(as_user(w.manager, "manager"), "manager_results.py")
    assert not at.exception, at.exception
    assert {m.label for m in at.metric} >= {"Copied comments", "Contradict the band"}
    assert "0 of 1 consolidated evaluations marked quality checked." in texts(at)
    click(at, "Mark as quality checked")
    assert "1 of 1 consolidated evaluations marked quality checked." in texts(at)
    release = next(b for b in at.button if b.label.startswith("Release the results"))
    assert release.disabled  # not before the confirmation
    at.checkbox[0].check().run()
    release = next(b for b in at.button if b.label.startswith("Release the results"))
    release.click().run()
    assert not at.exception
    assert "were released on" in texts(at)

    applicant = open_page(as_user(w.applicant, "applicant"), "applicant_results.py")
    assert "No results have been released for your proposals yet" in texts(applicant)
    link_contact(w.engine, w.manager, w.applicant.user_id or 0, w.call_id, "P03")
    applicant = open_page(as_user(w.applicant, "applicant"), "applicant_results.py")
    assert not applicant.exception
    click(applicant, "Open the report")
    assert not applicant.exception
    assert applicant.selectbox[0].options == [f"P03 ({w.call_id})"]


def test_deadlines_overdue_invitations_and_the_outbox(dash: DashWorld) -> None:
    import datetime as dt

    from evalpanel.store.deadlines import task_deadlines
    from evalpanel.store.notifications import list_notifications

    w = dash.world
    at = open_page(as_user(w.manager, "manager"), "manager_people.py")
    assert not at.exception, at.exception
    assert "No message queued yet." in texts(at)
    at.date_input[0].set_value(dt.date(2020, 1, 31))
    at = click(at, "Save the deadlines")
    assert not at.exception
    assert set(task_deadlines(w.engine, w.manager, w.call_id)["due_on"]) == {dt.date(2020, 1, 31)}
    assert "4 open task(s) are past their deadline." in texts(at)
    at.text_input[0].input("https://panel.example.org")
    at = click(at, "Invite the experts")  # not confirmed: nothing happens
    assert list_notifications(w.engine, w.manager, call_id=w.call_id).is_empty()
    at.text_input[0].input("https://panel.example.org")
    at.checkbox[0].check()
    at = click(at, "Invite the experts")
    assert not at.exception
    assert "experts invited" in texts(at)
    outbox = list_notifications(w.engine, w.manager, call_id=w.call_id)
    assert set(outbox["kind"]) == {"invitation"}
    assert outbox.height == w.call.experts.height
