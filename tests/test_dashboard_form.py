"""The expert's pages as an expert uses them (AppTest on a real store): the declaration before
accepting, declining with confirmation and a form that resets, the scoring form that starts empty,
refuses off-step values where they are typed, counts words, asks before submitting and shows
the saved state, and the proposal's PDF beside the criteria only after accepting."""

from __future__ import annotations

import importlib.util
import io

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import NumberInput, TextArea

from evalpanel.store import SYSTEM, accept_task, audit_frame, get_evaluation, list_tasks
from tests.dashboard_fixtures import DashWorld, as_user, click, elements, open_page, texts

WANTED = {"relevance": 20.0, "quality": 24.0, "partnership": 18.0, "impact": 15.0}


def _task(d: DashWorld, proposal_id: str, expert_id: str) -> int:
    tasks = list_tasks(d.world.engine, d.world.manager, d.world.call_id)
    row = tasks.filter((pl.col("proposal_id") == proposal_id) & (pl.col("expert_id") == expert_id))
    return int(row["task_id"].item())


def _form(d: DashWorld, proposal_id: str = "P03", expert_id: str = "E03") -> AppTest:
    w = d.world
    task = _task(d, proposal_id, expert_id)
    accept_task(w.engine, w.experts[expert_id], task)
    at = open_page(as_user(w.experts[expert_id], f"user-{expert_id}"), "expert_evaluate.py")
    at.selectbox(key="score_task").set_value(task).run()
    assert not at.exception
    return at


def _score(at: AppTest, criterion: str) -> NumberInput:
    return next(b for b in at.number_input if b.key and b.key.endswith(f"-{criterion}-s"))


def _comment(at: AppTest, criterion: str) -> TextArea:
    return next(t for t in at.text_area if t.key and t.key.endswith(f"-{criterion}-c"))


def _metric(at: AppTest, label: str) -> str:
    return str(next(m for m in at.metric if m.label == label).value)


def _fill(at: AppTest, values: dict[str, float], comment: str = "Argued with evidence.") -> None:
    for criterion, value in values.items():
        _score(at, criterion).set_value(value)
        _comment(at, criterion).input(comment)
    at.run()


def test_the_queue_shows_the_declaration_before_accepting(dash: DashWorld) -> None:
    task = _task(dash, "P03", "E03")
    at = as_user(dash.world.experts["E03"], "user-E03")
    at.selectbox(key="queue_task").set_value(task).run()
    shown = texts(at)
    for named in ("P03 · Proposal 3", "lot L1", "its coordinator Org 3-0 (EL)",
                  "its partners Org 3-1 (DE)", "no conflict of interest"):
        assert named in shown, named
    assert "text" in [t.value for t in at.text]  # the abstract, as text
    partners = at.dataframe[1].value
    assert partners.to_dict("list") == {"role": ["coordinator", "partner"],
                                        "organisation": ["Org 3-0", "Org 3-1"],
                                        "country": ["EL", "DE"]}
    assert not [b for b in at.button if b.label == "Open the document"]


def test_decline_asks_for_confirmation_and_the_form_resets(dash: DashWorld) -> None:
    w = dash.world
    first, second = _task(dash, "P03", "E03"), _task(dash, "P04", "E03")
    at = as_user(w.experts["E03"], "user-E03")
    at.selectbox(key="queue_task").set_value(first).run()
    at.text_area[0].input("I advised the coordinator in 2025")
    click(at, "Declare a conflict and decline")
    assert "cannot be undone" in texts(at)
    click(at, "Cancel")
    states = dict(list_tasks(w.engine, w.manager, w.call_id).select("task_id", "state").rows())
    assert states[first] == "assigned"  # nothing happened without the confirmation
    assert at.text_area[0].value == "I advised the coordinator in 2025"
    click(at, "Declare a conflict and decline")
    click(at, "Yes, decline the task")
    assert not at.exception
    states = dict(list_tasks(w.engine, w.manager, w.call_id).select("task_id", "state").rows())
    assert states[first] == "declined"
    assert "Declined" in texts(at)
    # the next task's decline form starts empty: no reason carried over
    assert at.selectbox(key="queue_task").value == second
    assert at.text_area[0].value == ""
    assert "cannot be undone" not in texts(at)


def test_a_decline_without_a_reason_is_not_offered_for_confirmation(dash: DashWorld) -> None:
    at = as_user(dash.world.experts["E03"], "user-E03")
    click(at, "Declare a conflict and decline")
    assert "Say why you decline" in texts(at)
    assert not [b for b in at.button if b.label == "Yes, decline the task"]


