"""The pages of the one-time links, shown before sign-in.

- ``?invite=TOKEN`` (an expert invited by a call manager, :mod:`evalpanel.store.invitations`):
  the expert sets a password, or links their organisation's sign-in when OIDC is configured,
  and lands on their queue, signed in. The provider sends the browser back to the bare address,
  so the page keeps the token in a short-lived cookie (:func:`dashboard.auth.
  set_invite_cookie_script`) before the trip and finds it there on the way back, while the
  OIDC login is there; it is removed once used, refused, or once anyone is signed in.
- ``?rehearsal=TOKEN`` (a colleague invited to a rehearsal,
  :mod:`evalpanel.store.rehearsal_invites`): the colleague makes a scorer account and lands
  signed in; a signed-in applicant joins with their own account.

A used, expired or unknown token gets a clear message and nothing else. The token leaves the
address as soon as it is used, so a reload or a shared screen does not show it again.
"""

from __future__ import annotations

import sqlalchemy as sa
import streamlit as st

from dashboard import login
from dashboard.auth import (
    Session,
    clear_invite_cookie_script,
    invite_cookie_token,
    set_invite_cookie_script,
)
from dashboard.text import md
from evalpanel.store import StoreError
from evalpanel.store.invitations import (
    INVITE_PARAM,
    pending_invitation,
    redeem_invitation,
    redeem_invitation_oidc,
)
from evalpanel.store.rehearsal_invites import (
    PASSWORD_MIN,
    REHEARSAL_PARAM,
    join_as_new_scorer,
    join_rehearsal,
    peek_invitation,
)

NOTE = "link_note"  # a message for the first page after a link was used
DROPPED = "invite_cookie_dropped"  # the kept token this tab no longer uses (cookie going away)


def _token(param: str) -> str | None:
    value = st.query_params.get(param)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _drop(param: str) -> None:
    if param in st.query_params:
        del st.query_params[param]


def _kept_token() -> str | None:
    """The invitation token kept across the trip to the OIDC provider, while its login is
    there (see the module docstring)."""
    token = invite_cookie_token()
    if token is None or token == st.session_state.get(DROPPED) or not login._oidc_logged_in():
        return None
    return token


def _invite_token() -> str | None:
    return _token(INVITE_PARAM) or _kept_token()


def _forget_kept() -> None:
    """Stop using the kept token in this tab and remove its cookie."""
    token = invite_cookie_token()
    if token is not None:
        st.session_state[DROPPED] = token
        st.html(clear_invite_cookie_script(), unsafe_allow_javascript=True)


def show_note() -> None:
    """The message a used link left for the first page (called on every signed-in run)."""
    if NOTE in st.session_state:
        st.success(st.session_state.pop(NOTE))


def signed_in(engine: sa.Engine, current: Session) -> None:
    """A link opened while signed in: a rehearsal link joins an applicant; anything else is
    explained, and the token leaves the address (and a kept invitation token its cookie)."""
    if invite_cookie_token() is not None:
        st.html(clear_invite_cookie_script(), unsafe_allow_javascript=True)
    if token := _token(REHEARSAL_PARAM):
        _drop(REHEARSAL_PARAM)
        try:
            rid = join_rehearsal(engine, current.actor, token)
        except StoreError as exc:
            st.error(md(exc))
        else:
            st.session_state[NOTE] = (f"You joined rehearsal {rid} as a scorer: open "
                                      "Score a rehearsal.")
    if _token(INVITE_PARAM):
        _drop(INVITE_PARAM)
        st.info(f"You are signed in as {md(current.name)}; an invitation link is for someone "
                "not signed in yet. Sign out first to use it.")


def pending_link() -> bool:
    """Whether the address carries a link's token, or the browser kept an invitation's across
    the OIDC sign-in (before sign-in)."""
    return _invite_token() is not None or _token(REHEARSAL_PARAM) is not None


def link_page() -> None:
    """The page of the link in the address (before sign-in)."""
    from dashboard.common import engine

    eng = engine()
    left, _ = st.columns([2, 3])
    with left:
        if (token := _invite_token()) is not None:
            _expert_page(eng, token)
        elif (token := _token(REHEARSAL_PARAM)) is not None:
            _rehearsal_page(eng, token)


