"""Local sign-in: the argon2 check, the same work for an unknown username, and a growing delay
after failed attempts per username and per client.

:func:`authenticate` answers an unknown username, an account without a local password and a
wrong password alike: the same argon2 verification (against a dummy hash made once per process
for the first two), the same message, the same bookkeeping. Failures are counted per key (the
username, and the client address) in ``login_failures``; a key's count restarts after
:data:`WINDOW` without a failure. Once a key has failed :data:`FREE_FAILURES` times (per
username) or :data:`FREE_CLIENT_FAILURES` times (per client), every further failure locks it for
twice as long as the one before, from 1 second up to :data:`MAX_DELAY`; a locked key is refused
without checking the password (:class:`SignInThrottled`, the same for an unknown username).

The audit log gets failures aggregated: a line per client (and per existing account) when its
count in the window reaches 1, 2, 4, 8, … with the count so far, so that anonymous failures
add at most a logarithmic number of lines per client and window, never one per attempt.
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from evalpanel.store.audit import Actor, now
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import PermissionDenied
from evalpanel.store.sessions import as_utc
from evalpanel.store.tables import audit_log, identities, login_failures, users
from evalpanel.vocab import Role

LOCAL = "local"
FREE_FAILURES = 3
FREE_CLIENT_FAILURES = 10
MAX_DELAY = timedelta(minutes=15)
WINDOW = timedelta(hours=1)
REFUSED = "unknown username or wrong password"
hasher = PasswordHasher()


class SignInThrottled(PermissionDenied):
    """Too many failed sign-ins for this username or from this client; retry after
    ``retry_after_s`` seconds."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"too many failed sign-ins for this username or from this address; "
            f"try again in {retry_after_s} s"
        )
        self.retry_after_s = retry_after_s


class AccountDisabled(PermissionDenied):
    """The password was right but the operator disabled the account."""


@functools.cache
def dummy_hash() -> str:
    """An argon2 hash of a random password nobody knows, with the hasher's parameters, so an
    unknown username costs the same verification as a known one (made once per process)."""
    return hasher.hash(secrets.token_urlsafe(32))


def failure_key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _delay(failures: int, free: int) -> timedelta | None:
    """The lock after the ``failures``-th failure: none up to ``free``, then 1 s, 2 s, 4 s …"""
    if failures < free:
        return None
    return min(timedelta(seconds=2 ** min(failures - free, 20)), MAX_DELAY)


def locked_for(conn: sa.Connection, keys: list[str], when: datetime) -> int:
    """Seconds until every key of ``keys`` may try again (0: none is locked)."""
    rows = conn.execute(
        sa.select(login_failures.c.locked_until).where(
            login_failures.c.key_hash.in_(keys), login_failures.c.locked_until.is_not(None)
        )
    ).all()
    waits = [(as_utc(r.locked_until) - when).total_seconds() for r in rows]
    return max([0, *(math.ceil(w) for w in waits if w > 0)])


def count_failure(conn: sa.Connection, key: str, kind: str, free: int, when: datetime) -> int:
    """Add one failure to ``key``, lock it as its count says; the count in the window."""
    row = conn.execute(
        sa.select(login_failures.c.failures, login_failures.c.last_failure_at).where(
            login_failures.c.key_hash == key
        )
    ).first()
    fresh = row is None or when - as_utc(row.last_failure_at) >= WINDOW
    failures = 1 if fresh or row is None else int(row.failures) + 1
    delay = _delay(failures, free)
    values = {
        "failures": failures,
        "last_failure_at": when,
        "locked_until": None if delay is None else when + delay,
    }
    if row is None:
        conn.execute(
            login_failures.insert().values(key_hash=key, kind=kind, window_start=when, **values)
        )
    else:
        if fresh:
            values["window_start"] = when
        conn.execute(
            login_failures.update().where(login_failures.c.key_hash == key).values(**values)
        )
    return failures


def audit_failure(
    conn: sa.Connection,
    when: datetime,
    entity: str,
    entity_id: str,
    failures: int,
    *,
    actor: Actor | None = None,
    action: str = "login_failed",
    **extra: object,
) -> None:
    """An audit line for the ``failures``-th failure of a key, only at counts 1, 2, 4, 8 …
    (a bounded number of lines per key and window); by ``actor``, else anonymous."""
    if failures & (failures - 1):
        return
    conn.execute(
        audit_log.insert().values(
            at=when,
            user_id=None if actor is None else actor.user_id,
            role="anonymous" if actor is None else actor.role,
            action=action,
            entity=entity,
            entity_id=entity_id[:255],
            after={"failures_in_window": failures, **extra},
        )
    )


def authenticate(
    engine: sa.Engine,
    username: str,
    password: str,
    *,
    client: str = "local",
    at: datetime | None = None,
) -> Actor:
    """The actor of a local login from ``client`` (an address, or ``"local"``). An unknown
    username, an account without a password and a wrong password all raise
    :class:`PermissionDenied` with one message after the same argon2 work; a locked username
    or client raises :class:`SignInThrottled`; a disabled account with the right password
    raises :class:`AccountDisabled`."""
    when = at or now()
    user_key, client_key = failure_key("user", username), failure_key("client", client)
    with reading(engine) as conn:
        wait = locked_for(conn, [user_key, client_key], when)
        row = conn.execute(
            sa.select(
                users.c.user_id, users.c.role, users.c.disabled_at, identities.c.password_hash
            )
            .join(identities, identities.c.user_id == users.c.user_id)
            .where(identities.c.provider == LOCAL, identities.c.subject == username)
        ).first()
    if wait:
        raise SignInThrottled(wait)
    stored = row.password_hash if row is not None and row.password_hash else None
    try:
        ok = hasher.verify(stored or dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if ok and row is not None:
        with writing(engine) as conn:
            conn.execute(login_failures.delete().where(login_failures.c.key_hash == user_key))
            if row.disabled_at is not None:
                conn.execute(
                    audit_log.insert().values(
                        at=when, user_id=int(row.user_id), role=row.role,
                        action="denied:log in as", entity="user", entity_id=str(row.user_id),
                        after={"reason": "the account is disabled", "client": client[:255]},
                    )
                )
        if row.disabled_at is not None:
            raise AccountDisabled(
                "this account is disabled; ask the operator (evalpanel user enable)"
            )
        return Actor(int(row.user_id), cast(Role, row.role))
    with writing(engine) as conn:
        conn.execute(
            login_failures.delete().where(
                login_failures.c.last_failure_at < when - WINDOW,
                sa.or_(
                    login_failures.c.locked_until.is_(None), login_failures.c.locked_until < when
                ),
            )
        )
        per_user = count_failure(conn, user_key, "user", FREE_FAILURES, when)
        per_client = count_failure(conn, client_key, "client", FREE_CLIENT_FAILURES, when)
        audit_failure(conn, when, "client", client, per_client)
        if row is not None:
            audit_failure(conn, when, "user", str(row.user_id), per_user, client=client[:255])
    raise PermissionDenied(REFUSED)