def test_every_criterion_starts_empty_and_nothing_is_counted(dash: DashWorld) -> None:
    at = _form(dash)
    assert [b.value for b in at.number_input] == [None] * 4
    assert _metric(at, "Total") == "0"
    assert _metric(at, "Outcome") == "incomplete"
    assert texts(at).count("Not set yet") == 4
    _fill(at, {"relevance": 20.0})
    assert _metric(at, "Total") == "20"
    click(at, "Submit")
    shown = texts(at)
    assert "Not submitted yet" in shown and "Impact: no score set" in shown
    assert not [b for b in at.button if b.label == "Yes, submit the evaluation"]
    task = _task(dash, "P03", "E03")
    assert get_evaluation(dash.world.engine, dash.world.manager, task).status is None


def test_an_off_step_score_is_refused_where_it_is_typed(dash: DashWorld) -> None:
    at = _form(dash)
    _fill(at, {**WANTED, "quality": 24.5})
    assert ("24.5 is not allowed: give whole points from 0 to 30. It is not counted in the total."
            in texts(at))
    assert _metric(at, "Total") == "53"  # 20 + 18 + 15: the refused 24.5 is never counted
    assert _score(at, "relevance").max == 25.0
    click(at, "Submit")
    assert "Not submitted yet" in texts(at)


def test_word_counts_and_comment_rules_show_per_criterion(dash: DashWorld) -> None:
    at = _form(dash)
    _score(at, "impact").set_value(9.0)  # below the minimum 11
    _comment(at, "relevance").input("Three words here").run()
    captions = [c.value for c in at.caption]
    assert "3 words" in captions
    assert any(c.startswith("0 words · a score below the minimum of 11 needs a comment")
               for c in captions)
    assert any(c.startswith("0 words · a comment for the applicant is required")
               for c in captions)
    assert "Below a threshold: Impact 9 below 11" in texts(at)


def test_submit_asks_for_confirmation_and_the_labels_follow_the_saved_state(
        dash: DashWorld) -> None:
    w = dash.world
    task = _task(dash, "P03", "E03")
    at = _form(dash)
    assert "Version 1 · not saved yet" in texts(at)
    _fill(at, WANTED)
    click(at, "Save draft")
    assert "Version 1 · draft saved (save 1)" in texts(at)
    assert any("(draft)" in o for o in at.selectbox(key="score_task").options)
    click(at, "Submit")
    assert "it cannot be undone" in texts(at)
    click(at, "Cancel")
    assert get_evaluation(w.engine, w.manager, task).status == "draft"
    click(at, "Submit")
    click(at, "Yes, submit the evaluation")
    assert not at.exception
    assert get_evaluation(w.engine, w.manager, task).status == "submitted"
    shown = texts(at)
    assert "version 1 is frozen" in shown and "Version 1 · submitted on version 1 (frozen)" in shown
    assert any("(submitted)" in o for o in at.selectbox(key="score_task").options)
    assert all(b.disabled for b in at.number_input)


def _pdf(pages: int = 2) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def with_documents(dash: DashWorld) -> bytes:
    import hashlib

    from evalpanel.documents import DocumentFile
    from evalpanel.store.documents import store_documents

    data = _pdf()
    store_documents(dash.world.engine, SYSTEM, dash.world.call_id, [
        DocumentFile("P03", "part-b.pdf", hashlib.sha256(data).hexdigest(), len(data), 2, data)])
    return data


def test_the_pdf_opens_beside_the_criteria_only_after_accepting(
        dash: DashWorld, with_documents: bytes) -> None:
    w = dash.world
    expert = w.experts["E03"]
    before = open_page(as_user(expert, "user-E03"), "expert_evaluate.py")
    assert "Accept a task in My queue first" in texts(before)
    assert not [b for b in before.button if b.label == "Open the document"]
    queue = as_user(expert, "user-E03")
    assert not [b for b in queue.button if b.label == "Open the document"]

    at = _form(dash)
    assert "Proposal documents" in texts(at)
    assert at.selectbox(key=f"doc-{w.call_id}-{_task(dash, 'P03', 'E03')}").value == "part-b.pdf"
    assert not at.get("bidi_component") and not at.get("download_button")
    click(at, "Open the document")
    assert not at.exception
    viewers = [e for e in at.get("bidi_component")
               if "streamlit-pdf" in str(getattr(e, "proto", ""))]
    downloads = elements(at, "download_button")
    if importlib.util.find_spec("streamlit_pdf") is not None:
        assert len(viewers) == 1  # st.pdf's viewer; without streamlit-pdf, the download alone
    assert [d.label for d in downloads] == ["Download part-b.pdf"]
    assert len(at.columns) >= 2  # the documents and the criteria side by side
    _fill(at, {"relevance": 20.0})  # working on the form does not open the document again
    opened = audit_frame(w.engine, SYSTEM, w.call_id).filter(pl.col("action") == "open_document")
    assert opened.height == 1
