"""The sign-in page, the session of each run, and the sidebar.

Every run of the app resumes the browser's server-side session (:mod:`evalpanel.store.sessions`)
from the id kept in this tab's state, or, after a reload or in a new tab, from the session
cookie (:mod:`dashboard.auth`); the role comes from the database on every run. An id that is
unknown, signed out, revoked, expired or idle too long lands on the sign-in page with a short
notice, and its cookie is removed. Sign-in mints a new id every time.

OIDC sign-in (Streamlit's ``st.login``) is offered when the secrets hold an ``[auth]`` section:
start the server with ``evalpanel dashboard --secrets FILE`` (or put the file at
``.streamlit/secrets.toml``); the keys are in :mod:`evalpanel.commands.dashboard`. After the
provider's redirect, ``st.user`` holds the id token's claims; its ``iss`` and ``sub`` select the
account the operator linked with ``evalpanel user link-oidc USERNAME ISSUER SUBJECT`` (ISSUER
exactly the token's ``iss``, SUBJECT its ``sub``; stored as provider ``"oidc:" + iss``). An
identity that is not linked, or a disabled account, gets an error and no access. Signing out
ends the dashboard session and, for an OIDC login, Streamlit's login cookie too (``st.logout``,
which also calls the provider's ``end_session_endpoint`` when it has one); so does a session
that ended otherwise (revoked by the operator, say), so that Streamlit's cookie does not sign
the user straight back in.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa
import streamlit as st

from dashboard.auth import (
    Session,
    clear_cookie_script,
    client_address,
    cookie_token,
    set_cookie_script,
    well_formed,
)
from dashboard.context import pick_call
from dashboard.text import md
from evalpanel.store import (
    USERNAME_MAX,
    AccountDisabled,
    Actor,
    NotFound,
    PermissionDenied,
    SessionEnded,
    SignInThrottled,
    StoreError,
    authenticate,
    end_session,
    is_demo_database,
    list_calls,
    resume_session,
    start_session,
)
from evalpanel.store.accounts import actor_for_identity
from evalpanel.store.logins import dummy_hash
from evalpanel.store.sessions import Ending, SessionPolicy

_warming: list[threading.Thread] = []
LEGACY_PARAM = "session"  # the former signed token in the URL: removed wherever it shows up
NOTICES: dict[Ending, str] = {
    "unknown": "That session is not valid. Sign in again.",
    "signed out": "This session was signed out. Sign in again.",
    "revoked": "Your session was ended (a change to your account, or by the operator). "
    "Sign in again.",
    "expired": "Your session has expired. Sign in again.",
    "idle": "Your session ended after a while without activity. Sign in again.",
    "disabled": "This account is disabled. Ask the operator.",
}


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _start(engine: sa.Engine, actor: Actor, name: str, provider: str) -> None:
    """A new server-side session (a new id at every sign-in) for this tab and its cookie."""
    token = start_session(engine, actor, name, provider=provider, client=client_address(),
                          policy=SessionPolicy.from_env())
    st.session_state["session_token"] = token
    st.session_state.pop("ended_token", None)


def _end(token: str, reason: Ending) -> None:
    """Forget this tab's session (its id is kept to remove the cookie and to ignore the
    connection's stale copy of it) and leave a notice for the sign-in page."""
    for key in ("session", "session_token", "call_id"):
        st.session_state.pop(key, None)
    st.session_state["ended_token"] = token
    st.session_state["notice"] = NOTICES[reason]


