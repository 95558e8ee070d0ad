"""Server-side sessions of the dashboard: a random opaque id in the browser, its SHA-256 here.

:func:`start_session` mints the id (``secrets.token_urlsafe(32)``: 256 random bits) and stores
only its hash with the user, the login provider, the client address, the creation time, the last
request, the absolute expiry and the idle timeout of the :class:`SessionPolicy` in force.
:func:`resume_session` is called on every request: it re-reads the user's role and whether the
account is disabled from the database (never from the browser), and raises
:class:`SessionEnded` for an id that is unknown, signed out, revoked, past its expiry or idle
for longer than its timeout. Every process on the same database shares the table, so a session
started on one dashboard process is valid on all, and one ended on any is ended on all.

The policy comes from the environment (:meth:`SessionPolicy.from_env`):
``EVALPANEL_SESSION_IDLE_SECONDS`` (default 1800: 30 minutes without a request) and
``EVALPANEL_SESSION_MAX_SECONDS`` (default 43200: 12 hours after sign-in, whatever happens).

A sign-out ends one session (:func:`end_session`); :func:`revoke_user_sessions` ends all of a
user's sessions inside the caller's transaction (a password, role or grant change, disabling
the account, ``evalpanel user revoke``). Ids never leave this module except to the browser that
signed in; :func:`list_sessions` shows the operator when and from where, never an id.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import can_operate, deny, require
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, NotFound, StoreError
from evalpanel.store.frames import inserted_id
from evalpanel.store.tables import sessions, users
from evalpanel.vocab import Role

IDLE_ENV = "EVALPANEL_SESSION_IDLE_SECONDS"
MAX_ENV = "EVALPANEL_SESSION_MAX_SECONDS"
Ending = Literal["unknown", "signed out", "revoked", "expired", "idle", "disabled"]


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session lives: ``idle_s`` seconds without a request, ``max_s`` in all."""

    idle_s: int = 30 * 60
    max_s: int = 12 * 3600

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SessionPolicy:
        """The policy of ``$EVALPANEL_SESSION_IDLE_SECONDS`` and ``$EVALPANEL_SESSION_MAX_SECONDS``
        (each a whole number of seconds, at least 1; unset or empty: the default)."""
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for name, field in ((IDLE_ENV, "idle_s"), (MAX_ENV, "max_s")):
            text = env.get(name, "").strip()
            if not text:
                continue
            if not text.isdigit() or int(text) < 1:
                raise InvalidInput(
                    f"${name} must be a whole number of seconds of at least 1; got {text!r}"
                )
            values[field] = int(text)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class LiveSession:
    """A valid session: the actor (role as stored now), the name to show, when it ends without
    a further request (``ends_at``) and at the latest (``expires_at``)."""

    actor: Actor
    name: str
    ends_at: datetime
    expires_at: datetime


class SessionEnded(StoreError):
    """The browser's session id is no longer valid; ``reason`` says why (for a short notice)."""

    def __init__(self, reason: Ending) -> None:
        super().__init__(f"the session has ended ({reason}); sign in again")
        self.reason: Ending = reason


