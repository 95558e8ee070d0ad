"""Signing in, the server-side session of every run, signing out, and the navigation of each role."""

from __future__ import annotations

import html
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from dashboard.auth import Session
from dashboard.text import shown_as
from evalpanel.store import (
    SYSTEM,
    Actor,
    PermissionDenied,
    SessionEnded,
    authenticate,
    resume_session,
    revoke_sessions,
    set_disabled,
)
from evalpanel.store.logins import FREE_FAILURES
from evalpanel.store.sessions import token_hash
from evalpanel.store.tables import sessions, users
from tests.dashboard_fixtures import (
    APP,
    PASSWORD,
    DashWorld,
    signed_in,
    texts,
)


def test_login_page_comes_first(dash: DashWorld) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert "Sign in" in texts(at) or at.button[0].label == "Sign in"


def test_wrong_password_is_refused(dash: DashWorld) -> None:
    at = signed_in("manager", "wrong")
    assert not at.exception
    assert "Unknown username or wrong password" in texts(at)
    assert "session" not in at.session_state


def session_row(dash: DashWorld, token: str) -> sa.Row[Any]:
    with dash.world.engine.connect() as conn:
        row = conn.execute(
            sa.select(sessions).where(sessions.c.token_hash == token_hash(token))
        ).one()
    return row


def test_manager_signs_in_with_a_new_server_side_session(dash: DashWorld) -> None:
    at = signed_in("manager")
    assert not at.exception
    assert at.session_state["session"].actor == dash.world.manager
    token = at.session_state["session_token"]
    assert len(token) >= 43  # secrets.token_urlsafe(32): 256 bits
    row = session_row(dash, token)
    assert row.user_id == dash.world.manager.user_id and row.provider == "local"
    assert row.token_hash != token and token not in str(tuple(row))  # only the hash is kept
    # The id travels in a cookie set by the page, never in the URL.
    assert "session" not in at.query_params
    assert any(f"evalpanel_session={token}; Path=/; SameSite=Strict" in h.proto.body
               for h in at.html)
    assert "Call overview" in texts(at)
    # Every sign-in gets a new id.
    again = signed_in("manager")
    assert again.session_state["session_token"] != token


def next_run(at: AppTest) -> AppTest:
    """The tab's next run: its session state (the session id) in a run of its own."""
    again = AppTest.from_file(str(APP), default_timeout=30)
    for key in ("session_token", "session", "notice", "ended_token"):
        if key in at.session_state:
            again.session_state[key] = at.session_state[key]
    if at.secrets:
        again.secrets = dict(at.secrets)
    return again


def test_every_run_reads_the_session_and_the_role_from_the_database(dash: DashWorld) -> None:
    at = signed_in("user-E03")
    assert "My queue" in texts(at)
    with dash.world.engine.begin() as conn:  # behind the services' back: only the role moves
        conn.execute(users.update().where(users.c.user_id == dash.world.experts["E03"].user_id)
                     .values(role="applicant"))
    at = next_run(at).run()
    assert at.session_state["session"].actor == Actor(dash.world.experts["E03"].user_id,
                                                      "applicant")
    assert "My queue" not in texts(at)
    revoke_sessions(dash.world.engine, SYSTEM, dash.world.experts["E03"].user_id or 0)
    at = next_run(at).run()
    assert not at.exception
    assert "session" not in at.session_state and "session_token" not in at.session_state
    assert "Your session was ended" in texts(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_an_unknown_id_lands_on_the_sign_in_page(dash: DashWorld) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["session_token"] = secrets.token_urlsafe(32)
    at.query_params["session"] = "a.former-signed-token"
    at.run()
    assert not at.exception
    assert "session" not in at.session_state
    assert "session" not in at.query_params  # a former token in the URL is dropped
    assert "That session is not valid" in texts(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_disabled_and_throttled_sign_ins_say_so_and_never_which_username_exists(
    dash: DashWorld,
) -> None:
    set_disabled(dash.world.engine, SYSTEM, dash.world.applicant.user_id or 0, True)
    at = signed_in("applicant")
    assert "This account is disabled" in texts(at) and "session" not in at.session_state
    wrong = [texts(signed_in(name, "wrong")) for name in ("user-E03", "nobody-by-this-name")]
    assert wrong[0] == wrong[1] and "Unknown username or wrong password." in wrong[0]
    # Lock both names from elsewhere: failures 70 s apart (each after the lock of the one
    # before), the last one now, which locks the name for 2 ** 5 = 32 s.
    for i, name in enumerate(("manager", "nobody-at-all")):
        n = FREE_FAILURES + 5
        for k in range(n):
            with pytest.raises(PermissionDenied, match="unknown username or wrong password"):
                authenticate(dash.world.engine, name, "wrong", client=f"192.0.2.{i}",
                             at=datetime.now(UTC) - timedelta(seconds=70 * (n - 1 - k)))
    locked = [re.sub(r"\d+", "N", texts(signed_in(name, PASSWORD)))
              for name in ("manager", "nobody-at-all")]
    assert locked[0] == locked[1] and "Too many failed sign-ins" in locked[0]


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
    token = at.session_state["session_token"]
    at.sidebar.button[0].click().run()
    assert "session" not in at.session_state and "session_token" not in at.session_state
    assert "session" not in at.query_params
    at = next_run(at).run()
    assert "You have signed out." in texts(at)
    assert session_row(dash, token).revoked_reason == "signed out"
    with pytest.raises(SessionEnded):
        resume_session(dash.world.engine, token)
    # The page removes the cookie if it still holds this session's id.
    assert any(f"evalpanel_session={token}" in h.proto.body and "Max-Age=0" in h.proto.body
               for h in at.html)


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
    row = session_row(dash, at.session_state["session_token"])
    assert (row.provider, row.display_name) == (f"oidc:{ISSUER}", "Ada Lovelace")
    assert "session" not in at.query_params
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


def test_oidc_sign_in_of_a_disabled_account_gets_no_access(dash: DashWorld) -> None:
    from evalpanel.store import add_identity

    manager = dash.world.manager
    add_identity(dash.world.engine, SYSTEM, manager.user_id or 0, f"oidc:{ISSUER}", "u-42")
    set_disabled(dash.world.engine, SYSTEM, manager.user_id or 0, True)
    at = oidc_app("u-42", "ada@example.org", "Ada Lovelace").run()
    assert not at.exception
    assert "session" not in at.session_state
    assert "This account is disabled" in texts(at)


def test_an_oidc_session_ended_by_the_operator_ends_the_oidc_login(dash: DashWorld) -> None:
    from evalpanel.store import add_identity

    expert = dash.world.experts["E03"]
    add_identity(dash.world.engine, SYSTEM, expert.user_id or 0, f"oidc:{ISSUER}", "u-7")
    at = oidc_app("u-7", "e03@example.org", "Expert Three").run()
    assert at.session_state["session"].actor == expert
    revoke_sessions(dash.world.engine, SYSTEM, expert.user_id or 0)
    user = dict(at.user)
    at = next_run(at)
    at.user = user
    at.run()
    assert not at.exception
    assert "session" not in at.session_state
    # st.logout() ran, so Streamlit's login cookie does not sign the user straight back in
    assert at.user["is_logged_in"] is False


def test_a_malformed_session_setting_is_an_error_not_a_traceback(
    dash: DashWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALPANEL_SESSION_IDLE_SECONDS", "ten")
    at = signed_in("manager")
    assert not at.exception
    assert "EVALPANEL_SESSION_IDLE_SECONDS must be a whole number of seconds" in texts(at)
    assert "session" not in at.session_state