def current_session(engine: sa.Engine) -> Session | None:
    """The session of this run, resumed from the database (role as stored now): from this
    tab's state, else the browser's cookie (a reload, a new tab), else a verified OIDC login."""
    if LEGACY_PARAM in st.query_params:
        del st.query_params[LEGACY_PARAM]
    token = st.session_state.get("session_token")
    if not well_formed(token):
        token = cookie_token()
        if token is not None and token == st.session_state.get("ended_token"):
            token = None
    if token is not None:
        try:
            live = resume_session(engine, token)
        except SessionEnded as ended:
            _end(token, ended.reason)
            if _oidc_logged_in():
                st.logout()
            return None
        found = Session(live.actor, live.name)
        st.session_state["session"] = found
        st.session_state["session_token"] = token
        st.session_state["session_expires_at"] = live.expires_at
        return found
    st.session_state.pop("session", None)
    if _oidc_logged_in():
        issuer, subject = str(st.user.get("iss", "")), str(st.user.get("sub", ""))
        try:
            actor = actor_for_identity(engine, f"oidc:{issuer}", subject)
        except NotFound:
            st.session_state["oidc_error"] = (
                f"Your sign-in ({md(st.user.get('email', subject))}) is not "
                "linked to an evalpanel account. Ask the operator to link it, then sign in again.")
            return None
        except PermissionDenied:
            st.session_state["oidc_error"] = NOTICES["disabled"]
            return None
        name = str(st.user.get("name") or st.user.get("email") or subject)
        try:
            _start(engine, actor, name, f"oidc:{issuer}")
        except PermissionDenied:
            st.session_state["oidc_error"] = NOTICES["disabled"]
            return None
        return current_session(engine)
    return None


def _oidc_logged_in() -> bool:
    return _oidc_configured() and bool(st.user.get("is_logged_in"))


def carry_session() -> None:
    """Keep the browser's cookie on the current session (called on every signed-in run)."""
    token = st.session_state.get("session_token")
    ends = st.session_state.get("session_expires_at")
    if well_formed(token) and ends is not None:
        st.html(set_cookie_script(str(token), ends), unsafe_allow_javascript=True)


def login_page() -> None:
    from dashboard.common import engine

    eng = engine()
    st.title("evalpanel")
    st.caption("Evaluation scoring and reviewer assignment for competitive grant calls")
    left, _ = st.columns([2, 3])
    with left:
        ended = st.session_state.get("ended_token")
        if well_formed(ended):
            st.html(clear_cookie_script(str(ended)), unsafe_allow_javascript=True)
        if "notice" in st.session_state:
            st.info(st.session_state.pop("notice"))
        if "oidc_error" in st.session_state:
            st.error(st.session_state.pop("oidc_error"))
        with st.form("login"):
            username = st.text_input("Username", max_chars=USERNAME_MAX)
            password = st.text_input("Password", type="password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if not _warming:  # the dummy hash, made before the first attempt needs it
            _warming.append(threading.Thread(target=dummy_hash, daemon=True))
            _warming[0].start()
        if submitted:
            name = username.strip()
            try:
                if len(name) > USERNAME_MAX:  # no account has a longer name
                    raise PermissionDenied("unknown username or wrong password")
                actor = authenticate(eng, name, password, client=client_address())
                _start(eng, actor, name, "local")
            except SignInThrottled as exc:
                st.error(f"Too many failed sign-ins for this username or from this address. "
                         f"Try again in {exc.retry_after_s} seconds.")
            except AccountDisabled:
                st.error(NOTICES["disabled"])
            except PermissionDenied:
                st.error("Unknown username or wrong password.")
            except StoreError as exc:  # e.g. a malformed $EVALPANEL_SESSION_IDLE_SECONDS
                st.error(f"The server cannot start sessions: {exc}. Tell the operator.")
            else:
                st.rerun()
        if _oidc_configured():
            st.divider()
            if st.button("Sign in with your organisation (OIDC)"):
                st.login()
        if is_demo_database(eng):
            st.info("Demo database: sign in as `manager`, `expert1`, `expert2`, … or "
                    "`applicant`; the password is `demo`.")


def sign_out() -> None:
    """End this tab's session on every dashboard process, and the OIDC login with it."""
    from dashboard.common import engine

    token = st.session_state.get("session_token")
    if well_formed(token):
        end_session(engine(), str(token))
        _end(str(token), "signed out")
        st.session_state["notice"] = "You have signed out."
    if _oidc_logged_in():
        st.logout()


def sidebar(engine: sa.Engine, current: Session) -> None:
    """Who is signed in, the call to work on (managers and experts), and signing out."""
    with st.sidebar:
        st.markdown(f"**{md(current.name)}** · {current.actor.role}")
        if current.actor.role in ("manager", "expert"):
            pick_call(list_calls(engine, current.actor))
        st.button("Sign out", on_click=sign_out, icon=":material/logout:")
        carry_session()
