"""In a real browser: a table's data leaves the dashboard only neutralised. An expert declines a
task with the reason ``=HYPERLINK("http://x","y")``; on the manager's Follow-up page the tables
have no built-in CSV download (Streamlit's toolbar export is off), and the page's download
button gives the CSV the export code writes, with the reason quoted."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evalpanel.callfolder.formulas import FORMULA_STARTS
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

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "fixtures" / "tiny"
CALL = "ERASMUS-EDU-2026-PI-ALL-INNO-TINY"
REASON = '=HYPERLINK("http://x","y")'
PASSWORD = "a long test phrase"


@pytest.fixture(scope="module")
def declined_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """tiny imported, a manager, and expert X003's task declined with a hostile reason."""
    from evalpanel.callfolder import read_call
    from evalpanel.store import (
        SYSTEM,
        Actor,
        add_task,
        create_user,
        decline_task,
        grant_call,
        import_call,
        link_expert,
        make_engine,
    )

    url = f"sqlite:///{tmp_path_factory.mktemp('downloads') / 'db.sqlite'}"
    engine = make_engine(url)
    import_call(engine, read_call(TINY))
    manager = create_user(engine, SYSTEM, "manager", "manager", password=PASSWORD)
    grant_call(engine, SYSTEM, CALL, manager)
    expert = create_user(engine, SYSTEM, "x003", "expert", password=PASSWORD)
    link_expert(engine, SYSTEM, expert, CALL, "X003")
    task_id = add_task(engine, SYSTEM, CALL, "AFI-2026-0001", "X003")
    add_task(engine, SYSTEM, CALL, "AFI-2026-0002", "X003")
    decline_task(engine, Actor(expert, "expert"), task_id, REASON)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def page(declined_db: str) -> Iterator[Any]:
    log = Path(declined_db.removeprefix("sqlite:///")).with_suffix(".log")
    with dashboard_server(declined_db, log) as base, chromium() as browser:
        context = browser.new_context(accept_downloads=True,
                                      viewport={"width": 1400, "height": 1000})
        p = context.new_page()
        p.goto(base)
        p.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
        settle(p)
        p.get_by_role("textbox", name="Username").fill("manager")
        p.get_by_role("textbox", name="Password").fill(PASSWORD)
        click_until(p, p.get_by_role("button", name="Sign in", exact=True).click,
                    lambda: visible(p.get_by_text("Sign out")), "signing in as the manager")
        p.get_by_role("link", name="Follow-up").first.click()
        p.get_by_text("Tasks by state").first.wait_for(timeout=60_000)
        settle(p)
        yield p
        context.close()


def test_tables_have_no_built_in_csv_download(page: Any) -> None:
    frames = page.locator('[data-testid="stDataFrame"]')
    frames.first.wait_for(timeout=60_000)  # the tables draw after the page's heading
    assert frames.count() >= 1
    for i in range(frames.count()):
        frames.nth(i).hover()
        page.wait_for_timeout(300)
        toolbar = page.locator('[data-testid="stElementToolbar"]')
        assert toolbar.count() >= 1, "the dataframe toolbar did not appear on hover"
        assert page.get_by_role("button", name="Download as CSV").count() == 0
        assert page.locator('[data-testid="stElementToolbarButton"]').filter(
            has_text="Download").count() == 0
    page.screenshot(path=str(ARTIFACTS / "followup-toolbar.png"), full_page=True)


def test_the_follow_up_download_is_neutralised(page: Any, tmp_path: Path) -> None:
    with page.expect_download(timeout=60_000) as caught:
        page.get_by_role("button", name="Download all tasks (CSV)").click()
    path = tmp_path / "tasks.csv"
    caught.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))
    declined = [r for r in rows if r["state"] == "declined"]
    assert [r["decline_reason"] for r in declined] == ["'" + REASON]
    cells = [c for r in rows for c in r.values()]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert {r["proposal_id"] for r in rows} == {"AFI-2026-0001", "AFI-2026-0002"}
