"""The one-time links' pages (AppTest): an expert's invitation refused when used or expired and
when the two passwords differ; a signed-in applicant joins a rehearsal from its link; a
signed-in expert cannot."""

from __future__ import annotations

import datetime as dt
import os

import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from evalpanel.store import (
    SYSTEM,
    Actor,
    create_rehearsal,
    create_user,
    list_rehearsals,
    make_engine,
    start_session,
)
from evalpanel.store.invitations import invite_experts
from evalpanel.store.rehearsal_invites import invite_by_link
from evalpanel.store.tables import expert_links, invitations, notifications
from tests.dashboard_fixtures import APP, PASSWORD, DashWorld, click, texts

URL = "https://panel.example.org"


def _with_param(at: AppTest, name: str, value: str) -> AppTest:
    at.query_params[name] = value
    return at.run()


def _signed_in_with(actor: Actor, name: str, param: str, value: str) -> AppTest:
    """Like ``as_user``, with the link's parameter in the address from the first run."""
    engine = make_engine(os.environ["EVALPANEL_DB_URL"], migrate=False)
    try:
        token = start_session(engine, actor, name, provider="local", client="test")
    finally:
        engine.dispose()
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["session_token"] = token
    return _with_param(at, param, value)


def _expert_token(d: DashWorld) -> str:
    w = d.world
    with w.engine.begin() as conn:
        conn.execute(expert_links.delete().where(expert_links.c.expert_id == "E06"))
    invite_experts(w.engine, w.manager, w.call_id, expert_ids=["E06"], dashboard_url=URL)
    with w.engine.connect() as conn:
        body: str = conn.execute(sa.select(notifications.c.body).where(
            notifications.c.kind == "invitation")).scalar_one()
    return body.split("?invite=", 1)[1].split()[0]


def test_the_expert_link_sets_a_password_once(dash: DashWorld) -> None:
    token = _expert_token(dash)
    at = _with_param(AppTest.from_file(str(APP), default_timeout=30), "invite", token)
    assert not at.exception
    assert "Welcome to the evaluation" in texts(at)
    at.text_input[0].input("a long passphrase")
    at.text_input[1].input("another passphrase")
    at = click(at, "Set my password and open my queue")
    assert "The two passwords differ" in texts(at)
    at.text_input[0].input("a long passphrase")
    at.text_input[1].input("a long passphrase")
    at = click(at, "Set my password and open my queue")
    assert not at.exception
    assert "My queue" in texts(at) and "Your password is set" in texts(at)
    assert "invite" not in at.query_params
    again = _with_param(AppTest.from_file(str(APP), default_timeout=30), "invite", token)
    assert "not valid any more" in texts(again)
    assert not [b for b in again.button if b.label == "Sign out"]


def test_an_expired_expert_link_is_refused(dash: DashWorld) -> None:
    token = _expert_token(dash)
    with dash.world.engine.begin() as conn:
        conn.execute(invitations.update().values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    at = _with_param(AppTest.from_file(str(APP), default_timeout=30), "invite", token)
    assert "not valid any more" in texts(at)
    assert not [b for b in at.button if b.label.startswith("Set my password")]


def test_a_signed_in_applicant_joins_from_the_link_and_an_expert_cannot(dash: DashWorld) -> None:
    w = dash.world
    rid = create_rehearsal(w.engine, w.applicant, "erasmus-afi", "Draft", "text", [])
    colleague = Actor(create_user(w.engine, SYSTEM, "colleague", "applicant", password=PASSWORD),
                      "applicant")
    link = invite_by_link(w.engine, w.applicant, rid, dashboard_url=URL)
    token = link.split("?rehearsal=", 1)[1]
    expert = _signed_in_with(w.experts["E03"], "user-E03", "rehearsal", token)
    assert "applicant account" in texts(expert)
    assert list_rehearsals(w.engine, w.experts["E03"]).is_empty()
    at = _signed_in_with(colleague, "colleague", "rehearsal", token)
    assert not at.exception
    assert f"You joined rehearsal {rid} as a scorer" in texts(at)
    assert list_rehearsals(w.engine, colleague)["rehearsal_id"].to_list() == [rid]
