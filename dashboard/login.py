"""The sign-in page, the restoring of a session from its token, and the sidebar.

OIDC sign-in (Streamlit's ``st.login``) is offered when the secrets hold an ``[auth]`` section:
start the server with ``evalpanel dashboard --secrets FILE`` (or put the file at
``.streamlit/secrets.toml``); the keys are in :mod:`evalpanel.commands.dashboard`. After the
provider's redirect, ``st.user`` holds the id token's claims; its ``iss`` and ``sub`` select the
account the operator linked with ``evalpanel user link-oidc USERNAME ISSUER SUBJECT`` (ISSUER
exactly the token's ``iss``, SUBJECT its ``sub``; stored as provider ``"oidc:" + iss``). An
identity that is not linked gets an error and no access. Signing out ends the dashboard session
and, for an OIDC login, Streamlit's login cookie too (``st.logout``, which also calls the
provider's ``end_session_endpoint`` when it has one).
"""

from __future__ import annotations

import sqlalchemy as sa
import streamlit as st

from dashboard.auth import Session, make_token, read_token, server_secret
from dashboard.text import md, plain
from evalpanel.store import (
    USERNAME_MAX,
    NotFound,
    PermissionDenied,
    authenticate,
    is_demo_database,
    list_calls,
)
from evalpanel.store.accounts import actor_for_identity

TOKEN_PARAM = "session"


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _start(engine: sa.Engine, found: Session) -> None:
    st.session_state["session"] = found
    st.session_state["token"] = make_token(server_secret(engine), found)
    st.query_params[TOKEN_PARAM] = st.session_state["token"]


def current_session(engine: sa.Engine) -> Session | None:
    """The session of this browser tab: kept in session state, else restored from the URL's
    token (a page reload), else from a verified OIDC login."""
    found = st.session_state.get("session")
    if isinstance(found, Session):
        # Page switches drop query parameters; keep the token in the URL for reloads.
        if st.query_params.get(TOKEN_PARAM) != st.session_state.get("token"):
            st.query_params[TOKEN_PARAM] = st.session_state["token"]
        return found
    token = st.query_params.get(TOKEN_PARAM)
    if token:
        restored = read_token(server_secret(engine), token)
        if restored is not None:
            st.session_state["session"] = restored
            st.session_state["token"] = token
            return restored
        del st.query_params[TOKEN_PARAM]
    if _oidc_configured() and st.user.get("is_logged_in"):
        issuer, subject = str(st.user.get("iss", "")), str(st.user.get("sub", ""))
        try:
            actor = actor_for_identity(engine, f"oidc:{issuer}", subject)
        except NotFound:
            st.session_state["oidc_error"] = (
                f"Your sign-in ({md(st.user.get('email', subject))}) is not "
                "linked to an evalpanel account. Ask the operator to link it, then sign in again.")
            return None
        name = str(st.user.get("name") or st.user.get("email") or subject)
        _start(engine, Session(actor, name))
        return st.session_state["session"]  # type: ignore[no-any-return]
    return None


def login_page() -> None:
    from dashboard.common import engine

    eng = engine()
    st.title("evalpanel")
    st.caption("Evaluation scoring and reviewer assignment for competitive grant calls")
    left, _ = st.columns([2, 3])
    with left:
        if "oidc_error" in st.session_state:
            st.error(st.session_state.pop("oidc_error"))
        with st.form("login"):
            username = st.text_input("Username", max_chars=USERNAME_MAX)
            password = st.text_input("Password", type="password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if submitted:
            try:
                if len(username.strip()) > USERNAME_MAX:  # no account has a longer name
                    raise PermissionDenied("unknown username or wrong password")
                actor = authenticate(eng, username.strip(), password)
            except PermissionDenied:
                st.error("Unknown username or wrong password.")
            else:
                _start(eng, Session(actor, username.strip()))
                st.rerun()
        if _oidc_configured():
            st.divider()
            if st.button("Sign in with your organisation (OIDC)"):
                st.login()
        if is_demo_database(eng):
            st.info("Demo database: sign in as `manager`, `expert1`, `expert2`, … or "
                    "`applicant`; the password is `demo`.")


def sign_out() -> None:
    for key in ("session", "token", "call_id"):
        st.session_state.pop(key, None)
    if TOKEN_PARAM in st.query_params:
        del st.query_params[TOKEN_PARAM]
    if _oidc_configured() and st.user.get("is_logged_in"):
        st.logout()


def sidebar(engine: sa.Engine, current: Session) -> None:
    """Who is signed in, the call to work on (managers and experts), and signing out."""
    with st.sidebar:
        st.markdown(f"**{md(current.name)}** · {current.actor.role}")
        if current.actor.role in ("manager", "expert"):
            calls = list_calls(engine, current.actor)
            ids = calls["call_id"].to_list()
            if ids:
                titles = dict(zip(ids, calls["title"].to_list(), strict=True))
                chosen = st.session_state.get("call_id")
                if chosen not in ids:
                    chosen = ids[0]
                # Not bound to a widget key: widget state does not survive every page switch.
                st.session_state["call_id"] = st.selectbox(
                    "Call", ids, index=ids.index(chosen), format_func=lambda c: plain(titles[c]))
            else:
                st.session_state["call_id"] = None
        st.button("Sign out", on_click=sign_out, icon=":material/logout:")
