"""Conflicts of interest: every excluded pair with its reasons; declare a new conflict."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.common import act, actor, attempt, bump, call_id, engine, workflow
from evalpanel.store import call_folder, declare_conflict
from evalpanel.store.tasks import CONFLICT_KINDS

st.title("Conflicts of interest")
cid = call_id()
table = attempt(workflow().conflict_table, engine(), actor(), cid)
if table is None:
    st.stop()
st.caption("Computed from the partners, the experts' organisations, languages and the declared "
           "conflicts. A pair listed here is never proposed by the assignment.")
reasons = table.group_by("reason").len("pairs").sort("pairs", descending=True)
left, right = st.columns([3, 1])
with left:
    st.dataframe(table, hide_index=True, height=360)
with right:
    st.dataframe(reasons, hide_index=True)

st.subheader("Declare a conflict")
call = call_folder(engine(), actor(), cid)
with st.form("declare_conflict"):
    expert = st.selectbox("Expert", call.experts["expert_id"].to_list())
    on = st.radio("On", ["proposal", "organisation"], horizontal=True)
    proposal = st.selectbox("Proposal", call.proposals["proposal_id"].to_list())
    orgs = call.partners.filter(pl.col("org_id").is_not_null())["org_id"].unique().sort()
    org = st.selectbox("Organisation", orgs.to_list())
    kind = st.selectbox("Kind", CONFLICT_KINDS)
    note = st.text_input("Note (the reason)")
    if st.form_submit_button("Declare", type="primary") and act(
            declare_conflict, engine(), actor(), cid, str(expert), kind=kind, note=note,
            proposal_id=proposal if on == "proposal" else None,
            org_id=org if on == "organisation" else None):
        st.success("Recorded; the expert's tasks it touches are declined and wait for a "
                   "replacement on the Follow-up page.")
        bump()
st.caption("Removing a recorded conflict is not offered: the store keeps conflicts as a record.")
