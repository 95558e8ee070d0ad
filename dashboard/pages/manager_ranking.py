"""Ranking per lot: final scores in rank order, the funding line against the lot's budget, and
the reserve list. The ranking is computed by evalpanel.workflow.rank_call."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import cached
from dashboard.common import act, actor, attempt, bump, call_id, engine, workflow
from dashboard.text import md
from evalpanel.store import list_tie_orders

st.title("Ranking")
cid = call_id()
ranked = attempt(cached.rank_call, cid)
if ranked is None:
    st.stop()
lots = cached.config(cid).lots
frame = ranked.proposals
scheme = ranked.scheme
st.caption(f"Pass mark {scheme.total_threshold:g}; funding {scheme.funding}; ties broken by "
           f"{', '.join(scheme.tie_break)}.")
DECISIONS = ["funded", "reserve", "rejected", "pending"]
COLOURS = ["#2e7d32", "#f9a825", "#9e9e9e", "#90caf9"]

# One lot at a time: tabs would render every lot's charts on each run.
chosen = st.radio("Lot", list(lots), horizontal=True, key="ranking_lot", format_func=md)
for lot_id, lot in lots.items():
    if lot_id != chosen:
        continue
    with st.container():
        rows = frame.filter(pl.col("lot") == lot_id).sort("rank", nulls_last=True)
        funded = rows.filter(pl.col("decision") == "funded")
        cols = st.columns(4)
        cols[0].metric("Proposals", rows.height)
        cols[1].metric("Funded", funded.height)
        cols[2].metric("Budget", f"€{lot.budget_eur:,.0f}")
        cols[3].metric("Used", f"€{funded['requested_eur'].sum():,.0f}")
        if lot.title:
            st.caption(md(lot.title) + (f" · at most one funded per {md(lot.one_per)}"
                                        if lot.one_per else ""))
        # Only the charts' columns: a chart carries its data inline, once per chart.
        ranked_rows = rows.filter(pl.col("rank").is_not_null()).with_columns(
            cumulative_eur=pl.col("requested_eur").cum_sum()).select(
            "rank", "proposal_id", "total", "decision", "requested_eur", "cumulative_eur")
        if ranked_rows.height:
            colour = alt.Color("decision:N", scale=alt.Scale(domain=DECISIONS, range=COLOURS))
            bars = alt.Chart(ranked_rows).mark_bar().encode(
                alt.X("rank:O", title="rank"), alt.Y("total:Q", title="total score"), colour,
                tooltip=["proposal_id", "total", "decision", "requested_eur"])
            mark = alt.Chart(pl.DataFrame({"y": [scheme.total_threshold]})).mark_rule(
                strokeDash=[4, 4], color="#c62828").encode(y="y:Q")
            money = alt.Chart(ranked_rows).mark_line(point=True).encode(
                alt.X("rank:O", title="rank"),
                alt.Y("cumulative_eur:Q", title="cumulative requested (EUR)"), colour,
                tooltip=["proposal_id", "cumulative_eur", "decision"])
            budget = alt.Chart(pl.DataFrame({"y": [lot.budget_eur]})).mark_rule(
                color="#1565c0").encode(y="y:Q")
            left, right = st.columns(2)
            left.markdown("**Scores by rank** (dashed: pass mark)")
            left.altair_chart((bars + mark).properties(height=240))
            right.markdown("**Funding line**: cumulative request against the budget (blue)")
            right.altair_chart((money + budget).properties(height=240))
        st.dataframe(rows.select(
            "rank", "proposal_id", "total", "band", "decision", "reserve_position",
            "requested_eur", "tied", "tie_order_note", "passed", "fail_reasons", "divergent",
            "needs_expert", *(c.id for c in scheme.criteria)), hide_index=True, height=320,
            column_config={"requested_eur": st.column_config.NumberColumn(format="euro")})
        reserve = rows.filter(pl.col("decision") == "reserve").sort("reserve_position")
        st.markdown(f"**Reserve list** ({reserve.height})")
        st.dataframe(reserve.select("reserve_position", "proposal_id", "total",
                                    "requested_eur"), hide_index=True)

        # Ex-aequo proposals: the engine never orders them; a manager records the order with
        # its justification (evalpanel.workflow.order_ties checks and audits it).
        ties = [(rank, ids) for lot_, rank, ids in workflow().ex_aequo_groups(ranked)
                if lot_ == lot_id]
        st.markdown(f"**Ex-aequo proposals** ({len(ties)} unresolved tie(s))")
        recorded = attempt(list_tie_orders, engine(), actor(), cid)
        if recorded is not None and recorded.filter(pl.col("lot_id") == lot_id).height:
            st.caption("Recorded orders (best first) and their justification")
            st.dataframe(recorded.filter(pl.col("lot_id") == lot_id).select(
                "proposal_ids", "justification", "recorded_at"), hide_index=True)
        if not ties:
            st.caption("No proposals of this lot are tied after " + ", ".join(scheme.tie_break)
                       + ".")
        else:
            labels = {f"rank {rank}: {', '.join(ids)}": ids for rank, ids in ties}
            with st.form(f"tie_order_{lot_id}"):
                chosen_tie = st.selectbox("Tie", list(labels))
                order = st.multiselect("Their order, best first (pick every proposal of the "
                                       "tie, in order)", labels[str(chosen_tie)] if chosen_tie
                                       else [])
                why = st.text_area("Justification (for the panel report)",
                                   placeholder="e.g. portfolio and synergies with funded projects")
                if st.form_submit_button("Record the order") and act(
                        workflow().order_ties, engine(), actor(), cid, lot_id, list(order), why):
                    bump()
                    st.rerun()
