"""Applicant pages: create a rehearsal, invite colleagues by link or e-mail, attach a draft,
score it blind, read the report; others' rehearsals stay invisible."""

from __future__ import annotations

import io
import re

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.text import shown_as
from evalpanel.store import SYSTEM, Actor, create_user, list_rehearsals, rehearsal_view
from evalpanel.store.notifications import list_notifications
from evalpanel.store.rehearsal_invites import rehearsal_invitations_of
from evalpanel.store.rehearsals import attach_draft
from tests.dashboard_fixtures import (
    PASSWORD,
    DashWorld,
    as_user,
    click,
    elements,
    open_page,
    texts,
)
from tests.store_fixtures import join_by_link


def _create(d: DashWorld, *, me: bool = True) -> int:
    at = as_user(d.world.applicant, "applicant")
    form_inputs = (at.text_input(key="new_title").value, at.text_area(key="new_description").value,
                   at.checkbox(key="new_me").value, at.selectbox(key="new_scheme").value)
    assert form_inputs == ("", "", False, None)  # the creation form starts empty
    at.selectbox(key="new_scheme").set_value("erasmus-ka220")
    at.text_input(key="new_title").input("Green skills alliance")
    at.text_area(key="new_description").input("A partnership of vocational schools and SMEs.")
    if me:
        at.checkbox(key="new_me").check()
    click(at, "Create")
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    listed = list_rehearsals(d.world.engine, d.world.applicant)
    return int(max(listed["rehearsal_id"].to_list()))


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
    assert sorted(view.scores["score"].to_list()) == sorted(given)
    assert "Your scores: submitted" in texts(at)  # the scorer sees it submitted
    assert all(box.disabled for box in at.number_input)
    assert not [b for b in at.button if b.label == "Submit"]

    at = open_page(at, "applicant_report.py")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Outcome"] == "fails"  # quality 12 < its minimum 15
    assert float(metrics["Mean total"]) == sum(given)
    assert any("quality" in e.value.lower() for e in at.error)
    assert at.dataframe


def _invite_page(d: DashWorld) -> AppTest:
    at = as_user(d.world.applicant, "applicant")
    assert not at.exception
    at.text_input(key="dashboard_address").input("https://panel.example.org")
    return at


def test_colleagues_are_invited_by_link_or_address_never_by_account(dash: DashWorld) -> None:
    """Inviting an expert's address (E05 has an account) reads exactly like a new address."""
    rid = _create(dash, me=False)
    w = dash.world
    answers = []
    for address in ("e5@example.org", "someone-new@example.org"):
        at = _invite_page(dash)
        at.text_area(key="invite_addresses").input(address)
        at = click(at, "Send the invitations")
        assert not at.exception and not at.error
        answers.append([shown_as(x.value).replace("\\", "").replace(address, "ADDRESS")
                        for x in at.success])
    assert answers[0] == answers[1] and answers[0]
    queued = list_notifications(w.engine, SYSTEM).filter(pl.col("kind") == "rehearsal_invitation")
    assert queued["recipient"].to_list() == ["e5@example.org", "someone-new@example.org"]
    at = _invite_page(dash)
    at.text_area(key="invite_addresses").input("user-E05")  # a username is no address: refused, as for anyone
    at = click(at, "Send the invitations")
    assert "'user-E05' is not an e-mail address" in texts(at)
    at = click(_invite_page(dash), "Make a one-time link")
    assert not at.exception
    link = at.code[0].value
    assert re.search(r"\?rehearsal=[\w-]{40,}$", link), link
    assert rehearsal_invitations_of(w.engine, w.applicant, rid)["sent_to"].to_list() == [
        "e5@example.org", "someone-new@example.org", "link"]
    assert list_rehearsals(w.engine, w.experts["E05"]).is_empty()  # nobody joined by account


def test_a_scorer_reads_the_draft_and_the_owner_reads_comments_and_the_esr(
        dash: DashWorld) -> None:
    typst = pytest.importorskip("typst")
    pypdf = pytest.importorskip("pypdf")
    rid = _create(dash, me=False)
    w = dash.world
    draft: bytes = typst.compile(b"Draft part B", ignore_system_fonts=True)
    attach_draft(w.engine, w.applicant, rid, "part-b.pdf", draft)
    bea = Actor(create_user(w.engine, SYSTEM, "bea", "applicant", password=PASSWORD),
                "applicant")
    join_by_link(w.engine, w.applicant, rid, bea)
    at = as_user(bea, "bea")
    at = open_page(at, "applicant_score.py")
    assert not at.exception
    at = click(at, "Open the draft part-b.pdf (1 pages)")
    assert [b.label for b in elements(at, "download_button")] == ["Download part-b.pdf"]
    given = [20.0, 12.0, 15.0, 20.0]
    for box, value in zip(at.number_input, given, strict=True):
        box.set_value(value)
    for n, field in enumerate(at.text_input):
        field.input(f"Comment {n} <b>bold</b>")
    at.run()
    at = click(at, "Submit")
    assert "Your scores: submitted" in texts(at)

    at = open_page(as_user(w.applicant, "applicant"), "applicant_report.py")
    assert not at.exception, at.exception
    page = texts(at)
    assert "What the scorers wrote" in page
    assert "Comment 1 <b>bold</b>" in [t.value for t in at.text]  # as text, never markup
    assert "Scorer 1 · 12 of 30" in page
    table = at.dataframe[0].value
    assert list(table.columns)[:3] == ["label", "mean", "max"]
    labels = [b.label for b in elements(at, "download_button")]
    assert labels == ["Download the report (PDF)", "Download the report (HTML)"]
    from evalpanel import workflow
    from evalpanel.reports import esr_html, esr_pdf, rehearsal_esr

    view = rehearsal_view(w.engine, w.applicant, rid)
    esr = rehearsal_esr(view, workflow.rehearsal_report(w.engine, w.applicant, rid),
                        view.created_at.date())
    assert esr.rehearsal and "Comment 1 <b>bold</b>" in esr.criteria[1].comment
    html = esr_html(esr, "fr")
    assert "Répétition" in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(esr_pdf(esr))).pages)
    assert "Rehearsal" in text and "Comment 1 <b>bold</b>" in text


def test_report_without_submissions(dash: DashWorld) -> None:
    _create(dash)
    at = open_page(as_user(dash.world.applicant, "applicant"), "applicant_report.py")
    assert not at.exception
    assert "No scorer has submitted yet" in texts(at)
