"""Call overview: what the call holds and how far its evaluation is."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.common import actor, attempt, call_id, engine
from dashboard.text import md
from evalpanel.store import call_folder, list_tasks

st.title("Call overview")
cid = call_id()
call = attempt(call_folder, engine(), actor(), cid)
if call is None:
    st.stop()
cfg = call.config
st.subheader(md(cfg.title), anchor=False)
st.caption(f"{md(cid)} · scheme {md(cfg.scheme)} · {cfg.experts_per_proposal} experts per proposal")

tasks = list_tasks(engine(), actor(), cid)
active = tasks.filter(pl.col("state") != "withdrawn")
submitted = active.filter(pl.col("state") == "submitted").height
cols = st.columns(5)
cols[0].metric("Proposals", call.proposals.height)
cols[1].metric("Experts", call.experts.height)
cols[2].metric("Tasks", active.height)
cols[3].metric("Submitted", submitted)
cols[4].metric("Deadline", md(cfg.deadline or "—"))
if active.height:
    st.progress(submitted / active.height,
                text=f"{submitted} of {active.height} evaluations submitted")

left, right = st.columns(2)
with left:
    st.markdown("**Tasks by state**")
    by_state = tasks.group_by("state").len("tasks").sort("state")
    if by_state.height:
        st.bar_chart(by_state, x="state", y="tasks", horizontal=True, height=220)
    else:
        st.caption("No batch published yet: run one on the Assignment page.")
with right:
    st.markdown("**Lots**")
    per_lot = call.proposals.group_by("lot").agg(
        proposals=pl.len(), requested_eur=pl.col("requested_eur").sum())
    lots = pl.DataFrame(
        [(lot.id, lot.title, lot.budget_eur, lot.one_per or "") for lot in cfg.lots.values()],
        schema={"lot": pl.String, "title": pl.String, "budget_eur": pl.Float64,
                "one_per": pl.String}, orient="row",
    ).join(per_lot, on="lot", how="left").sort("lot")
    st.dataframe(lots, hide_index=True,
                 column_config={"budget_eur": st.column_config.NumberColumn(format="euro"),
                                "requested_eur": st.column_config.NumberColumn(format="euro")})
