"""Inviting colleagues to a rehearsal: one-time links, shared by the applicant or sent by e-mail.

An applicant never names an account: they make a link (:func:`invite_by_link`) and pass it on
themselves, or give e-mail addresses (:func:`invite_by_email`), each sent its own link through
the notification outbox. An address is never compared with any account or expert, so inviting
the address of an existing account gives exactly the same answer, message and audit entry as
inviting a new one: an applicant learns nothing about who has an account, nor about a call's
experts. The link carries a random token (256 bits); the store keeps its sha256 only, and the
outbox forgets the link once the message is sent.

Whoever opens the link joins the rehearsal as a scorer, once, before it expires: a signed-in
applicant with their own account (:func:`join_rehearsal`), anyone else with a new scorer
account (:func:`join_as_new_scorer`; its username is made up, ``scorer-<8 hex digits>``, so
that choosing one cannot probe which usernames exist). Inviting, joining and every refused use
of a known token are audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import deny
from evalpanel.store.accounts import _hash as _password_hash
from evalpanel.store.accounts import _insert_user
from evalpanel.store.audit import SYSTEM, Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, InvalidState, NotFound
from evalpanel.store.notifications import render, template_language
from evalpanel.store.tables import (
    notifications,
    rehearsal_invitations,
    rehearsal_scorers,
    rehearsals,
    users,
)
from evalpanel.vocab import NotificationStatus

VALID_DAYS = 14
REHEARSAL_PARAM = "rehearsal"  # the dashboard's query parameter that carries the token
PASSWORD_MIN = 10
NOT_VALID = ("this rehearsal link is not valid any more (used, expired or never made); ask the "
             "colleague who invited you for a new one")
INVITES_SCHEMA: dict[str, pl.DataType] = {
    "invitation_id": pl.Int64(),
    "sent_to": pl.String(),
    "created_at": pl.String(),
    "expires_at": pl.String(),
    "state": pl.String(),
}


@dataclass(frozen=True, slots=True)
class Invitation:
    """What the link's page shows before joining: the rehearsal's title and who invites."""

    rehearsal_id: int
    title: str
    invited_by: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def email_address(text: str) -> str:
    """``text`` as an e-mail address (trimmed), or InvalidInput saying why not. Only its form
    is checked: no account or expert is looked up."""
    address = text.strip()
    local, at, domain = address.partition("@")
    if not (at and local and "." in domain.strip(".")) or "@" in domain \
            or any(c.isspace() or c in "<>,;\"" for c in address) or len(address) > 320:
        raise InvalidInput(f"{text.strip()!r} is not an e-mail address (name@example.org)")
    return address


def _owned(conn: sa.Connection, actor: Actor, rehearsal_id: int, action: str) -> sa.RowMapping:
    row = conn.execute(sa.select(rehearsals).where(
        rehearsals.c.rehearsal_id == rehearsal_id)).mappings().first()
    if row is None:
        raise NotFound(f"no rehearsal {rehearsal_id}")
    if actor.role != "applicant" or actor.user_id != row["owner_id"]:
        deny(actor, action, "rehearsal", rehearsal_id,
             "only the applicant who made the rehearsal invites its scorers")
    return row


def _new_link(conn: sa.Connection, rehearsal_id: int, email: str | None, dashboard_url: str,
              valid_days: int) -> tuple[str, dt.datetime]:
    token = secrets.token_urlsafe(32)
    expires = now() + dt.timedelta(days=valid_days)
    conn.execute(rehearsal_invitations.insert().values(
        rehearsal_id=rehearsal_id, token_hash=_digest(token), email=email, created_at=now(),
        expires_at=expires))
    return f"{dashboard_url.rstrip('/')}/?{REHEARSAL_PARAM}={token}", expires


def _need_url(dashboard_url: str) -> None:
    if not dashboard_url.strip():
        raise InvalidInput("an invitation link needs the dashboard's address (e.g. "
                           "https://panel.example.org)")


def invite_by_link(
    engine: sa.Engine, actor: Actor, rehearsal_id: int, *, dashboard_url: str,
    valid_days: int = VALID_DAYS,
) -> str:
    """A new one-time link to the rehearsal for its owner to pass on; shown once, never kept."""
    _need_url(dashboard_url)
    with writing(engine) as conn:
        _owned(conn, actor, rehearsal_id, "invite scorers to")
        link, expires = _new_link(conn, rehearsal_id, None, dashboard_url, valid_days)
        record(conn, actor, "invite_scorer", "rehearsal", rehearsal_id,
               after={"by": "link", "expires_at": expires})
        return link


def invite_by_email(
    engine: sa.Engine, actor: Actor, rehearsal_id: int, addresses: Sequence[str], *,
    dashboard_url: str, language: str = "en", valid_days: int = VALID_DAYS,
) -> list[str]:
    """Queue a one-time link to each address (sent by ``evalpanel notify run``); the addresses,
    as queued. Every address is treated alike, whoever it belongs to (see the module
    docstring); a malformed one refuses the whole list, naming it."""
    _need_url(dashboard_url)
    wanted = sorted({email_address(a).lower(): None for a in addresses if a.strip()})
    if not wanted:
        raise InvalidInput("give at least one e-mail address")
    with writing(engine) as conn:
        row = _owned(conn, actor, rehearsal_id, "invite scorers to")
        inviter = conn.execute(sa.select(users.c.display_name).where(
            users.c.user_id == actor.user_id)).scalar() or "A colleague"
        lang = template_language("rehearsal_invitation", [language])
        for address in wanted:
            link, expires = _new_link(conn, rehearsal_id, address, dashboard_url, valid_days)
            subject, body = render("rehearsal_invitation", lang, {
                "inviter": inviter, "title": row["title"], "link": link,
                "expires_on": expires.date().isoformat()})
            key = f"rehearsal_invitation:{rehearsal_id}:{_digest(link)[:16]}"
            conn.execute(notifications.insert().values(
                dedupe_key=key, call_id=None, kind="rehearsal_invitation", recipient=address,
                recipient_name="", language=lang, subject=subject, body=body,
                status=NotificationStatus.PENDING, attempts=0, created_at=now(),
                next_attempt_at=now()))
            record(conn, actor, "invite_scorer", "rehearsal", rehearsal_id,
                   after={"by": "email", "email": address, "expires_at": expires})
        return wanted


def rehearsal_invitations_of(engine: sa.Engine, actor: Actor, rehearsal_id: int) -> pl.DataFrame:
    """The owner's invitations (:data:`INVITES_SCHEMA`): to whom (an address, or "link"),
    when, and whether waiting, used or expired. Who used a link is not shown."""
    with reading(engine) as conn:
        _owned(conn, actor, rehearsal_id, "read the invitations of")
        rows = conn.execute(sa.select(
            rehearsal_invitations.c.invitation_id, rehearsal_invitations.c.email,
            rehearsal_invitations.c.created_at, rehearsal_invitations.c.expires_at,
            rehearsal_invitations.c.used_at).where(
            rehearsal_invitations.c.rehearsal_id == rehearsal_id)
            .order_by(rehearsal_invitations.c.invitation_id)).all()
    when = now()
    out = [(int(i), e or "link", c.isoformat(timespec="seconds"),
            x.isoformat(timespec="seconds"),
            "used" if u is not None else "expired" if _aware(x) <= when else "waiting")
           for i, e, c, x, u in rows]
    return pl.DataFrame(out, schema=INVITES_SCHEMA, orient="row")


def _valid(conn: sa.Connection, token: str) -> sa.RowMapping:
    row = conn.execute(sa.select(rehearsal_invitations).where(
        rehearsal_invitations.c.token_hash == _digest(token))).mappings().first()
    if row is None or row["used_at"] is not None or _aware(row["expires_at"]) <= now():
        raise InvalidInput(NOT_VALID)
    return row


def _refused(engine: sa.Engine, token: str) -> None:
    """Audit a refused use of a known token (unknown tokens are not recorded)."""
    with writing(engine) as conn:
        row = conn.execute(sa.select(rehearsal_invitations.c.rehearsal_id,
                                     rehearsal_invitations.c.used_at).where(
            rehearsal_invitations.c.token_hash == _digest(token))).first()
        if row is not None:
            record(conn, SYSTEM, "denied:join_rehearsal", "rehearsal", row[0],
                   after={"reason": "used" if row[1] is not None else "expired"})


def peek_invitation(engine: sa.Engine, token: str) -> Invitation:
    """The rehearsal a valid link leads to (the token stays unused); InvalidInput otherwise."""
    try:
        with reading(engine) as conn:
            row = _valid(conn, token)
            title, owner = conn.execute(
                sa.select(rehearsals.c.title, users.c.display_name)
                .join(users, users.c.user_id == rehearsals.c.owner_id)
                .where(rehearsals.c.rehearsal_id == row["rehearsal_id"])).one()
    except InvalidInput:
        _refused(engine, token)
        raise
    return Invitation(int(row["rehearsal_id"]), str(title), str(owner))


def _join(conn: sa.Connection, token: str, user_id: int) -> int:
    row = _valid(conn, token)
    rid = int(row["rehearsal_id"])
    if conn.execute(sa.select(rehearsal_scorers.c.user_id).where(
            rehearsal_scorers.c.rehearsal_id == rid,
            rehearsal_scorers.c.user_id == user_id)).first() is not None:
        raise InvalidState(f"you already score rehearsal {rid}; the link stays unused for "
                           "another colleague")
    done = conn.execute(rehearsal_invitations.update().where(
        rehearsal_invitations.c.invitation_id == row["invitation_id"],
        rehearsal_invitations.c.used_at.is_(None)).values(used_at=now(), used_by=user_id))
    if done.rowcount != 1:
        raise InvalidInput(NOT_VALID)
    conn.execute(rehearsal_scorers.insert().values(rehearsal_id=rid, user_id=user_id))
    record(conn, Actor(user_id, "applicant"), "join_rehearsal", "rehearsal", rid,
           after={"invitation_id": row["invitation_id"]})
    return rid


def join_rehearsal(engine: sa.Engine, actor: Actor, token: str) -> int:
    """A signed-in applicant joins the rehearsal of a valid link as a scorer; its id."""
    if actor.role != "applicant" or actor.user_id is None:
        with writing(engine) as conn:
            deny(actor, "join", "rehearsal", "-", "a rehearsal is scored with an applicant "
                 "account: sign out and open the link again to make one")
    try:
        with writing(engine) as conn:
            return _join(conn, token, int(actor.user_id or 0))
    except InvalidInput:
        _refused(engine, token)
        raise


def join_as_new_scorer(
    engine: sa.Engine, token: str, display_name: str, password: str
) -> tuple[Actor, str, int]:
    """Make a scorer account and join the rehearsal of a valid link, in one transaction:
    (the account's actor, its username, the rehearsal id)."""
    name = " ".join(display_name.split())
    if not name:
        raise InvalidInput("give your name, as the colleague who invited you knows it")
    if len(name) > 255:
        raise InvalidInput("your name is longer than 255 characters")
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(f"choose a password of at least {PASSWORD_MIN} characters")
    hashed = _password_hash(password)
    try:
        with writing(engine) as conn:
            _valid(conn, token)
            while True:
                username = f"scorer-{secrets.token_hex(4)}"
                if conn.execute(sa.select(users.c.user_id).where(
                        users.c.username == username)).first() is None:
                    break
            user_id = _insert_user(conn, SYSTEM, username, "applicant", hashed, name)
            rid = _join(conn, token, user_id)
    except InvalidInput:
        _refused(engine, token)
        raise
    return Actor(user_id, "applicant"), username, rid
