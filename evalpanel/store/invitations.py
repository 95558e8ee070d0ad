"""Inviting the expert pool: one account and one one-time link per expert, sent by e-mail.

A manager invites the experts of a call (:func:`invite_experts`): each expert without an account
gets one (username: their e-mail address; role expert; no password yet), linked to their expert
row, and an invitation whose link goes out through the notification outbox. The link carries a
random token (256 bits); the store keeps only its sha256, and the outbox forgets the link once
the message is sent. :func:`redeem_invitation` sets the expert's password with the token (once,
before it expires); :func:`redeem_invitation_oidc` links their OpenID Connect identity instead.
Inviting, and every use or refused use of a token, is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from evalpanel.store.access import require_manager
from evalpanel.store.accounts import create_user, link_expert, link_identity, set_password
from evalpanel.store.audit import SYSTEM, Actor, now, record
from evalpanel.store.engine import writing
from evalpanel.store.errors import InvalidInput
from evalpanel.store.notifications import render, template_language
from evalpanel.store.tables import (
    calls,
    expert_links,
    experts,
    invitations,
    notifications,
    users,
)
from evalpanel.vocab import NotificationStatus

VALID_DAYS = 14
INVITE_PARAM = "invite"  # the dashboard's query parameter that carries the token


@dataclass(frozen=True, slots=True)
class Invited:
    expert_id: str
    username: str
    user_id: int
    created: bool  # a new account (False: the expert had one, only a new link was sent)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _username_for(conn: sa.Connection, email: str, expert_id: str) -> str:
    base = email.strip().lower() or expert_id
    name, n = base, 1
    while conn.execute(sa.select(users.c.user_id).where(users.c.username == name)).first():
        n += 1
        name = f"{base}#{n}"
    return name


def invite_experts(
    engine: sa.Engine, actor: Actor, call_id: str, *, expert_ids: Sequence[str] | None = None,
    dashboard_url: str = "", valid_days: int = VALID_DAYS,
) -> list[Invited]:
    """Invite the call's experts (all, or ``expert_ids``) who have not yet signed in: an
    account where needed, a fresh one-time link each, queued in the outbox."""
    if not dashboard_url:
        raise InvalidInput("an invitation link needs the dashboard's address: give the "
                           "dashboard_url the experts will open (e.g. https://panel.example.org)")
    with writing(engine) as conn:
        require_manager(conn, actor, "invite the experts of", call_id)
        title = conn.execute(sa.select(calls.c.title).where(calls.c.call_id == call_id)).scalar()
        stmt = sa.select(experts.c.expert_id, experts.c.name, experts.c.email,
                         experts.c.languages).where(experts.c.call_id == call_id)
        if expert_ids is not None:
            stmt = stmt.where(experts.c.expert_id.in_(list(expert_ids)))
        pool = conn.execute(stmt.order_by(experts.c.expert_id)).all()
        linked = dict(conn.execute(sa.select(expert_links.c.expert_id, expert_links.c.user_id)
                                   .where(expert_links.c.call_id == call_id)).all())
        usernames = dict(conn.execute(sa.select(users.c.user_id, users.c.username)).all())
        plans = [(e, n, m, lang, linked.get(e), _username_for(conn, m, e) if e not in linked
                  else usernames[linked[e]]) for e, n, m, lang in pool]
    out: list[Invited] = []
    for expert_id, name, email, languages, user_id, username in plans:
        created = user_id is None
        if user_id is None:
            user_id = create_user(engine, actor, username, "expert", display_name=name)
            link_expert(engine, actor, user_id, call_id, expert_id)
        token = secrets.token_urlsafe(32)
        expires = now() + dt.timedelta(days=valid_days)
        with writing(engine) as conn:
            conn.execute(invitations.update().where(
                invitations.c.user_id == user_id, invitations.c.call_id == call_id,
                invitations.c.used_at.is_(None)).values(expires_at=now()))  # older links end
            conn.execute(invitations.insert().values(
                token_hash=_hash(token), user_id=user_id, call_id=call_id, expert_id=expert_id,
                created_at=now(), expires_at=expires))
            language = template_language("invitation", languages or [])
            link = f"{dashboard_url.rstrip('/')}/?{INVITE_PARAM}={token}"
            subject, body = render("invitation", language, {
                "name": name, "call_id": call_id, "call_title": title, "link": link,
                "expires_on": expires.date().isoformat()})
            key = f"invitation:{call_id}:{expert_id}:{_hash(token)[:16]}"
            conn.execute(notifications.insert().values(
                dedupe_key=key, call_id=call_id, kind="invitation", recipient=email,
                recipient_name=name, language=language, subject=subject, body=body,
                status=NotificationStatus.PENDING, attempts=0, created_at=now(),
                next_attempt_at=now()))
            record(conn, actor, "invite", "expert", expert_id, call_id=call_id,
                   after={"user_id": user_id, "username": username, "created": created,
                          "expires_at": expires})
        out.append(Invited(expert_id, username, int(user_id), created))
    return out


def _claim(conn: sa.Connection, token: str) -> tuple[int, str, str]:
    """(user id, call id, expert id) of a valid token, marked used; InvalidInput otherwise."""
    row = conn.execute(sa.select(invitations).where(
        invitations.c.token_hash == _hash(token))).mappings().first()
    when = now()
    if row is None or row["used_at"] is not None or _aware(row["expires_at"]) <= when:
        raise InvalidInput("this invitation link is not valid any more (used, expired or "
                           "replaced by a newer one); ask the call manager for a new one")
    conn.execute(invitations.update().where(
        invitations.c.invitation_id == row["invitation_id"]).values(used_at=when))
    record(conn, SYSTEM, "redeem_invitation", "user", row["user_id"], call_id=row["call_id"])
    return int(row["user_id"]), str(row["call_id"]), str(row["expert_id"])


def _use(engine: sa.Engine, token: str) -> int:
    """The user id of a valid token, now used; a refused known token is audited."""
    try:
        with writing(engine) as conn:
            return _claim(conn, token)[0]
    except InvalidInput:
        with writing(engine) as conn:
            _claim_audit_only(conn, token)
        raise


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def redeem_invitation(engine: sa.Engine, token: str, password: str) -> Actor:
    """Set the invited expert's password with a valid token (once); the expert's actor."""
    if len(password) < 10:
        raise InvalidInput("choose a password of at least 10 characters")
    user_id = _use(engine, token)
    set_password(engine, SYSTEM, user_id, password)
    return Actor(user_id, "expert")


class _TakenIdentity(InvalidInput):
    """The identity belongs to another account: the token stays unused."""


def redeem_invitation_oidc(engine: sa.Engine, token: str, issuer: str, subject: str) -> Actor:
    """Link the invited expert's OIDC identity (``oidc:<issuer>``, ``subject``, as verified by
    the sign-in) with a valid token (once), in the transaction that uses the token: an
    identity already linked to another account is refused and the link keeps working. The
    expert's actor."""
    try:
        with writing(engine) as conn:
            user_id = _claim(conn, token)[0]
            try:
                link_identity(conn, SYSTEM, user_id, f"oidc:{issuer}", subject)
            except InvalidInput as exc:
                raise _TakenIdentity(str(exc)) from None
    except _TakenIdentity as exc:
        with writing(engine) as conn:
            _claim_audit_only(conn, token, "the identity is another account's")
        raise InvalidInput(f"{exc}: sign in with your own organisation account to use this "
                           "invitation; the link still works") from None
    except InvalidInput:
        with writing(engine) as conn:
            _claim_audit_only(conn, token)
        raise
    return Actor(user_id, "expert")


