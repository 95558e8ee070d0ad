"""Call overview: what the call holds and how far its evaluation is."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import cached
from dashboard.common import attempt, call_id
from dashboard.text import md

st.title("Call overview")
cid = call_id()
cfg = attempt(cached.config, cid)
if cfg is None:
    st.stop()
st.subheader(md(cfg.title), anchor=False)
st.caption(f"{md(cid)} · scheme {md(cfg.scheme)} · {cfg.experts_per_proposal} experts per proposal")

# Counted in the database: the evaluations the call waits for leave out withdrawn tasks and
# declined ones that were replaced (evalpanel.store.summary.Progress).
done = cached.progress(cid)
cols = st.columns(5)
cols[0].metric("Proposals", done.proposals)
cols[1].metric("Experts", done.experts)
cols[2].metric("Tasks", done.expected)
cols[3].metric("Submitted", done.submitted)
cols[4].metric("Deadline", md(cfg.deadline or "—"))
if done.expected:
    st.progress(done.share,
                text=f"{done.submitted} of {done.expected} evaluations submitted "
                     f"({done.share:.0%})")

left, right = st.columns(2)
with left:
    st.markdown("**Tasks by state**")
    by_state = pl.DataFrame(sorted(done.by_state.items()), schema=["state", "tasks"],
                            orient="row")
    if by_state.height:
        st.bar_chart(by_state, x="state", y="tasks", horizontal=True, height=220)
    else:
        st.caption("No batch published yet: run one on the Assignment page.")
with right:
    st.markdown("**Lots**")
    st.dataframe(cached.lots(cid), hide_index=True,
                 column_config={"budget_eur": st.column_config.NumberColumn(format="euro"),
                                "requested_eur": st.column_config.NumberColumn(format="euro")})
