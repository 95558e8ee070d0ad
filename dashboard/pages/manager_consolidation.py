"""Consolidation: proposals whose evaluations are all in, start their consolidation, follow
their state, name another consolidator (which also restarts a suspended consolidation)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import cached
from dashboard.common import act, actor, bump, call_id, engine
from evalpanel.store import (
    ACTIVE_STATES,
    name_consolidator,
    start_consolidation,
    with_names,
)

st.title("Consolidation")
cid = call_id()
tasks = cached.tasks(cid).filter(
    pl.col("state").is_in(ACTIVE_STATES))
panels = tasks.group_by("proposal_id").agg(
    experts=pl.len(), submitted=(pl.col("state") == "submitted").sum(),
    submitted_by=pl.col("expert_id").filter(pl.col("state") == "submitted").sort())
listed = cached.consolidations(cid)
states = listed.select("proposal_id", "state", "consolidator", "version")
board = panels.join(states, on="proposal_id", how="left").with_columns(
    state=pl.col("state").fill_null(
        pl.when(pl.col("submitted") == pl.col("experts")).then(pl.lit("ready"))
        .otherwise(pl.lit("waiting")))).sort("proposal_id")
counts = dict(board.group_by("state").len().rows())
for col, state in zip(st.columns(6), ("waiting", "ready", "drafting", "approval", "suspended",
                                      "final"), strict=True):
    col.metric(state.capitalize(), counts.get(state, 0))
st.dataframe(with_names(board, cached.names(cid), expert=("consolidator",)),
             hide_index=True, height=300)

if "consolidation_note" in st.session_state:
    st.success(st.session_state.pop("consolidation_note"))
running = board.filter(pl.col("state").is_in(["drafting", "approval", "suspended"]))
if not running.is_empty():
    st.subheader("Name another consolidator")
    st.caption("A suspended consolidation (an approved conflict took an evaluation out) waits "
               "here: once every remaining or replacement expert has submitted, name its "
               "consolidator to restart it. The consensus draft is kept; approvals lapse.")
    again = st.selectbox("Proposal", running["proposal_id"].to_list(),
                         key=f"rename_proposal-{cid}")
    with st.form(f"name_consolidator-{cid}"):
        members = running.filter(pl.col("proposal_id") == again)["submitted_by"].item().to_list()
        chosen = st.selectbox("Consolidator", members, key=f"rename_expert-{cid}")
        reason = st.text_input("Reason (kept in the audit log)", key=f"rename_reason-{cid}")
        if st.form_submit_button("Name the consolidator") and act(
                name_consolidator, engine(), actor(),
                int(listed.filter(pl.col("proposal_id") == again)["consolidation_id"].item()),
                str(chosen), reason, call_id=cid):
            st.session_state["consolidation_note"] = f"{chosen} now consolidates {again}."
            bump()
            st.rerun()

ready = board.filter(pl.col("state") == "ready")
if ready.is_empty():
    st.caption("No proposal is ready to consolidate (all its experts submitted).")
    st.stop()
st.subheader("Start a consolidation")
proposal = st.selectbox("Proposal", ready["proposal_id"].to_list())
panel = ready.filter(pl.col("proposal_id") == proposal)["submitted_by"].item().to_list()
consolidator = st.selectbox("Consolidator (rapporteur)", panel)
if st.button("Start", type="primary") and act(start_consolidation, engine(), actor(), cid,
                                              str(proposal), str(consolidator)):
    bump()
    st.rerun()
