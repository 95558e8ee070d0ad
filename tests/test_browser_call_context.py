"""The call in context, in a real browser: with two calls imported, the manager alternates
between them ten times in the sidebar, running the assignment and publishing on each. After
every step the page shows the selected call, the address carries it (``?call=ID``), and the
step landed on that call in the store; a reload keeps the call."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from evalpanel.store import SYSTEM, grant_call, import_call, set_password
from evalpanel.store.engine import make_engine
from evalpanel.store.tables import batches
from tests.browser_support import (
    ARTIFACTS,
    click_until,
    dashboard_server,
    needs_chromium,
    settle,
    sign_in_as,
    tick,
    visible,
)
from tests.store_fixtures import backend_url, build_world, make_call

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]
PASSWORD = "two-calls-pass"
CALLS = {"AFI-2026": "Alliances for Innovation 2026", "KA220-2026": "Cooperation partnerships"}


@pytest.fixture(scope="module")
def two_calls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A database with two calls managed by ``manager``; yields (database URL, server URL)."""
    folder = tmp_path_factory.mktemp("two-calls")
    url = backend_url("sqlite", folder)
    engine = make_engine(url)
    first, second = CALLS
    w = build_world(engine, make_call(first, title=CALLS[first]))
    import_call(engine, make_call(second, title=CALLS[second]))
    grant_call(engine, SYSTEM, second, w.manager.user_id or 0)
    set_password(engine, SYSTEM, w.manager.user_id or 0, PASSWORD)
    engine.dispose()
    with dashboard_server(url, folder / "server.log") as base:
        yield url, base


def _sign_in(browser: Any, base: str) -> Any:
    return sign_in_as(browser.new_page(viewport={"width": 1400, "height": 1400}), base,
                      "manager", PASSWORD)


def _in_address(page: Any) -> str | None:
    found = parse_qs(urlsplit(page.url).query).get("call")
    return found[0] if found else None


def _banner(page: Any) -> str:
    return str(page.locator('[data-testid="stCaptionContainer"]').filter(
        has_text="Call ").first.inner_text())


def _shows(page: Any, call_id: str, where: str) -> None:
    """The page names ``call_id`` (title and id) above its content, in the sidebar and in
    the address."""
    settle(page)
    banner = _banner(page)
    assert CALLS[call_id] in banner and call_id in banner, f"{where}: the page shows {banner!r}"
    assert f"({call_id})" in _picked(page), f"{where}: the sidebar shows {_picked(page)!r}"
    assert _in_address(page) == call_id, f"{where}: the address is {page.url}"


def _picked(page: Any) -> str:
    """The option the sidebar's call selectbox shows."""
    box = page.locator('[data-testid="stSidebar"]').get_by_label("Call", exact=True).first
    if box.evaluate("e => e.tagName") == "INPUT":
        return str(box.input_value() or box.get_attribute("placeholder") or "")
    return str(box.inner_text())


def _select(page: Any, call_id: str) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')

    def pick() -> None:
        sidebar.get_by_label("Call", exact=True).click()
        page.get_by_role("option").filter(has_text=f"({call_id})").first.click()

    # one attempt: a choice the app ignores must fail here, not be made again
    click_until(page, pick, lambda: _in_address(page) == call_id
                and call_id in _banner(page), f"selecting {call_id}", attempts=1)


def _latest_batch(url: str) -> tuple[int, str, str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(batches.c.batch_id, batches.c.call_id, batches.c.status)
                               .order_by(batches.c.batch_id.desc()).limit(1)).one()
    finally:
        engine.dispose()
    return int(row.batch_id), str(row.call_id), str(row.status)


