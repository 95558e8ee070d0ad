"""The call a page acts on: chosen in the sidebar, kept in the page address (``?call=ID``) so
that a reload or a shared link opens the same call, and shown at the top of every page.

One value decides: the address's ``call`` parameter when it names a call open to the user,
else the call this browser tab chose last (``st.session_state["call_id"]``; Streamlit drops the
parameter on a page switch), else the first call. The sidebar's selectbox is keyed and only
reports the user's choice through its callback, which writes both; it never passes ``index=``,
whose change would make it a new widget that drops the user's next choice.

Whatever a page keeps between runs for a call (a preview, a prepared download, form values)
lives under :func:`call_key`, so another call never shows it.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.text import md, plain

CALL_PARAM = "call"
CHOSEN = "call_id"
TITLE = "call_title"
PICKER = "sidebar_call"


def call_key(name: str, call_id: str) -> str:
    """The session-state key of ``name`` for ``call_id`` (e.g. ``batch:AFI-2026``)."""
    return f"{name}:{call_id}"


def select_call(call_id: str | None) -> None:
    """Make ``call_id`` the call of this tab: the session's choice and the address."""
    st.session_state[CHOSEN] = call_id
    if call_id is None:
        if CALL_PARAM in st.query_params:
            del st.query_params[CALL_PARAM]
    elif st.query_params.get(CALL_PARAM) != call_id:
        st.query_params[CALL_PARAM] = call_id


def _picked() -> None:
    select_call(st.session_state.get(PICKER))


def pick_call(calls: pl.DataFrame) -> None:
    """The sidebar's call selector over ``calls`` (``call_id, title``, the calls open to the
    signed-in user); settles the call of this run before any page reads it."""
    ids = [str(c) for c in calls["call_id"].to_list()]
    if not ids:
        select_call(None)
        st.session_state[TITLE] = None
        return
    titles = dict(zip(ids, (str(t) for t in calls["title"].to_list()), strict=True))
    asked = st.query_params.get(CALL_PARAM)
    kept = st.session_state.get(CHOSEN)
    if asked in ids:
        chosen = str(asked)
    else:
        chosen = str(kept) if kept in ids else ids[0]
        if asked:
            st.warning(f"The address names call {md(asked)}, which is not open to you; showing "
                       f"{md(chosen)}.")
    select_call(chosen)
    st.session_state[TITLE] = titles[chosen]
    # set before the widget is made (never after): the widget shows the settled call
    st.session_state[PICKER] = chosen
    st.selectbox("Call", ids, key=PICKER, on_change=_picked,
                 format_func=lambda c: f"{plain(titles[c])} ({plain(c)})")


def show_call() -> None:
    """The call the page acts on, above the page (nothing when the user has no call)."""
    chosen = st.session_state.get(CHOSEN)
    if chosen:
        title = st.session_state.get(TITLE) or chosen
        st.caption(f":material/folder_open: Call **{md(title)}** · {md(chosen)}")
