"""Rehearsals: create a mock evaluation from a scheme preset, describe the proposal, invite
colleagues (their accounts) to score it blind."""

from __future__ import annotations

import re

import streamlit as st

from dashboard.common import actor, attempt, bump, engine, session
from dashboard.text import md
from evalpanel.schemes import list_presets, load_scheme
from evalpanel.store import create_rehearsal, list_rehearsals, user_ids

st.title("Mock evaluation")
st.caption("Rehearse a proposal before the deadline: colleagues score it blind, like real "
           "experts, and the report shows every threshold, band and disagreement.")
if "rehearsal_note" in st.session_state:
    st.success(st.session_state.pop("rehearsal_note"))

mine = list_rehearsals(engine(), actor())
st.subheader("Your rehearsals")
if mine.is_empty():
    st.caption("None yet.")
else:
    st.dataframe(mine, hide_index=True)

st.subheader("New rehearsal")
presets = list(list_presets())
scheme_id = st.selectbox("Scheme", presets, format_func=lambda p: f"{p}: {load_scheme(p).title}")
scheme = load_scheme(scheme_id)
st.caption(f"{len(scheme.criteria)} criteria · pass mark {scheme.total_threshold:g} · "
           f"source: {scheme.source} ({scheme.status})")
with st.form("new_rehearsal"):
    title = st.text_input("Proposal title")
    description = st.text_area("Describe the proposal (what the scorers read)", height=160)
    invited = st.text_input("Invite colleagues (usernames, separated by commas)")
    include_me = st.checkbox("I score it too", value=True)
    create = st.form_submit_button("Create", type="primary")
if create:
    names = [n for n in re.split(r"[,;\s]+", invited) if n]
    found = attempt(user_ids, engine(), actor(), names) or {}
    missing = sorted(set(names) - set(found))
    if not title.strip():
        st.error("Give the proposal a title.")
    elif missing:
        st.error(f"No account named {md(', '.join(missing))}; check the usernames.")
    else:
        scorers = set(found.values()) | ({actor().user_id} if include_me else set())
        rid = attempt(create_rehearsal, engine(), actor(), scheme_id, title.strip(), description,
                      sorted(u for u in scorers if u is not None))
        if rid is not None:
            bump()
            st.session_state["rehearsal_note"] = (
                f"Rehearsal {rid} created for {md(session().name)}; "
                f"{len(scorers)} scorer(s) invited.")
            st.rerun()
