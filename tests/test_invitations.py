"""Inviting the expert pool: accounts and one-time links by e-mail (a real SMTP server on
loopback), redeemed once, before they expire, and never kept in the outbox once sent."""

from __future__ import annotations

import re
from email.message import EmailMessage

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.mailer import send_due
from evalpanel.store import (
    SYSTEM,
    InvalidInput,
    NotFound,
    PermissionDenied,
    audit_frame,
    authenticate,
)
from evalpanel.store.invitations import invite_experts, redeem_invitation, redeem_invitation_oidc
from evalpanel.store.notifications import list_notifications
from evalpanel.store.tables import invitations, notifications
from tests.smtp_support import Inbox, smtp_config
from tests.store_fixtures import World, build_world, make_call

URL = "https://panel.example.org"


@pytest.fixture
def pool(engine: sa.Engine) -> World:
    """A call whose experts E05 and E06 have no account yet."""
    call = make_call()
    w = build_world(engine, call)
    with engine.begin() as conn:
        from evalpanel.store.tables import expert_links

        conn.execute(expert_links.delete().where(expert_links.c.expert_id.in_(["E05", "E06"])))
    return w


def _link_of(message: EmailMessage) -> str:
    body = message.get_content()
    found = re.search(r"https://panel\.example\.org/\?invite=([\w-]+)", body)
    assert found, body
    return found.group(1)


def test_the_pool_is_invited_by_mail_and_each_link_works_once(
        pool: World, inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    w = pool
    invited = invite_experts(w.engine, w.manager, w.call_id, dashboard_url=URL)
    assert {i.expert_id for i in invited} == {f"E0{i}" for i in range(1, 7)}
    new = {i.expert_id: i for i in invited if i.created}
    assert set(new) == {"E05", "E06"} and new["E05"].username == "e5@example.org"
    send_due(w.engine, SYSTEM, smtp_config(port))
    by_to = {m["To"]: m for m in box.messages}
    assert len(box.messages) == 6
    token = _link_of(by_to["Expert 5 <e5@example.org>"])
    # the outbox no longer holds the link; the store never held the token
    outbox = list_notifications(w.engine, SYSTEM, call_id=w.call_id)
    assert set(outbox.filter(pl.col("kind") == "invitation")["status"]) == {"sent"}
    with w.engine.connect() as conn:
        bodies = conn.execute(sa.select(notifications.c.body)).scalars().all()
        hashes = conn.execute(sa.select(invitations.c.token_hash)).scalars().all()
    assert not any(token in b for b in bodies) and token not in hashes

    actor = redeem_invitation(w.engine, token, "a long passphrase")
    assert actor.user_id == new["E05"].user_id
    assert authenticate(w.engine, "e5@example.org", "a long passphrase").user_id == actor.user_id
    with pytest.raises(InvalidInput, match="not valid any more"):
        redeem_invitation(w.engine, token, "another passphrase")
    with pytest.raises(InvalidInput, match="not valid any more"):
        redeem_invitation(w.engine, "x" * 43, "another passphrase")
    actions = audit_frame(w.engine, SYSTEM)["action"].to_list()
    assert actions.count("invite") == 6 and actions.count("redeem_invitation") == 1
    assert actions.count("denied:redeem_invitation") == 1  # the unknown token is not recorded


def test_a_new_invitation_replaces_the_old_link_and_links_expire(pool: World,
                                                                  inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    w = pool
    invite_experts(w.engine, w.manager, w.call_id, expert_ids=["E06"], dashboard_url=URL)
    invite_experts(w.engine, w.manager, w.call_id, expert_ids=["E06"], dashboard_url=URL)
    send_due(w.engine, SYSTEM, smtp_config(port))
    old, fresh = (_link_of(m) for m in box.messages)
    with pytest.raises(InvalidInput):
        redeem_invitation(w.engine, old, "a long passphrase")
    actor = redeem_invitation_oidc(w.engine, fresh, "https://login.example.org", "sub-6")
    from evalpanel.store.accounts import actor_for_identity

    assert actor_for_identity(w.engine, "oidc:https://login.example.org", "sub-6") == actor
    invite_experts(w.engine, w.manager, w.call_id, expert_ids=["E05"], dashboard_url=URL,
                   valid_days=0)
    send_due(w.engine, SYSTEM, smtp_config(port))
    with pytest.raises(InvalidInput, match="not valid any more"):
        redeem_invitation(w.engine, _link_of(box.messages[-1]), "a long passphrase")


def test_only_managers_invite_and_short_passwords_are_refused(pool: World) -> None:
    w = pool
    for actor in (w.experts["E03"], w.outsider, w.applicant):
        with pytest.raises(PermissionDenied):
            invite_experts(w.engine, actor, w.call_id, dashboard_url=URL)
    with pytest.raises(InvalidInput, match="dashboard"):
        invite_experts(w.engine, w.manager, w.call_id)
    with pytest.raises(InvalidInput, match="at least 10"):
        redeem_invitation(w.engine, "t", "short")


def test_an_identity_of_another_account_leaves_the_link_unused(pool: World,
                                                                inbox: tuple[Inbox, int]) -> None:
    from evalpanel.store import add_identity
    from evalpanel.store.accounts import actor_for_identity

    box, port = inbox
    w = pool
    issuer = "https://login.example.org"
    add_identity(w.engine, SYSTEM, w.manager.user_id or 0, f"oidc:{issuer}", "sub-manager")
    invite_experts(w.engine, w.manager, w.call_id, expert_ids=["E06"], dashboard_url=URL)
    send_due(w.engine, SYSTEM, smtp_config(port))
    token = _link_of(box.messages[0])
    # signed in at the provider as the manager: that identity is not the invited expert's
    with pytest.raises(InvalidInput, match=r"already linked to the user .*the link still works"):
        redeem_invitation_oidc(w.engine, token, issuer, "sub-manager")
    assert actor_for_identity(w.engine, f"oidc:{issuer}", "sub-manager") == w.manager
    denied = audit_frame(w.engine, SYSTEM).filter(
        pl.col("action") == "denied:redeem_invitation")["after"].to_list()
    assert len(denied) == 1 and "another account" in denied[0]
    # the token was not used up: the expert's own identity links with it, once
    actor = redeem_invitation_oidc(w.engine, token, issuer, "sub-e6")
    assert actor_for_identity(w.engine, f"oidc:{issuer}", "sub-e6") == actor
    assert actor.role == "expert" and actor != w.manager
    with pytest.raises(InvalidInput, match="not valid any more"):
        redeem_invitation_oidc(w.engine, token, issuer, "sub-e6-again")
    with pytest.raises(NotFound, match="no user has the identity"):
        actor_for_identity(w.engine, f"oidc:{issuer}", "sub-e6-again")
