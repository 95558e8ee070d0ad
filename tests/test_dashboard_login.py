"""Signing in, restoring a session from its token, and the navigation of each role."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import Session, make_token, read_token
from dashboard.text import shown_as
from evalpanel.store import Actor
from tests.dashboard_fixtures import (
    APP,
    DashWorld,
    signed_in,
    texts,
)


def test_login_page_comes_first(dash: DashWorld) -> None:
    at = AppTest.from_file(str(APP)).run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert "Sign in" in texts(at) or at.button[0].label == "Sign in"


def test_wrong_password_is_refused(dash: DashWorld) -> None:
    at = signed_in("manager", "wrong")
    assert not at.exception
    assert "Unknown username or wrong password" in texts(at)
    assert "session" not in at.session_state


def test_manager_signs_in_and_gets_a_token(dash: DashWorld) -> None:
    at = signed_in("manager")
    assert not at.exception
    assert at.session_state["session"].actor == dash.world.manager
    assert at.query_params["session"]
    assert "Call overview" in texts(at)


def test_token_restores_the_session_after_a_reload(dash: DashWorld) -> None:
    first = signed_in("user-E03")
    token = first.query_params["session"]
    again = AppTest.from_file(str(APP), default_timeout=30)
    again.query_params["session"] = token
    again.run()
    assert not again.exception
    assert again.session_state["session"].actor == dash.world.experts["E03"]
    assert "My queue" in texts(again)


def test_forged_token_is_ignored(dash: DashWorld) -> None:
    forged = make_token(b"not-the-server-secret", Session(dash.world.manager, "manager"))
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params["session"] = forged
    at.run()
    assert "session" not in at.session_state
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_token_round_trip_and_expiry() -> None:
    secret = b"k" * 32
    session = Session(Actor(7, "expert"), "expert7")
    token = make_token(secret, session, now=1000.0)
    assert read_token(secret, token, now=1001.0) == session
    assert read_token(secret, token, now=1000.0 + 13 * 3600) is None
    body, _, sig = token.partition(".")
    assert read_token(secret, body + "." + sig[:-2] + "AA", now=1001.0) is None


@pytest.mark.parametrize(
    "page",
    ["manager_overview.py", "manager_assignment.py", "manager_exports.py", "applicant_report.py"],
)
def test_expert_cannot_open_other_roles_pages(dash: DashWorld, page: str) -> None:
    at = signed_in("user-E03")
    with pytest.raises(ValueError, match="registered"):
        at.switch_page(f"pages/{page}")


@pytest.mark.parametrize("page", ["expert_queue.py", "manager_overview.py"])
def test_applicant_cannot_open_other_roles_pages(dash: DashWorld, page: str) -> None:
    at = signed_in("applicant")
    with pytest.raises(ValueError, match="registered"):
        at.switch_page(f"pages/{page}")


def test_sign_out(dash: DashWorld) -> None:
    at = signed_in("applicant")
    at.sidebar.button[0].click().run()
    assert "session" not in at.session_state
    assert "session" not in at.query_params


def test_every_page_file_is_in_some_navigation() -> None:
    from dashboard.nav import PAGES

    listed = {
        f for sections in PAGES.values() for entries in sections.values() for f, _, _ in entries
    }
    on_disk = {p.name for p in (Path(APP).parent / "pages").glob("*.py")}
    assert listed == on_disk



ISSUER = "https://idp.example.org/realms/panel"
AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback",
                 "cookie_secret": "c" * 32, "client_id": "panel", "client_secret": "s",
                 "server_metadata_url": f"{ISSUER}/.well-known/openid-configuration"}}


def oidc_app(sub: str, email: str, name: str) -> AppTest:
    """An AppTest whose browser carries Streamlit's OIDC login of ``sub`` at ``ISSUER``."""
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.secrets = AUTH
    at.user = {"is_logged_in": True, "iss": ISSUER, "sub": sub, "email": email, "name": name,
               "provider": "default"}
    return at


def test_oidc_login_of_a_linked_identity_signs_in(dash: DashWorld) -> None:
    from evalpanel.store import SYSTEM, add_identity

    manager = dash.world.manager
    add_identity(dash.world.engine, SYSTEM, manager.user_id or 0, f"oidc:{ISSUER}", "u-42")
    at = oidc_app("u-42", "ada@example.org", "Ada Lovelace").run()
    assert not at.exception
    assert at.session_state["session"] == Session(manager, "Ada Lovelace")
    assert read_token(b"test-secret", at.query_params["session"]) == Session(
        manager, "Ada Lovelace")
    assert "**Ada Lovelace** · manager" in texts(at)
    assert "Call overview" in texts(at)


def test_oidc_login_of_an_unlinked_identity_gets_no_access(dash: DashWorld) -> None:
    from evalpanel.store import SYSTEM, add_identity

    # Linked at another issuer: the same subject elsewhere is a different person.
    add_identity(dash.world.engine, SYSTEM, dash.world.manager.user_id or 0,
                 "oidc:https://other.example.org", "u-42")
    at = oidc_app("u-42", "someone@example.org", "Someone").run()
    assert not at.exception
    assert "session" not in at.session_state
    assert "session" not in at.query_params
    assert "someone@example.org" in texts(at) and "not linked" in texts(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_an_unlinked_address_with_markup_characters_shows_as_typed(dash: DashWorld) -> None:
    at = oidc_app("u-9", "first_last*x@example.org", "First Last").run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert "(first\\_last\\*x\\@" in error  # escaped (dashboard.text.md)
    assert shown_as(rendered_text(error)).startswith(
        "Your sign-in (first_last*x@example.org) is not linked")


def rendered_text(markdown: str) -> str:
    """The text a CommonMark renderer (with GFM strikethrough and tables) shows for a line."""
    from markdown_it import MarkdownIt

    html_out = MarkdownIt("commonmark").enable(["strikethrough", "table"]).render(markdown)
    return html.unescape(re.sub(r"<[^>]*>", "", html_out)).strip()


def test_sign_out_ends_the_oidc_login_too(dash: DashWorld) -> None:
    from evalpanel.store import SYSTEM, add_identity

    add_identity(dash.world.engine, SYSTEM, dash.world.experts["E03"].user_id or 0,
                 f"oidc:{ISSUER}", "u-7")
    at = oidc_app("u-7", "e03@example.org", "Expert Three").run()
    assert at.session_state["session"].actor == dash.world.experts["E03"]
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert "session" not in at.session_state
    assert "session" not in at.query_params
    assert at.user["is_logged_in"] is False  # st.logout() ran: Streamlit drops its cookie
    assert not at.sidebar.button and "Expert Three" not in texts(at)
