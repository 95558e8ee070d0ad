"""What the dashboard keeps of a sign-in, and how the browser carries the session id.

The session itself lives in the database (:mod:`evalpanel.store.sessions`): a random opaque id,
stored only as its hash, checked on every run of the app, with the role read from the database
each time. The browser carries the id in a first-party cookie, ``evalpanel_session``
(``Path=/; SameSite=Strict``, ``Secure`` over HTTPS, expiring with the session's absolute
lifetime), never in the URL: a URL ends up in the browser history, in bookmarks, in copied
links and in proxy logs. Streamlit reads cookies (``st.context.cookies``, sent with the page's
connection) but sets none outside ``st.login``, so the page sets it with a small script
(``st.html(..., unsafe_allow_javascript=True)``), and removes it the same way at sign-out. The
script's only input is the id the server just made; no outside text reaches it.

The client address used to limit failed sign-ins is ``st.context.ip_address`` (``"local"`` for
a loopback connection). Behind a reverse proxy set ``$EVALPANEL_CLIENT_IP_HEADER`` to the
header the proxy writes (e.g. ``X-Forwarded-For``; its last entry, the one the proxy added, is
taken); never set it without such a proxy, since a browser can send any header.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import streamlit as st

from evalpanel.store import Actor

COOKIE = "evalpanel_session"
INVITE_COOKIE = "evalpanel_invite"  # an expert's invitation token across the OIDC sign-in
INVITE_COOKIE_SECONDS = 900
CLIENT_HEADER_ENV = "EVALPANEL_CLIENT_IP_HEADER"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in user: the actor the services are called with and a name to show."""

    actor: Actor
    name: str


def well_formed(token: object) -> bool:
    """Whether ``token`` looks like a session id at all (``secrets.token_urlsafe`` text)."""
    return isinstance(token, str) and _TOKEN.fullmatch(token) is not None


def cookie_token() -> str | None:
    """The session id the browser sent with this connection, if any."""
    value = st.context.cookies.get(COOKIE)
    return value if well_formed(value) else None


def client_address() -> str:
    """Who is signing in, for the failed-attempt limits (see the module docstring)."""
    header = os.environ.get(CLIENT_HEADER_ENV, "").strip()
    if header:
        value = st.context.headers.get(header, "")
        last = value.split(",")[-1].strip() if isinstance(value, str) else ""
        if last:
            return last[:255]
    address = st.context.ip_address
    return address[:255] if isinstance(address, str) and address else "local"


def set_cookie_script(token: str, ends_at: datetime) -> str:
    """A script that stores ``token`` in the session cookie until ``ends_at``."""
    if not well_formed(token):
        raise ValueError("not a session id")
    expires = ends_at.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    cookie = json.dumps(f"{COOKIE}={token}; Path=/; SameSite=Strict; expires={expires}")
    return (
        "<script>(function(){var s=location.protocol==='https:'?'; Secure':'';"
        f"document.cookie={cookie}+s;}})();</script>"
    )


def clear_cookie_script(token: str) -> str:
    """A script that removes the session cookie if it still holds ``token`` (a newer sign-in
    in another tab keeps its own)."""
    if not well_formed(token):
        raise ValueError("not a session id")
    return (
        "<script>(function(){"
        f"if(document.cookie.split('; ').indexOf({json.dumps(f'{COOKIE}={token}')})>=0)"
        f"{{document.cookie={json.dumps(f'{COOKIE}=; Path=/; SameSite=Strict; Max-Age=0')};}}"
        "})();</script>"
    )


def invite_cookie_token() -> str | None:
    """The invitation token the browser kept across a trip to the OIDC provider, if any."""
    value = st.context.cookies.get(INVITE_COOKIE)
    return value if well_formed(value) else None


def set_invite_cookie_script(token: str) -> str:
    """A script that keeps an invitation's token for :data:`INVITE_COOKIE_SECONDS`: the
    provider sends the browser back to the dashboard's bare address, without the link's
    query, and the invitation page needs the token again to link the identity."""
    if not well_formed(token):
        raise ValueError("not an invitation token")
    cookie = json.dumps(f"{INVITE_COOKIE}={token}; Path=/; SameSite=Strict; "
                        f"Max-Age={INVITE_COOKIE_SECONDS}")
    return (
        "<script>(function(){var s=location.protocol==='https:'?'; Secure':'';"
        f"document.cookie={cookie}+s;}})();</script>"
    )


def clear_invite_cookie_script() -> str:
    """A script that removes the kept invitation token."""
    cookie = json.dumps(f"{INVITE_COOKIE}=; Path=/; SameSite=Strict; Max-Age=0")
    return f"<script>(function(){{document.cookie={cookie};}})();</script>"
