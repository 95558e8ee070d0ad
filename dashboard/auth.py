"""Sign-in for the dashboard: local accounts, OIDC through ``st.login``, and session tokens.

A session token lets a login survive a page reload: it is kept in the URL (``?session=``) and
verified server-side on every new session. Token = base64url(JSON payload) "." base64url(HMAC
SHA-256 of the payload); payload ``{"u": user id, "r": role, "n": display name, "e": expiry
(Unix seconds)}``. The HMAC key is the store's random server secret
(:func:`evalpanel.store.server_secret`, made once in the database), or
``$EVALPANEL_SESSION_SECRET`` when set; none is in the code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from evalpanel.store import Actor
from evalpanel.store import server_secret as stored_secret

SECRET_ENV = "EVALPANEL_SESSION_SECRET"
TOKEN_TTL_S = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in user: the actor the services are called with and a name to show."""

    actor: Actor
    name: str


def server_secret(engine: sa.Engine) -> bytes:
    """The HMAC key of session tokens: ``$EVALPANEL_SESSION_SECRET``, else the store's."""
    env = os.environ.get(SECRET_ENV, "")
    if env:
        return env.encode()
    return bytes.fromhex(stored_secret(engine))


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
