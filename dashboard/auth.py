"""Sign-in for the dashboard: local accounts, OIDC through ``st.login``, and session tokens.

A session token lets a login survive a page reload: it is kept in the URL (``?session=``) and
verified server-side on every new session. Token = base64url(JSON payload) "." base64url(HMAC
SHA-256 of the payload); payload ``{"u": user id, "r": role, "n": display name, "e": expiry
(Unix seconds)}``. The HMAC key is a random 32-byte secret kept in the database ``settings``
table (made on first use), or ``$EVALPANEL_SESSION_SECRET`` when set; none is in the code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from evalpanel.store import Actor, reading, writing
from evalpanel.store.tables import settings

SECRET_KEY = "dashboard_session_secret"
SECRET_ENV = "EVALPANEL_SESSION_SECRET"
TOKEN_TTL_S = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in user: the actor the services are called with and a name to show."""

    actor: Actor
    name: str


def server_secret(engine: sa.Engine) -> bytes:
    """The HMAC key of session tokens (created in the ``settings`` table on first use)."""
    env = os.environ.get(SECRET_ENV, "")
    if env:
        return env.encode()
    stmt = sa.select(settings.c.value).where(settings.c.key == SECRET_KEY)
    with reading(engine) as conn:
        value = conn.execute(stmt).scalar()
    if value is None:
        try:
            with writing(engine) as conn:
                conn.execute(settings.insert().values(key=SECRET_KEY,
                                                      value=secrets.token_hex(32)))
        except sa.exc.IntegrityError:
            pass  # another server process made it first
        with reading(engine) as conn:
            value = conn.execute(stmt).scalar()
    return bytes.fromhex(str(value))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: bytes, session: Session, *, now: float | None = None) -> str:
    """A signed token for ``session``, valid for :data:`TOKEN_TTL_S` seconds."""
    payload = {"u": session.actor.user_id, "r": session.actor.role, "n": session.name,
               "e": int((time.time() if now is None else now) + TOKEN_TTL_S)}
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    sig = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}"


def read_token(secret: bytes, token: str, *, now: float | None = None) -> Session | None:
    """The session of a valid, unexpired token; None for anything else."""
    body, _, sig = token.partition(".")
    expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    if not sig or not hmac.compare_digest(sig, expected):
        return None
    try:
        payload: dict[str, Any] = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    if payload.get("e", 0) < (time.time() if now is None else now):
        return None
    if payload.get("r") not in ("manager", "expert", "applicant"):
        return None
    if not isinstance(payload.get("u"), int):
        return None
    return Session(Actor(payload["u"], payload["r"]), str(payload.get("n", "")))
