"""Reliability (advisory): agreement between experts per criterion, read in plain words on
stated scales, and each expert's leniency by name. evalpanel.ranking.reliability_view computes
it and says what an empty section lacks."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import cached
from dashboard.common import attempt, call_id
from dashboard.text import md

st.title("Reliability")
cid = call_id()
with st.spinner("Computing agreement and leniency…"):
    view = attempt(cached.reliability_view, cid)
if view is None:
    st.stop()
report = view.report
st.caption("Advisory: these figures never change official scores.")


st.subheader("Agreement")
if "agreement" in view.missing:
    st.info(md(view.missing["agreement"]))
else:
    st.caption("How far experts agree on the same proposal, per criterion and on the total. "
               "ICC(1,1): the share of score variance that comes from the proposals rather "
               "than from who scored them; Krippendorff's alpha: agreement beyond chance (1 is "
               "perfect, 0 as by chance).")
    st.dataframe(report.agreement.select(
        "measure", "icc1", "icc_reading", "alpha", "alpha_reading", "icck", "proposals",
        "evaluations"), hide_index=True,
        column_config={"icc1": st.column_config.NumberColumn("ICC(1,1)", format="%.2f"),
                       "icc_reading": "ICC reading",
                       "alpha": st.column_config.NumberColumn("alpha", format="%.2f"),
                       "alpha_reading": "alpha reading",
                       "icck": st.column_config.NumberColumn(
                           "ICC(1,k)", format="%.2f",
                           help="Reliability of the mean of a panel's k experts")})
    st.caption(f"ICC reading: {md(view.scales['icc'])}. Alpha reading: "
               f"{md(view.scales['alpha'])}.")

st.subheader("Expert leniency")
lenient = view.leniency.filter(pl.col("offset").is_not_null()).with_columns(
    expert=pl.format("{} ({})", pl.col("expert_name").fill_null("?"), "expert_id"))
if "leniency" in view.missing:
    st.info(md(view.missing["leniency"]))
else:
    st.caption("Offset in points on the total: positive = more generous than the other experts "
               "on the same proposals. Experts who stand out (red) are at least 2.5 standard "
               "errors from the panel, with two or more evaluations.")
    st.altair_chart(alt.Chart(lenient).mark_bar().encode(
        alt.X("expert:N", sort="-y", title="expert (names are not unique: ids beside)"),
        alt.Y("offset:Q", title="offset (points)"),
        alt.Color("stands_out:N", title="stands out", scale=alt.Scale(
            domain=[False, True], range=["#90a4ae", "#c62828"])),
        tooltip=["expert_name", "expert_id", "offset", "z", "evaluations"]).properties(
        height=240))
    standing = lenient.filter(pl.col("stands_out"))
    if standing.height:
        st.warning("Stand out: " + md(", ".join(
            f"{n} ({e}, {o:+.1f} points)" for e, n, o in standing.select(
                "expert_id", "expert_name", "offset").iter_rows())))
    st.dataframe(view.leniency, hide_index=True, height=260)

st.subheader("Decisions that would change with leniency corrected")
if "leniency" in view.missing:
    st.caption("Not computed: " + md(view.missing["leniency"]))
elif view.changes.is_empty():
    st.caption("None: correcting every evaluation for its expert's leniency changes no "
               "decision.")
else:
    st.dataframe(view.changes, hide_index=True)
