"""OIDC sign-in end to end: `evalpanel dashboard --secrets FILE` (the operator's configuration,
written in a temporary directory) against the test OpenID Connect provider of
``tests/oidc_provider.py``, driven by Debian's chromium through Playwright.

A linked identity signs in through the provider, keeps its login over a reload and a new visit,
and signs out; an unlinked one is told so and gets no access. An invited expert opens their
one-time link, signs in at the provider, comes back to the invitation, links that identity and
sees their queue; the identity then signs them in by itself, and the link is used up.
Screenshots go to ``tests/artifacts/oidc-*.png``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from dashboard.text import shown_as
from tests.browser_support import (
    ARTIFACTS,
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
    call_id: str = ""


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
            yield Setup(base, idp, db_url, world.call_id)


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


def session_cookie(context: Any, wait_s: float = 15.0) -> list[Any]:
    """The dashboard's session cookie, waited for up to ``wait_s`` seconds."""
    stop = time.monotonic() + wait_s
    while True:
        found = [c for c in context.cookies() if c["name"] == "evalpanel_session"]
        if found or time.monotonic() > stop:
            return found
        time.sleep(0.1)


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
    # the page's script sets it once the signed-in page has drawn
    assert session_cookie(context)
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


def _invitation_link(setup: Setup, expert_id: str) -> str:
    """Invite ``expert_id`` (no account yet) as a call manager would; the link from the
    message in the outbox (its delivery over SMTP is test_browser_invite's)."""
    import re

    import sqlalchemy as sa

    from evalpanel.store import SYSTEM, make_engine
    from evalpanel.store.invitations import invite_experts
    from evalpanel.store.tables import expert_links, notifications

    engine = make_engine(setup.db_url)
    with engine.begin() as conn:
        conn.execute(expert_links.delete().where(expert_links.c.expert_id == expert_id))
    [invited] = invite_experts(engine, SYSTEM, setup.call_id, expert_ids=[expert_id],
                               dashboard_url=setup.base)
    assert invited.created
    with engine.connect() as conn:
        body = conn.execute(sa.select(notifications.c.body).where(
            notifications.c.kind == "invitation")).scalars().all()[-1]
    engine.dispose()
    found = re.search(rf"{re.escape(setup.base)}/\?invite=[\w-]+", body)
    assert found, body
    return found.group(0)


def test_an_invited_expert_links_their_identity_and_sees_their_queue(
        browser: Any, setup: Setup) -> None:
    from evalpanel.store import make_engine
    from evalpanel.store.accounts import actor_for_identity
    from evalpanel.store.tables import invitations

    link = _invitation_link(setup, "E06")
    logouts = len(setup.idp.logouts)
    setup.idp.subject, setup.idp.email, setup.idp.name = "e6-sub", "e6@example.org", "Expert Six"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(link)
        page.get_by_text("Welcome to the evaluation").wait_for(timeout=60_000)
        settle(page)
        shot(page, "8-invitation")
        trips = setup.idp.authorize_count
        link_button = page.get_by_role("button", name="Link my organisation's account")
        # the provider sends the browser back to the bare address: the page finds the
        # invitation again and offers to link the identity it verified
        sign_in_with_oidc(page, lambda: visible(link_button), "the way back to the invitation")
        assert setup.idp.authorize_count == trips + 1
        assert "invite=" not in page.url
        assert "e6@example.org" in shown_as(link_button.first.inner_text())
        assert not visible(page.get_by_role("button", name="Sign out"))
        shot(page, "9-link-identity")
        click_until(page, link_button.first.click,
                    lambda: visible(page.get_by_role("button", name="Sign out")),
                    "linking the identity")
        page.get_by_text("Your organisation's account is linked.").wait_for(timeout=60_000)
        settle(page)
        assert visible(page.get_by_text("Expert Six · expert"))
        assert visible(page.get_by_role("link", name="My queue"))
        assert not visible(page.get_by_role("link", name="Assignment"))
        assert not visible(page.get_by_text("is not linked to an evalpanel account"))
        assert not [c for c in context.cookies() if c["name"] == "evalpanel_invite"]
        shot(page, "10-invited-queue")

        engine = make_engine(setup.db_url)
        actor = actor_for_identity(engine, f"oidc:{setup.idp.issuer}", "e6-sub")
        with engine.connect() as conn:
            used = conn.execute(invitations.select().where(
                invitations.c.expert_id == "E06")).mappings().all()
        engine.dispose()
        assert actor.role == "expert"
        assert [row["user_id"] for row in used] == [actor.user_id]
        assert all(row["used_at"] is not None for row in used)

        # signed out, the identity alone signs the expert in again, with no invitation
        def back_on_sign_in_page() -> bool:
            return visible(page.get_by_role("button", name=OIDC_BUTTON))

        click_until(page, page.get_by_role("button", name="Sign out").click,
                    back_on_sign_in_page, "signing out")
        assert setup.idp.logouts[logouts:] == ["e6-sub"]
        sign_in_with_oidc(page, lambda: visible(page.get_by_text("Expert Six · expert")),
                          "the second OIDC sign-in")
        settle(page)
        assert visible(page.get_by_role("link", name="My queue"))
        shot(page, "11-signed-in-again")

        # the link is used up
        again = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        again.goto(link)
        again.get_by_text("not valid any more").wait_for(timeout=60_000)
        assert not visible(again.get_by_role("button", name="Sign out"))
        again.context.close()
    finally:  # the provider as the other tests of the module expect it
        setup.idp.subject, setup.idp.email, setup.idp.name = (
            LINKED_SUB, "ada@example.org", LINKED_NAME)
        del setup.idp.logouts[logouts:]
        context.close()
