"""The mock-evaluation report (``evalpanel.workflow.rehearsal_report``): each criterion against
its minimum and maximum, bands coloured from good (green) to bad (red), the distance to the pass
mark, where the scorers disagree, and what they wrote per criterion; the same Evaluation
Summary Report as a call's (PDF, HTML), marked as a rehearsal. The page only renders them."""

from __future__ import annotations

import datetime as dt

import altair as alt
import polars as pl
import streamlit as st

from dashboard.common import actor, attempt, engine, workflow
from dashboard.text import md, plain
from evalpanel.reports import esr_html, esr_pdf, rehearsal_esr
from evalpanel.schemes import load_scheme
from evalpanel.store import list_rehearsals, rehearsal_view

# from the best band to the worst: green, light green, amber, red (more bands: interpolated)
GOOD_TO_BAD = ("#2e7d32", "#7cb342", "#f9a825", "#ef6c00", "#c62828")


def band_colours(n: int) -> list[str]:
    """``n`` colours from good to bad."""
    if n <= 1:
        return [GOOD_TO_BAD[0]][:n]
    picks = [round(i * (len(GOOD_TO_BAD) - 1) / (n - 1)) for i in range(n)]
    if n == 4:
        picks = [0, 1, 2, 4]
    return [GOOD_TO_BAD[i] for i in picks]

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
done = [u for u, submitted in view.scorers.items() if submitted]
st.caption(f"{len(done)} of {len(view.scorers)} scorers submitted; only submitted scores "
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

scheme = load_scheme(str(view.scheme_id))
bands = [b.label for b in scheme.bands]
crit = report.criteria.drop("questions").with_columns(
    pl.col("mean", "share", "to_min", "lowest", "highest", "spread").round(1))
order = crit["label"].to_list()
y = alt.Y("label:N", sort=order, title=None)
whole = alt.Chart(crit).mark_bar(color="#eceff1").encode(alt.X("max:Q", title="points"), y)
mean = alt.Chart(crit).mark_bar(height=14).encode(
    x="mean:Q", y=y,
    color=alt.Color("band:N", title="band", scale=alt.Scale(domain=bands,
                                                            range=band_colours(len(bands)))),
    tooltip=[alt.Tooltip("label", title="criterion"), alt.Tooltip("mean", format=".1f"),
             "band", alt.Tooltip("min_pass", title="minimum"), "max",
             alt.Tooltip("lowest", format=".1f"), alt.Tooltip("highest", format=".1f")])
spread = alt.Chart(crit).mark_rule(color="#263238", strokeWidth=2).encode(
    x="lowest:Q", x2="highest:Q", y=y)
minimum = alt.Chart(crit).mark_tick(color="#6a1b9a", thickness=3, size=24).encode(
    x="min_pass:Q", y=y)
st.markdown("**Each criterion**: mean of the scorers, coloured by band from good (green) to "
            "weak (red); the scorers' range (black line), the minimum to pass (purple tick), "
            "the maximum (grey)")
st.altair_chart((whole + mean + spread + minimum).properties(height=60 * len(order) + 40))
colour_of = dict(zip(bands, band_colours(len(bands)), strict=True))
table = crit.select("label", "mean", "max", "min_pass", "band", "to_min", "lowest", "highest",
                    "spread", "disagreement")
st.dataframe(
    table.to_pandas().style.map(
        lambda band: f"background-color: {colour_of.get(band, '')}; color: white"
        if band in colour_of else "", subset=["band"]).format(
        {c: "{:.1f}" for c in ("mean", "to_min", "lowest", "highest", "spread")}),
    hide_index=True,
    column_config={"label": "Criterion", "mean": "Mean score", "max": "Maximum",
                   "min_pass": "Minimum to pass", "band": "Band", "to_min": "Above the minimum",
                   "lowest": "Lowest score", "highest": "Highest score", "spread": "Spread",
                   "disagreement": "Scorers disagree"})
disagree = crit.filter(pl.col("disagreement"))
if disagree.height:
    st.markdown("**Where the scorers disagree:** " + ", ".join(disagree["label"].to_list()))
with st.expander("Guiding questions of the weakest criteria"):
    for label, questions in report.criteria.head(2).select("label", "questions").rows():
        st.markdown(f"**{label}**")
        for q in questions:
            st.markdown(f"- {q}")

st.subheader("What the scorers wrote")
submitted = [u for u, done in view.scorers.items() if done]
alias = {u: f"Scorer {i}" for i, u in enumerate(sorted(submitted), start=1)}
written = view.scores.filter(pl.col("user_id").is_in(submitted)
                                & (pl.col("comment").str.strip_chars() != ""))
for c in scheme.criteria:
    mine = written.filter(pl.col("criterion") == c.id)
    with st.container(border=True):
        st.markdown(f"**{md(c.label)}**")
        if mine.is_empty():
            st.caption("No comment.")
        for user, score, comment in mine.select("user_id", "score", "comment").rows():
            st.caption(f"{alias[user]} · {score:g} of {c.max:g}")
            st.text(comment)

st.subheader("Evaluation Summary Report")
st.caption("The report a call's applicants receive, from these mock scores and marked as a "
           "rehearsal.")
language = st.selectbox("Language", ["en", "fr", "de"], key=f"esr-lang-{rid}",
                        format_func={"en": "English", "fr": "French", "de": "German"}.__getitem__)
created = view.created_at
esr = rehearsal_esr(view, report, created.date() if isinstance(created, dt.datetime)
                    else dt.date.today(), language)
left, right = st.columns(2)
left.download_button("Download the report (PDF)", esr_pdf(esr),
                     f"rehearsal-{rid}.pdf", "application/pdf")
right.download_button("Download the report (HTML)", esr_html(esr).encode("utf-8"),
                      f"rehearsal-{rid}.html", "text/html")
