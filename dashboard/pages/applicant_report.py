"""The mock-evaluation report (``evalpanel.workflow.rehearsal_report``): each criterion against
its minimum and maximum, bands, the distance to the pass mark, and where the scorers disagree.
The page only renders it."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard.common import actor, attempt, engine, workflow
from dashboard.text import plain
from evalpanel.store import list_rehearsals, rehearsal_view

st.title("Mock evaluation report")
owned = list_rehearsals(engine(), actor()).filter(pl.col("owner"))
if owned.is_empty():
    st.info("Create a rehearsal first (Rehearsals page).")
    st.stop()
labels = {r: f"{r} · {plain(t)}" for r, t in owned.select("rehearsal_id", "title").rows()}
rid = int(st.selectbox("Rehearsal", list(labels), format_func=lambda r: labels[r]))
view = attempt(rehearsal_view, engine(), actor(), rid)
if view is None:
    st.stop()
done = [u for u, submitted in view["scorers"].items() if submitted]
st.caption(f"{len(done)} of {len(view['scorers'])} scorers submitted; only submitted scores "
           "count.")
if not done:
    st.info("No scorer has submitted yet.")
    st.stop()
report = attempt(workflow().rehearsal_report, engine(), actor(), rid)
if report is None:
    st.stop()

cols = st.columns(4)
cols[0].metric("Outcome", "passes" if report.passed else "fails")
cols[1].metric("Mean total", "—" if report.total is None else f"{report.total:.1f}",
               None if report.to_pass is None else f"{report.to_pass:+.1f} vs pass mark "
               f"{report.total_threshold:g}")
cols[2].metric("Scorers", report.scorers)
cols[3].metric("Spread of totals", "—" if report.total_spread is None
               else f"{report.total_spread:.1f}")
for reason in report.fail_reasons:
    st.error(reason)
if report.divergent:
    st.warning("The scorers' totals diverge as much as real experts' would trigger a third "
               "expert.")

crit = report.criteria.drop("questions")
order = crit["label"].to_list()
y = alt.Y("label:N", sort=order, title=None)
whole = alt.Chart(crit).mark_bar(color="#eceff1").encode(alt.X("max:Q", title="points"), y)
mean = alt.Chart(crit).mark_bar(height=14).encode(
    x="mean:Q", y=y, color=alt.Color("band:N", title="band"),
    tooltip=["label", "mean", "band", "min_pass", "max", "lowest", "highest"])
spread = alt.Chart(crit).mark_rule(color="#263238", strokeWidth=2).encode(
    x="lowest:Q", x2="highest:Q", y=y)
minimum = alt.Chart(crit).mark_tick(color="#c62828", thickness=3, size=24).encode(
    x="min_pass:Q", y=y)
st.markdown("**Each criterion**: mean (coloured by band), range of the scorers (black line), "
            "minimum to pass (red), maximum (grey)")
st.altair_chart((whole + mean + spread + minimum).properties(height=60 * len(order) + 40))
st.dataframe(crit.select("label", "mean", "max", "min_pass", "band", "to_min", "lowest",
                         "highest", "spread", "disagreement"), hide_index=True)
disagree = crit.filter(pl.col("disagreement"))
if disagree.height:
    st.markdown("**Where the scorers disagree:** " + ", ".join(disagree["label"].to_list()))
with st.expander("Guiding questions of the weakest criteria"):
    for label, questions in report.criteria.head(2).select("label", "questions").rows():
        st.markdown(f"**{label}**")
        for q in questions:
            st.markdown(f"- {q}")
