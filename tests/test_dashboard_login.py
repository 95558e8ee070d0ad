"""Signing in, restoring a session from its token, and the navigation of each role."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import Session, make_token, read_token
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