def test_ten_switches_each_action_lands_on_the_call_shown(
    two_calls: tuple[str, str], browser: Any
) -> None:
    url, base = two_calls
    page = _sign_in(browser, base)
    page.get_by_role("link", name="Assignment").first.click()
    page.get_by_role("button", name="Run the assignment").wait_for(timeout=60_000)
    order = list(CALLS)
    _shows(page, order[0], "the first page")  # the first call, named in the address at once
    published: list[tuple[int, str]] = []
    for step in range(10):
        call_id = order[(step + 1) % 2]  # B, A, B, ... : every step is a switch
        where = f"switch {step + 1} to {call_id}"
        _select(page, call_id)
        _shows(page, call_id, where)
        # the switch shows no preview of the other call, and no live publish button
        assert not visible(page.get_by_text("Preview of batch")), where
        click_until(page, page.get_by_role("button", name="Run the assignment").click,
                    lambda: visible(page.get_by_text("Preview of batch")), f"{where}: a run")
        batch_id, batch_call, status = _latest_batch(url)
        assert (batch_call, status) == (call_id, "preview"), f"{where}: the run landed elsewhere"
        assert visible(page.get_by_text(f"Preview of batch {batch_id}")), where
        _shows(page, call_id, f"{where}, after the run")
        tick(page, "I understand that publishing cannot be undone")
        note = page.get_by_text(re.compile(rf"Batch {batch_id} published"))
        # the enabled button: a rerun can still show the one drawn disabled before the tick
        publish = page.get_by_role("button", name="Publish this batch", disabled=False).first
        click_until(page, publish.click,
                    partial(visible, note), f"{where}: publishing batch {batch_id}")
        assert _latest_batch(url) == (batch_id, call_id, "published"), where
        _shows(page, call_id, f"{where}, after publishing")  # no jump back to the other call
        published.append((batch_id, call_id))
        if step % 3 == 2:  # another page and back: the call stays
            page.get_by_role("link", name="Overview").first.click()
            page.get_by_text("Call overview").first.wait_for(timeout=60_000)
            _shows(page, call_id, f"{where}, on the overview")
            page.get_by_role("link", name="Assignment").first.click()
            page.get_by_role("button", name="Run the assignment").wait_for(timeout=60_000)
            _shows(page, call_id, f"{where}, back on the assignment")
    assert [c for _, c in published] == [order[(s + 1) % 2] for s in range(10)]
    page.screenshot(path=str(ARTIFACTS / "call-context-ten-switches.png"), full_page=True)
    page.close()


def test_back_and_forth_without_acting_takes_every_choice(
    two_calls: tuple[str, str], browser: Any
) -> None:
    # one choice straight after another, nothing else in between: every one is taken
    _, base = two_calls
    page = _sign_in(browser, base)
    page.get_by_role("link", name="Exports and audit").first.click()
    page.get_by_text("Audit log").first.wait_for(timeout=60_000)
    order = list(CALLS)
    for step in range(10):
        call_id = order[(step + 1) % 2]
        _select(page, call_id)
        _shows(page, call_id, f"choice {step + 1} ({call_id})")
    page.close()


def test_a_reload_and_a_shared_link_keep_the_call(
    two_calls: tuple[str, str], browser: Any
) -> None:
    _, base = two_calls
    page = _sign_in(browser, base)
    second = list(CALLS)[1]
    _select(page, second)
    _shows(page, second, "after selecting")
    page.reload()
    page.get_by_text("Sign out").wait_for(timeout=60_000)
    _shows(page, second, "after a reload")
    # the address alone (a shared link, opened in the same signed-in browser) selects the call
    first = next(iter(CALLS))
    page.goto(f"{base}/manager_exports?call={first}")
    page.get_by_text("Audit log").first.wait_for(timeout=60_000)
    _shows(page, first, "a shared link")
    page.close()


def test_a_link_to_a_call_not_open_to_the_user_says_so(
    two_calls: tuple[str, str], browser: Any
) -> None:
    _, base = two_calls
    page = _sign_in(browser, base)
    page.goto(f"{base}/?call=NO-SUCH-CALL")
    page.get_by_text("Sign out").wait_for(timeout=60_000)
    settle(page)
    assert visible(page.get_by_text("which is not open to you")), page.url
    assert _in_address(page) in CALLS
    page.close()

