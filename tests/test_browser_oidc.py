"""OIDC sign-in end to end: `evalpanel dashboard --secrets FILE` (the operator's configuration,
written in a temporary directory) against the test OpenID Connect provider of
``tests/oidc_provider.py``, driven by Debian's chromium through Playwright.

A linked identity signs in through the provider, keeps its login over a reload and a new visit,
and signs out; an unlinked one is told so and gets no access. Screenshots go to
``tests/artifacts/oidc-*.png``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from dashboard.text import shown_as
from tests.browser_support import (
    ARTIFACTS,
    chromium,
    click_until,
    dashboard_server,
    free_port,
    needs_chromium,
    settle,
    visible,
)
from tests.oidc_provider import OIDCProvider

pytest.importorskip("authlib", reason="OIDC sign-in needs Authlib: pip install 'evalpanel[oidc]'")

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]

OIDC_BUTTON = "Sign in with your organisation (OIDC)"
LINKED_SUB = "7f3c-ada"
LINKED_NAME = "Ada Lovelace"


@dataclass(frozen=True)
class Setup:
    base: str
    idp: OIDCProvider
    db_url: str


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """A small call whose manager is linked to ``LINKED_SUB`` at the test provider, and the
    dashboard started with a secrets file pointing at that provider."""
    from evalpanel.store import SYSTEM, add_identity, make_engine
    from tests.store_fixtures import build_world

    folder = tmp_path_factory.mktemp("oidc")
    db_url = f"sqlite:///{folder / 'store.sqlite'}"
    with OIDCProvider(subject=LINKED_SUB, email="ada@example.org", name=LINKED_NAME) as idp:
        engine = make_engine(db_url)
        world = build_world(engine)
        add_identity(engine, SYSTEM, world.manager.user_id or 0, f"oidc:{idp.issuer}", LINKED_SUB)
        engine.dispose()
        port = free_port()
        # What an operator writes (see `evalpanel dashboard --help`), in a temporary directory.
        secrets_file = folder / "secrets.toml"
        secrets_file.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
            f'client_id = "{idp.client_id}"\n'
            f'client_secret = "{idp.client_secret}"\n'
            f'server_metadata_url = "{idp.metadata_url}"\n',
            encoding="utf-8",
        )
        with dashboard_server(db_url, folder / "dashboard.log", port=port, cwd=folder,
                              extra_args=["--secrets", str(secrets_file)]) as base:
            yield Setup(base, idp, db_url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"oidc-{name}.png"), full_page=True)


def login_page(page: Any, base: str) -> None:
    page.goto(base)
    page.get_by_role("button", name=OIDC_BUTTON).wait_for(timeout=60_000)
    settle(page)


def sign_in_with_oidc(page: Any, done: Any, what: str) -> None:
    """Click the OIDC button (again if the click was lost in a rerun) until ``done()``."""
    click_until(page, page.get_by_role("button", name=OIDC_BUTTON).click, done, what)


def signed_in_as_manager(page: Any) -> bool:
    return visible(page.get_by_text(f"{LINKED_NAME} · manager")) and visible(
        page.get_by_role("button", name="Sign out"))


def auth_cookies(page: Any) -> list[str]:
    return [c["name"] for c in page.context.cookies() if c["name"].startswith("_streamlit_user")]


def test_linked_identity_signs_in_reloads_and_signs_out(browser: Any, setup: Setup) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    login_page(page, setup.base)
    assert not auth_cookies(page)
    shot(page, "1-login")

    trips = setup.idp.authorize_count
    sign_in_with_oidc(page, lambda: signed_in_as_manager(page), "the OIDC sign-in")
    assert setup.idp.authorize_count == trips + 1  # went through the provider
    assert page.url.startswith(setup.base)
    # The dashboard's session id travels in its own cookie, never in the URL.
    assert "session=" not in page.url
    assert [c for c in context.cookies() if c["name"] == "evalpanel_session"]
    assert auth_cookies(page)
    # The manager's navigation, and not another role's.
    assert visible(page.get_by_role("link", name="Assignment"))
    assert not visible(page.get_by_role("link", name="My queue"))
    assert not visible(page.get_by_role("link", name="Rehearsals"))
    shot(page, "2-signed-in")
    page.get_by_role("link", name="Assignment").first.click()
    page.get_by_role("button", name="Run the assignment").wait_for(timeout=60_000)
    settle(page)
    shot(page, "3-manager-page")

    # A reload keeps the login (the dashboard's session cookie) ...
    page.reload()
    page.get_by_text(f"{LINKED_NAME} · manager").wait_for(timeout=60_000)
    settle(page)
    assert signed_in_as_manager(page)
    shot(page, "4-reloaded")
    # ... and so does a new visit to the bare address (the OIDC login cookie), with no new trip
    # to the provider.
    page.goto(setup.base)
    page.get_by_text(f"{LINKED_NAME} · manager").wait_for(timeout=60_000)
    settle(page)
    assert signed_in_as_manager(page)
    assert setup.idp.authorize_count == trips + 1

    # Sign out from a manager page (not the default one) ...
    page.get_by_role("link", name="Assignment").first.click()
    page.get_by_role("button", name="Run the assignment").wait_for(timeout=60_000)
    settle(page)
    # ... ends the dashboard's login, Streamlit's OIDC cookie and the provider's session
    # (its end_session_endpoint): back to the sign-in page.
    def back_on_sign_in_page() -> bool:
        return (bool(setup.idp.logouts) and page.url.rstrip("/") == setup.base
                and visible(page.get_by_role("button", name=OIDC_BUTTON)))

    click_until(page, page.get_by_role("button", name="Sign out").click, back_on_sign_in_page,
                "signing out")
    assert not visible(page.get_by_role("button", name="Sign out"))
    assert not visible(page.get_by_role("button", name="Run the assignment"))
    assert "session=" not in page.url
    assert not auth_cookies(page)
    assert not [c for c in context.cookies() if c["name"] == "evalpanel_session"]
    assert setup.idp.logouts == [LINKED_SUB]
    shot(page, "5-signed-out")
    login_page(page, setup.base)
    assert not visible(page.get_by_role("button", name="Sign out"))
    assert not visible(page.get_by_role("link", name="Assignment"))
    context.close()


def test_unlinked_identity_is_refused(browser: Any, setup: Setup) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    setup.idp.subject, setup.idp.email = "9d1e-stranger", "stranger@example.org"
    setup.idp.name = "A Stranger"
    try:
        login_page(page, setup.base)
        trips = setup.idp.authorize_count
        error = page.get_by_text("is not linked to an evalpanel account")
        sign_in_with_oidc(page, lambda: visible(error), "the not-linked error")
        assert setup.idp.authorize_count == trips + 1
        # shown as typed; dashboard.text.md keeps a bare address from becoming a link with an
        # invisible word joiner, which text matching in the page does not skip
        assert "stranger@example.org" in shown_as(error.first.inner_text())
        assert not visible(page.get_by_role("button", name="Sign out"))
        assert not visible(page.get_by_role("link", name="Assignment"))
        assert "session=" not in page.url
        shot(page, "6-not-linked")
        # No access after a reload either.
        page.reload()
        page.get_by_role("button", name=OIDC_BUTTON).wait_for(timeout=60_000)
        settle(page)
        assert not visible(page.get_by_role("button", name="Sign out"))
        assert not visible(page.get_by_role("link", name="Assignment"))
        shot(page, "7-not-linked-reloaded")
    finally:
        setup.idp.subject, setup.idp.email, setup.idp.name = (
            LINKED_SUB, "ada@example.org", LINKED_NAME)
        context.close()
