"""Sessions end when they should, seen from a real browser: `evalpanel dashboard` servers driven
by Debian's chromium through Playwright.

- sign in, copy the URL and the session cookie, sign out: the copied URL, and the copied cookie,
  in a fresh browser land on the sign-in page;
- the same after `evalpanel user password`, which ends every session of the user;
- a session idle for longer than its (short, for the test) timeout ends;
- two servers on one PostgreSQL database share sessions: a reload on the other server stays
  signed in, and signing out on one ends the session on both.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.browser_support import (
    ARTIFACTS,
    ROOT,
    click_until,
    dashboard_server,
    needs_chromium,
    settle,
    visible,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]
USER, PASSWORD = "ada", "first phrase of ada"
COOKIE = "evalpanel_session"


def make_db(url: str) -> None:
    from evalpanel.store import SYSTEM, create_user, make_engine

    engine = make_engine(url)
    create_user(engine, SYSTEM, USER, "applicant", password=PASSWORD, display_name="Ada")
    engine.dispose()


def open_app(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    settle(page)
    return page


def signed_in(page: Any) -> bool:
    return visible(page.get_by_role("button", name="Sign out"))


def on_sign_in_page(page: Any) -> bool:
    return visible(page.get_by_role("textbox", name="Username")) and not signed_in(page)


def wait_for(page: Any, condition: Any, what: str, timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s * 5)):
        if condition():
            settle(page)
            return
        page.wait_for_timeout(200)
    page.screenshot(path=str(ARTIFACTS / "sessions-failed.png"), full_page=True)
    pytest.fail(f"{what} never happened (the page is in sessions-failed.png)")


def sign_in(context: Any, base: str, password: str = PASSWORD) -> Any:
    page = open_app(context, base)
    wait_for(page, lambda: on_sign_in_page(page), "the sign-in page")
    page.get_by_role("textbox", name="Username").fill(USER)
    page.get_by_role("textbox", name="Password").fill(password)
    click_until(page, page.get_by_role("button", name="Sign in", exact=True).click,
                lambda: signed_in(page), "signing in")
    wait_for(page, lambda: session_cookie(context) is not None, "the session cookie")
    return page


def sign_out(page: Any) -> None:
    click_until(page, page.get_by_role("button", name="Sign out").click,
                lambda: on_sign_in_page(page), "signing out")


def session_cookie(context: Any) -> dict[str, Any] | None:
    found = [c for c in context.cookies() if c["name"] == COOKIE]
    return found[0] if found else None


def fresh_context(browser: Any, cookie: dict[str, Any] | None = None) -> Any:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    if cookie is not None:
        context.add_cookies([cookie])
    return context


def reload(page: Any) -> None:
    page.reload()
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    settle(page)


def expect_sign_in_page(page: Any, notice: str | None, shot: str) -> None:
    wait_for(page, lambda: on_sign_in_page(page), "the sign-in page")
    if notice is not None:
        wait_for(page, lambda: visible(page.get_by_text(notice)), f"the notice {notice!r}")
    page.screenshot(path=str(ARTIFACTS / f"sessions-{shot}.png"), full_page=True)


def test_a_copied_url_or_cookie_is_dead_after_sign_out(browser: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    make_db(url)
    with dashboard_server(url, tmp_path / "server.log") as base:
        context = fresh_context(browser)
        page = sign_in(context, base)
        copied_url, copied = page.url, session_cookie(context)
        assert copied is not None and len(copied["value"]) >= 43  # 256 random bits
        assert copied["value"] not in copied_url and "session" not in copied_url
        assert copied["sameSite"] == "Strict"
        reload(page)  # the cookie carries the session over a reload
        wait_for(page, lambda: signed_in(page), "still signed in after a reload")
        sign_out(page)
        assert session_cookie(context) is None  # the page removed it
        context.close()
        for shot, cookie, notice in (("url", None, None),
                                     ("cookie", copied, "This session was signed out")):
            other = fresh_context(browser, cookie)
            page = open_app(other, copied_url)
            expect_sign_in_page(page, notice, f"after-sign-out-{shot}")
            other.close()


def test_a_password_change_ends_every_session(browser: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    make_db(url)
    with dashboard_server(url, tmp_path / "server.log") as base:
        context = fresh_context(browser)
        page = sign_in(context, base)
        copied_url, copied = page.url, session_cookie(context)
        done = subprocess.run(
            [sys.executable, "-m", "evalpanel.cli", "user", "password", USER, "--password-stdin",
             "--db", url],
            input="second phrase of ada\n", text=True, capture_output=True, timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, check=False,
        )
        assert done.returncode == 0, done.stderr
        # The open tab: its next run finds the session ended.
        reload(page)
        expect_sign_in_page(page, "Your session was ended", "after-password-reload")
        context.close()
        for shot, cookie in (("url", None), ("cookie", copied)):
            other = fresh_context(browser, cookie)
            page = open_app(other, copied_url)
            expect_sign_in_page(page, None, f"after-password-{shot}")
            other.close()
        # The new password signs in (a new session).
        context = fresh_context(browser)
        sign_in(context, base, "second phrase of ada")
        cookie = session_cookie(context)
        assert cookie is not None and copied is not None
        assert cookie["value"] != copied["value"]
        context.close()


def test_an_idle_session_ends(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    make_db(url)
    monkeypatch.setenv("EVALPANEL_SESSION_IDLE_SECONDS", "6")
    with dashboard_server(url, tmp_path / "server.log") as base:
        context = fresh_context(browser)
        page = sign_in(context, base)
        page.wait_for_timeout(2_000)
        reload(page)  # activity within the timeout keeps it
        wait_for(page, lambda: signed_in(page), "still signed in while active")
        page.wait_for_timeout(8_000)
        reload(page)
        expect_sign_in_page(page, "without activity", "after-idle")
        context.close()


@pytest.mark.postgres
def test_two_servers_on_one_database_share_sessions(browser: Any, tmp_path: Path) -> None:
    from tests.store_fixtures import backend_url

    url = backend_url("postgres", tmp_path)
    make_db(url)
    with (
        dashboard_server(url, tmp_path / "a.log") as first,
        dashboard_server(url, tmp_path / "b.log") as second,
    ):
        context = fresh_context(browser)
        page_a = sign_in(context, first)
        # A reload that lands on the other process (same host, another port: the cookie goes
        # along, as behind a load balancer) stays signed in.
        page_b = open_app(context, second)
        wait_for(page_b, lambda: signed_in(page_b), "signed in on the second server")
        page_b.screenshot(path=str(ARTIFACTS / "sessions-second-server.png"), full_page=True)
        sign_out(page_b)
        # The first server's tab ends too, at its next run and after a reload.
        reload(page_a)
        expect_sign_in_page(page_a, None, "first-server-after-sign-out")
        context.close()
