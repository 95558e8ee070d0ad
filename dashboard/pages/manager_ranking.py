"""Ranking per lot: final scores in rank order with each decision's reason (from the scoring
engine), the funding line against the lot's budget, and the reserve list. The ranking is
computed by evalpanel.workflow.rank_call; evalpanel.ranking adds the names and the funding
line."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import cached
from dashboard.common import act, actor, attempt, bump, call_id, engine, workflow
from dashboard.tables import filtered, link_config, with_links
from dashboard.text import md, plain
from evalpanel.ranking import funding_line, ranked_positions
from evalpanel.store import list_tie_orders

st.title("Ranking")
cid = call_id()
view = attempt(cached.ranking_view, cid)
if view is None:
    st.stop()
ranked = view.result
lots = view.lots
frame = view.proposals
scheme = ranked.scheme
st.caption(f"Pass mark {scheme.total_threshold:g}; funding {scheme.funding}; ties broken by "
           f"{', '.join(scheme.tie_break)}.")
DECISIONS = ["funded", "reserve", "rejected", "pending"]
COLOURS = ["#2e7d32", "#f9a825", "#9e9e9e", "#90caf9"]
PARTS = ["funded", "reserve list"]

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
        # one bar per proposal at its place down the list: proposals sharing a rank (ex
        # aequo) stand side by side, never drawn over one another
        ranked_rows = ranked_positions(rows).select(
            "position", "rank", "proposal_id", "title", "total", "decision", "requested_eur",
            "tied").with_columns(shares_rank=pl.when(pl.col("tied"))
                                 .then(pl.lit("shared (ex aequo)")).otherwise(pl.lit("its own")))
        line = funding_line(rows)
        if ranked_rows.height:
            colour = alt.Color("decision:N", scale=alt.Scale(domain=DECISIONS, range=COLOURS))
            bars = alt.Chart(ranked_rows).mark_bar().encode(
                alt.X("position:O", title="place in the ranking (tied proposals side by side)",
                      axis=alt.Axis(labelOverlap="greedy")),
                alt.Y("total:Q", title="total score"), colour,
                alt.Opacity("shares_rank:N", title="rank", scale=alt.Scale(
                    domain=["its own", "shared (ex aequo)"], range=[1.0, 0.6])),
                tooltip=["rank", "proposal_id", "title", "total", "tied", "decision",
                         "requested_eur"])
            mark = alt.Chart(pl.DataFrame({"y": [scheme.total_threshold]})).mark_rule(
                strokeDash=[4, 4], color="#c62828").encode(y="y:Q")
            left, right = st.columns(2)
            left.markdown("**Scores by rank** (dashed: pass mark; lighter bars share their "
                          "rank with another proposal)")
            left.altair_chart((bars + mark).properties(height=240))
            if line.height:
                part_colour = alt.Color("part:N", title=None, scale=alt.Scale(
                    domain=PARTS, range=["#2e7d32", "#f9a825"]))
                x = alt.X("position:Q", title="place in the ranking",
                          axis=alt.Axis(tickMinStep=1))
                steps = alt.Chart(line).mark_line(interpolate="step-after", point=True).encode(
                    x, alt.Y("to_eur:Q", title="cumulative funded requests (EUR)"),
                    part_colour, tooltip=["position", "rank", "proposal_id", "title", "part",
                                          "requested_eur", "to_eur"])
                budget = alt.Chart(pl.DataFrame({"budget_eur": [lot.budget_eur],
                                                 "label": ["budget"]}))
                layers = [steps, budget.mark_rule(color="#1565c0", strokeWidth=2).encode(
                    y="budget_eur:Q", tooltip=["budget_eur"]),
                    budget.mark_text(align="left", dy=-6, color="#1565c0").encode(
                        y="budget_eur:Q", text="label:N", x=alt.value(4))]
                first_reserve = line.filter(pl.col("part") == "reserve list").select(
                    pl.col("position").min()).item()
                if first_reserve is not None:
                    edge = alt.Chart(pl.DataFrame({"position": [float(first_reserve) - 0.5],
                                                   "label": ["reserve list →"]}))
                    layers += [edge.mark_rule(strokeDash=[4, 4], color="#f9a825").encode(
                        x="position:Q"), edge.mark_text(align="left", dx=4, dy=8,
                                                         color="#b26a00").encode(
                        x="position:Q", text="label:N", y=alt.value(0))]
                right.markdown("**Funding line**: cumulative funded requests against the "
                               "budget (blue); right of the dashed line, the reserve list "
                               "continues above the funded total")
                right.altair_chart(alt.layer(*layers).properties(height=240))
        st.markdown("**Every proposal with its decision**")
        st.caption("Each reason is the scoring engine's: the rank where the budget ran out, the "
                   "funded proposal that holds an ecosystem, each threshold missed, or why a "
                   "decision waits. Filter, or click a column header to sort.")
        ecosystem = ["ecosystem"] if lot.one_per else []
        table = rows.select(
            "rank", "proposal_id", "title", "coordinator", *ecosystem, "total", "band",
            "decision", "decision_reason", "reserve_position", "requested_eur", "tied",
            "tie_order_note", "divergent", "needs_expert", *(c.id for c in scheme.criteria))
        shown_rows = filtered(table, f"ranking_{lot_id}", lot=None, state="decision",
                              state_label="Decision")
        st.dataframe(with_links(shown_rows), hide_index=True, height=320,
                     column_config={**link_config(),
                                    "requested_eur": st.column_config.NumberColumn(
                                        format="euro"),
                                    "decision_reason": st.column_config.TextColumn(
                                        "reason", width="large")})
        reserve = rows.filter(pl.col("decision") == "reserve").sort("reserve_position")
        st.markdown(f"**Reserve list** ({reserve.height})")
        st.dataframe(reserve.select("reserve_position", "proposal_id", "title", *ecosystem,
                                    "total", "requested_eur", "decision_reason"),
                     hide_index=True)

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
            titles = dict(rows.select("proposal_id", "title").iter_rows())
            labels = {f"rank {rank}: {', '.join(ids)}": ids for rank, ids in ties}
            with st.form(f"tie_order_{lot_id}"):
                chosen_tie = st.selectbox("Tie", list(labels))
                order = st.multiselect("Their order, best first (pick every proposal of the "
                                       "tie, in order)", labels[str(chosen_tie)] if chosen_tie
                                       else [],
                                       format_func=lambda i, t=titles: plain(
                                           f"{i} · {t.get(i) or ''}"))
                why = st.text_area("Justification (for the panel report)",
                                   placeholder="e.g. portfolio and synergies with funded projects")
                if st.form_submit_button("Record the order") and act(
                        workflow().order_ties, engine(), actor(), cid, lot_id, list(order), why):
                    bump()
                    st.rerun()
