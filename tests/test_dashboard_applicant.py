"""Applicant pages: create a rehearsal, score it blind, read the report; others' rehearsals
stay invisible."""

from __future__ import annotations

from evalpanel.store import list_rehearsals, rehearsal_view
from tests.dashboard_fixtures import (
    DashWorld,
    as_user,
    click,
    open_page,
    texts,
)


def _create(d: DashWorld, invite: str = "") -> int:
    at = as_user(d.world.applicant, "applicant")
    at.selectbox[0].set_value("erasmus-ka220").run()
    at.text_input[0].input("Green skills alliance")
    at.text_area[0].input("A partnership of vocational schools and SMEs.")
    at.text_input[1].input(invite)
    click(at, "Create")
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    listed = list_rehearsals(d.world.engine, d.world.applicant)
    return int(listed["rehearsal_id"].max())


def test_create_score_and_report(dash: DashWorld) -> None:
    rid = _create(dash)
    w = dash.world
    at = open_page(as_user(w.applicant, "applicant"), "applicant_score.py")
    # erasmus-ka220: relevance 25, quality 30, partnership 20, impact 25; min half of each.
    given = [20.0, 12.0, 15.0, 20.0]
    for box, value in zip(at.number_input, given, strict=True):
        box.set_value(value)
    at.run()
    click(at, "Submit")
    assert not at.exception
    view = rehearsal_view(w.engine, w.applicant, rid)
    assert sorted(view["scores"]["score"].to_list()) == sorted(given)

    at = open_page(at, "applicant_report.py")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Outcome"] == "fails"  # quality 12 < its minimum 15
    assert float(metrics["Mean total"]) == sum(given)
    assert any("quality" in e.value.lower() for e in at.error)
    assert at.dataframe


def test_invites_need_existing_accounts(dash: DashWorld) -> None:
    at = as_user(dash.world.applicant, "applicant")
    at.text_input[0].input("T")
    at.text_input[1].input("nobody-here")
    click(at, "Create")
    assert "No account named nobody-here" in texts(at)
    assert list_rehearsals(dash.world.engine, dash.world.applicant).is_empty()


def test_invited_colleague_scores_blind(dash: DashWorld) -> None:
    _create(dash, invite="user-E05")
    w = dash.world
    at = open_page(as_user(w.experts["E05"], "user-E05"), "expert_queue.py")
    assert not at.exception
    # An expert's navigation has no applicant pages; the invitation shows through the store.
    listed = list_rehearsals(w.engine, w.experts["E05"])
    assert listed.height == 1 and not listed["owner"].item()


def test_report_without_submissions(dash: DashWorld) -> None:
    _create(dash)
    at = open_page(as_user(dash.world.applicant, "applicant"), "applicant_report.py")
    assert not at.exception
    assert "No scorer has submitted yet" in texts(at)
