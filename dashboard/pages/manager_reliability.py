"""Reliability (advisory): agreement between experts per criterion and expert leniency."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import cached
from dashboard.common import attempt, call_id

st.title("Reliability")
cid = call_id()
with st.spinner("Computing agreement and leniency…"):
    report = attempt(cached.reliability_report, cid)
if report is None:
    st.stop()
st.caption("Advisory: these figures never change official scores.")
st.subheader("Agreement")
st.dataframe(report.agreement, hide_index=True)
st.subheader("Expert leniency")
st.caption("Offset in points on the total: positive = more generous than the panel. Experts "
           "who stand out are highlighted.")
lenient = report.leniency.filter(pl.col("offset").is_not_null())
if lenient.height:
    st.altair_chart(alt.Chart(lenient).mark_bar().encode(
        alt.X("expert_id:N", sort="-y", title="expert", axis=alt.Axis(labels=False)),
        alt.Y("offset:Q", title="offset (points)"),
        alt.Color("stands_out:N", scale=alt.Scale(domain=[False, True],
                                                  range=["#90a4ae", "#c62828"])),
        tooltip=["expert_id", "offset", "z", "evaluations"]).properties(height=240))
st.dataframe(report.leniency, hide_index=True, height=260)
st.subheader("Decisions that would change with leniency corrected")
if report.changes.is_empty():
    st.caption("None.")
else:
    st.dataframe(report.changes, hide_index=True)
