"""In a real browser (Debian's chromium, `evalpanel dashboard` as a real server): an expert reads
the conflict declaration before accepting, declines with a confirmation and finds the next
task's decline form empty, accepts, sees the proposal's PDF beside the criteria, types an
off-step score and sees it refused with the allowed values, and submits after confirming."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.browser_support import (
    ARTIFACTS,
    chromium,
    click_until,
    dashboard_server,
    needs_chromium,
    settle,
    visible,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]
PASSWORD = "s3cret-pass"


def _pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def form_db(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from evalpanel.documents import DocumentFile
    from evalpanel.store import SYSTEM, list_tasks, make_engine, set_password
    from evalpanel.store.documents import store_documents
    from tests.store_fixtures import build_world, publish

    folder = tmp_path_factory.mktemp("form")
    url = f"sqlite:///{folder / 'form.sqlite'}"
    engine = make_engine(url)
    w = build_world(engine)
    set_password(engine, SYSTEM, w.experts["E03"].user_id or 0, PASSWORD)
    publish(w, [("P03", "E03"), ("P04", "E03")])
    data = _pdf()
    store_documents(engine, SYSTEM, w.call_id, [DocumentFile(
        "P04", "part-b.pdf", hashlib.sha256(data).hexdigest(), len(data), 1, data)])
    tasks = dict(list_tasks(engine, w.manager, w.call_id).select("proposal_id", "task_id").rows())
    engine.dispose()
    return {"url": url, "world": w, "tasks": tasks}


@pytest.fixture(scope="module")
def page(form_db: dict[str, Any]) -> Iterator[Any]:
    log = Path(form_db["url"].removeprefix("sqlite:///")).with_suffix(".log")
    with dashboard_server(form_db["url"], log) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(base)
        page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
        settle(page)
        page.get_by_role("textbox", name="Username").fill("user-E03")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        click_until(page, page.get_by_role("button", name="Sign in", exact=True).click,
                    lambda: visible(page.get_by_text("Sign out")), "signing in")
        yield page


def _press(page: Any, button: str, result: str) -> None:
    click_until(page, page.get_by_role("button", name=button).first.click,
                lambda: visible(page.get_by_text(result).first), f"{result!r} after {button!r}")
    settle(page)  # the result shows early in its run; the rest of the page follows it


def test_declare_decline_accept_read_and_score(page: Any, form_db: dict[str, Any]) -> None:
    from evalpanel.store import get_evaluation, make_engine

    page.get_by_text("Confirm or decline").first.wait_for(timeout=60_000)
    settle(page)
    # the declaration names the proposal's participants before accepting
    assert visible(page.get_by_text("its coordinator Org 3-0 (EL)"))
    assert not visible(page.get_by_role("button", name="Open the document"))
    reason = page.get_by_role("textbox", name="Reason")
    reason.fill("I advised the coordinator in 2025")
    reason.press("Control+Enter")
    settle(page)
    _press(page, "Declare a conflict and decline", "cannot be undone")
    _press(page, "Yes, decline the task", "Declined; the call manager")
    page.get_by_text("its coordinator Org 4-0 (EL)").first.wait_for(timeout=30_000)  # next task
    page.screenshot(path=str(ARTIFACTS / "form-after-decline.png"), full_page=True)
    assert page.get_by_role("textbox", name="Reason").input_value() == ""

    click_until(page, page.get_by_role("button", name="Accept the task").click,
                lambda: visible(page.get_by_text("Every task is accepted or declined")),
                "accepting P04")
    page.get_by_role("link", name="Scoring form").first.click()
    page.get_by_text("Proposal documents").first.wait_for(timeout=60_000)
    settle(page)
    _press(page, "Open the document", "Download part-b.pdf")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "form-pdf-beside-criteria.png"), full_page=True)
    # st.pdf's viewer (the streamlit-pdf component) in the column beside the criteria
    viewer = page.locator('[data-testid="stColumn"] [data-testid="stBidiComponentIsolated"]')
    assert viewer.count() == 1 and viewer.first.is_visible()

    boxes = page.locator('input[aria-label="Score"]')
    assert [boxes.nth(i).input_value() for i in range(boxes.count())] == [""] * 4
    boxes.nth(1).fill("24.5")
    boxes.nth(1).press("Enter")
    settle(page)
    page.get_by_text("24.5 is not allowed: give whole points from 0 to 30").first.wait_for()
    for i, value in enumerate(["20", "24", "18", "15"]):
        boxes.nth(i).fill(value)
        boxes.nth(i).press("Enter")
        settle(page)
    comments = page.locator('textarea[aria-label="Comment for the applicant"]')
    comments.nth(0).fill("Counted while typing, before it is applied.")
    page.get_by_text("7 words typed").first.wait_for(timeout=10_000)  # no rerun needed
    for i in range(comments.count()):
        comments.nth(i).fill("Argued with evidence from the work plan.")
        comments.nth(i).press("Control+Enter")
        settle(page)
    page.get_by_text("7 words").first.wait_for()
    page.get_by_text("77", exact=True).first.wait_for()
    _press(page, "Submit", "it cannot be undone")
    _press(page, "Yes, submit the evaluation", "is frozen")
    assert visible(page.get_by_text("submitted on version 1 (frozen)"))
    page.screenshot(path=str(ARTIFACTS / "form-submitted.png"), full_page=True)
    engine = make_engine(form_db["url"])
    w = form_db["world"]
    ev = get_evaluation(engine, w.manager, form_db["tasks"]["P04"])
    engine.dispose()
    assert ev.status == "submitted"
    assert dict(ev.scores.select("criterion", "score").rows()) == {
        "relevance": 20.0, "quality": 24.0, "partnership": 18.0, "impact": 15.0}
    assert pl.Series(ev.scores["comment"]).str.len_chars().min() > 0  # type: ignore[operator]