def token_hash(token: str) -> str:
    """What the table keeps of a session id: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC time (SQLite hands back naive ones; the store writes UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _ends_at(expires_at: datetime, last_seen: datetime, idle_s: int) -> datetime:
    return min(as_utc(expires_at), as_utc(last_seen) + timedelta(seconds=idle_s))


def start_session(
    engine: sa.Engine,
    actor: Actor,
    name: str,
    *,
    provider: str,
    client: str,
    policy: SessionPolicy | None = None,
    at: datetime | None = None,
) -> str:
    """A new session of the (authenticated) ``actor``; returns its id, which only the browser
    keeps. A disabled or unknown account gets none (:class:`PermissionDenied`, audited)."""
    policy = policy or SessionPolicy.from_env()
    started = at or now()
    token = secrets.token_urlsafe(32)
    with writing(engine) as conn:
        if actor.user_id is None:
            deny(actor, "start", "session", "-", "only a user account signs in")
        row = conn.execute(
            sa.select(users.c.disabled_at).where(users.c.user_id == actor.user_id)
        ).first()
        if row is None:
            raise NotFound(f"no user has the id {actor.user_id}")
        if row.disabled_at is not None:
            deny(actor, "start", "session", actor.user_id, "the account is disabled")
        session_id = inserted_id(
            conn.execute(
                sessions.insert().values(
                    token_hash=token_hash(token),
                    user_id=actor.user_id,
                    provider=provider,
                    display_name=name[:255],
                    client=client[:255],
                    created_at=started,
                    last_seen_at=started,
                    expires_at=started + timedelta(seconds=policy.max_s),
                    idle_timeout_s=policy.idle_s,
                )
            )
        )
        record(
            conn,
            actor,
            "sign_in",
            "session",
            session_id,
            after={"provider": provider, "client": client[:255]},
        )
    return token


def resume_session(engine: sa.Engine, token: str, *, at: datetime | None = None) -> LiveSession:
    """The session of ``token`` with the user's role as stored now, its last request moved to
    now; :class:`SessionEnded` when it is unknown, ended, expired, idle too long or its account
    disabled."""
    when = at or now()
    with reading(engine) as conn:
        row = conn.execute(
            sa.select(
                sessions.c.session_id,
                sessions.c.user_id,
                sessions.c.display_name,
                sessions.c.last_seen_at,
                sessions.c.expires_at,
                sessions.c.idle_timeout_s,
                sessions.c.revoked_at,
                sessions.c.revoked_reason,
                users.c.role,
                users.c.disabled_at,
            )
            .join(users, users.c.user_id == sessions.c.user_id)
            .where(sessions.c.token_hash == token_hash(token))
        ).first()
    if row is None:
        raise SessionEnded("unknown")
    if row.revoked_at is not None:
        raise SessionEnded("signed out" if row.revoked_reason == "signed out" else "revoked")
    if row.disabled_at is not None:
        raise SessionEnded("disabled")
    if when >= as_utc(row.expires_at):
        raise SessionEnded("expired")
    idle = timedelta(seconds=row.idle_timeout_s)
    last_seen = as_utc(row.last_seen_at)
    if when >= last_seen + idle:
        raise SessionEnded("idle")
    # One write per request would be a lot; a tenth of the idle timeout (at most a minute) of
    # slack in the last request's time keeps the idle timeout within that margin.
    if when - last_seen >= min(timedelta(seconds=60), idle / 10):
        with writing(engine) as conn:
            conn.execute(
                sessions.update()
                .where(sessions.c.session_id == row.session_id, sessions.c.revoked_at.is_(None))
                .values(last_seen_at=when)
            )
        last_seen = when
    actor = Actor(int(row.user_id), cast(Role, row.role))
    ends = _ends_at(row.expires_at, last_seen, row.idle_timeout_s)
    return LiveSession(actor, str(row.display_name), ends, as_utc(row.expires_at))


def end_session(engine: sa.Engine, token: str) -> bool:
    """Sign out: end the session of ``token`` (on every process). False when it had ended."""
    with writing(engine) as conn:
        row = conn.execute(
            sa.select(sessions.c.session_id, sessions.c.user_id, users.c.role)
            .join(users, users.c.user_id == sessions.c.user_id)
            .where(sessions.c.token_hash == token_hash(token), sessions.c.revoked_at.is_(None))
        ).first()
        if row is None:
            return False
        conn.execute(
            sessions.update()
            .where(sessions.c.session_id == row.session_id)
            .values(revoked_at=now(), revoked_reason="signed out")
        )
        record(conn, Actor(int(row.user_id), cast(Role, row.role)), "sign_out", "session",
               row.session_id)
    return True


def revoke_user_sessions(conn: sa.Connection, actor: Actor, user_id: int, reason: str) -> int:
    """End every open session of ``user_id`` inside the caller's transaction (audited with
    ``reason`` when there was one); the number ended."""
    ended = conn.execute(
        sessions.update()
        .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now(), revoked_reason=reason[:32])
    ).rowcount
    if ended:
        record(conn, actor, "revoke", "sessions", user_id, after={"reason": reason, "ended": ended})
    return int(ended)


def revoke_sessions(engine: sa.Engine, actor: Actor, user_id: int) -> int:
    """End every session of ``user_id`` (the local operator only); the number ended."""
    with writing(engine) as conn:
        require(can_operate(actor), actor, "revoke", "sessions", user_id)
        _require_user(conn, user_id)
        return revoke_user_sessions(conn, actor, user_id, "revoked by the operator")


SESSIONS_SCHEMA: dict[str, pl.DataType] = {
    "provider": pl.String(),
    "client": pl.String(),
    "created_at": pl.Datetime("us", "UTC"),
    "last_seen_at": pl.Datetime("us", "UTC"),
    "ends_at": pl.Datetime("us", "UTC"),
    "state": pl.String(),
}


def list_sessions(
    engine: sa.Engine, actor: Actor, user_id: int, *, at: datetime | None = None
) -> pl.DataFrame:
    """The sessions of ``user_id`` for the local operator, newest first: ``provider, client,
    created_at, last_seen_at, ends_at`` (when it ended or will end at the latest) and ``state``
    (``active``, ``signed out``, ``revoked: REASON``, ``expired``, ``idle``). Never an id."""
    when = at or now()
    with reading(engine) as conn:
        require(can_operate(actor), actor, "list", "sessions", user_id)
        _require_user(conn, user_id)
        rows = conn.execute(
            sa.select(sessions)
            .where(sessions.c.user_id == user_id)
            .order_by(sessions.c.created_at.desc(), sessions.c.session_id.desc())
        ).all()
    out = []
    for r in rows:
        ends = _ends_at(r.expires_at, r.last_seen_at, r.idle_timeout_s)
        if r.revoked_at is not None:
            state = "signed out" if r.revoked_reason == "signed out" else (
                f"revoked: {r.revoked_reason}")
            ends = min(ends, as_utc(r.revoked_at))
        elif when >= as_utc(r.expires_at):
            state = "expired"
        elif when >= ends:
            state = "idle"
        else:
            state = "active"
        seen = as_utc(r.last_seen_at)
        out.append((r.provider, r.client, as_utc(r.created_at), seen, ends, state))
    return pl.DataFrame(out, schema=SESSIONS_SCHEMA, orient="row")


def _require_user(conn: sa.Connection, user_id: int) -> None:
    found = conn.execute(sa.select(users.c.user_id).where(users.c.user_id == user_id)).first()
    if found is None:
        raise NotFound(f"no user has the id {user_id}")