def _claim_audit_only(conn: sa.Connection, token: str, reason: str | None = None) -> None:
    """Record a refused use of a known token (its own transaction was rolled back). Unknown
    tokens are not recorded: anyone can send one, and the audit log must not grow with them."""
    row = conn.execute(sa.select(invitations.c.invitation_id, invitations.c.used_at).where(
        invitations.c.token_hash == _hash(token))).first()
    if row is not None:
        record(conn, SYSTEM, "denied:redeem_invitation", "invitation", row[0],
               after={"reason": reason or ("used" if row[1] is not None
                                           else "expired or replaced")})


@dataclass(frozen=True, slots=True)
class Pending:
    """What the invitation's page shows before the token is used."""

    username: str
    name: str
    call_title: str
    expires_at: dt.datetime


def pending_invitation(engine: sa.Engine, token: str) -> Pending:
    """The account and call of a valid token, which stays unused; InvalidInput (the same
    message as a refused use) otherwise."""
    from evalpanel.store.engine import reading

    with reading(engine) as conn:
        row = conn.execute(
            sa.select(users.c.username, users.c.display_name, calls.c.title,
                      invitations.c.expires_at, invitations.c.used_at)
            .join(users, users.c.user_id == invitations.c.user_id)
            .join(calls, calls.c.call_id == invitations.c.call_id)
            .where(invitations.c.token_hash == _hash(token))).first()
    if row is None or row.used_at is not None or _aware(row.expires_at) <= now():
        raise InvalidInput("this invitation link is not valid any more (used, expired or "
                           "replaced by a newer one); ask the call manager for a new one")
    return Pending(str(row.username), str(row.display_name), str(row.title),
                   _aware(row.expires_at))