def _refused(message: object) -> None:
    st.error(md(message))
    st.caption("Already have an account? Sign in instead.")
    if st.button("Go to the sign-in page"):
        _drop(INVITE_PARAM)
        _drop(REHEARSAL_PARAM)
        _forget_kept()
        st.rerun()


def _expert_page(engine: sa.Engine, token: str) -> None:
    st.title("Welcome to the evaluation")
    try:
        pending = pending_invitation(engine, token)
    except StoreError as exc:
        _refused(exc)
        return
    st.markdown(f"Dear {md(pending.name)}, you are invited to evaluate proposals in the call "
                f"**{md(pending.call_title)}**. Your username is **{md(pending.username)}**.")
    st.caption(f"This link works once and expires on {pending.expires_at.date().isoformat()}.")
    if login._oidc_configured():
        _expert_oidc(engine, token)
        st.divider()
        st.markdown("Or set a password for this dashboard:")
    with st.form("set_password"):
        first = st.text_input("Choose a password", type="password",
                              help=f"At least {PASSWORD_MIN} characters.")
        second = st.text_input("Repeat the password", type="password")
        chosen = st.form_submit_button("Set my password and open my queue", type="primary")
    if not chosen:
        return
    if first != second:
        st.error("The two passwords differ; type the same password twice.")
        return
    try:
        actor = redeem_invitation(engine, token, first)
        login._start(engine, actor, pending.username, "local")
    except StoreError as exc:
        st.error(md(exc))
        return
    _drop(INVITE_PARAM)
    st.session_state[NOTE] = "Your password is set. This is your queue."
    st.rerun()


def _expert_oidc(engine: sa.Engine, token: str) -> None:
    if not login._oidc_logged_in():
        # kept for the way back from the provider, which returns to the bare address
        st.html(set_invite_cookie_script(token), unsafe_allow_javascript=True)
        st.markdown("Sign in with your organisation's account; you come back here to link "
                    "that account to your invitation.")
        if st.button("Sign in with your organisation (OIDC)"):
            st.login()
        return
    issuer, subject = str(st.user.get("iss", "")), str(st.user.get("sub", ""))
    shown = st.user.get("email") or subject
    if st.button(f"Link my organisation's account ({md(shown)}) and open my queue",
                 type="primary"):
        try:
            actor = redeem_invitation_oidc(engine, token, issuer, subject)
            login._start(engine, actor, str(st.user.get("name") or shown), f"oidc:{issuer}")
        except StoreError as exc:
            st.error(md(exc))
            return
        _drop(INVITE_PARAM)
        st.session_state.pop("oidc_error", None)  # "not linked" no longer holds
        st.session_state[DROPPED] = token
        st.session_state[NOTE] = "Your organisation's account is linked. This is your queue."
        st.rerun()


def _rehearsal_page(engine: sa.Engine, token: str) -> None:
    st.title("Join a mock evaluation")
    try:
        invitation = peek_invitation(engine, token)
    except StoreError as exc:
        _refused(exc)
        return
    st.markdown(f"{md(invitation.invited_by)} invites you to score the draft proposal "
                f"**{md(invitation.title)}** blind, as an expert of the call would. Make a "
                "scorer account to join; you can sign in with it again later.")
    st.caption("Already have an applicant account? Sign in, then open this link again.")
    with st.form("join_rehearsal"):
        name = st.text_input("Your name", help="As the colleague who invited you knows you.")
        first = st.text_input("Choose a password", type="password",
                              help=f"At least {PASSWORD_MIN} characters.")
        second = st.text_input("Repeat the password", type="password")
        chosen = st.form_submit_button("Join and score", type="primary")
    if not chosen:
        return
    if first != second:
        st.error("The two passwords differ; type the same password twice.")
        return
    try:
        actor, username, rid = join_as_new_scorer(engine, token, name, first)
        login._start(engine, actor, username, "local")
    except StoreError as exc:
        st.error(md(exc))
        return
    _drop(REHEARSAL_PARAM)
    st.session_state[NOTE] = (f"You joined rehearsal {rid}. Your username is {username}: keep "
                              "it to sign in again. Open Score a rehearsal to score it.")
    st.rerun()
