"""Follow-up: tasks by state, the experts' requests (a correction after the panel's scores were
visible, a conflict found after submitting) to approve or refuse, declines with their proposed
replacement to confirm, and divergent proposals with their extra expert."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import cached
from dashboard.common import act, actor, attempt, bump, call_id, engine, workflow
from dashboard.downloads import csv_download
from dashboard.paging import paged_table
from dashboard.text import md
from evalpanel.store import (
    RequestState,
    approve_request,
    batch_changes,
    confirm_replacement,
    discard_batch,
    dismiss_replacement,
    list_replacements,
    list_requests,
    proposed_pairs,
    publish_batch,
    refuse_request,
)

st.title("Follow-up")
cid = call_id()
if "followup_note" in st.session_state:
    st.success(st.session_state.pop("followup_note"))
tasks = cached.tasks(cid)

st.subheader("Tasks by state")
states = ["assigned", "accepted", "declined", "draft", "submitted", "withdrawn"]
counts = dict(tasks.group_by("state").len().rows())
for col, state in zip(st.columns(len(states)), states, strict=True):
    col.metric(state.capitalize(), counts.get(state, 0))
shown = st.multiselect("Show states", states, default=["assigned", "accepted", "draft"])
paged_table(tasks.filter(pl.col("state").is_in(shown)), "followup_tasks",
            search=("proposal_id", "expert_id"), what="tasks", height=260)
csv_download(tasks, f"{cid}-tasks.csv", "Download all tasks (CSV)", key="tasks_csv")
held = attempt(cached.held_tasks, cid)
if held is not None and held.height:
    st.warning(f"{held.height} active task(s) are on pairs the conflict rule now excludes. "
               "Batches leave them as they are and do not count them; decline them or keep "
               "them.")
    st.dataframe(held, hide_index=True)

st.subheader("Requests from experts")
st.caption("A correction asked for after the panel's scores became visible to the expert, or a "
           "conflict of interest declared on a submitted evaluation. Until you decide, the "
           "submitted evaluation counts as it is. Approving a conflict takes the evaluation "
           "out, opens a replacement below and suspends the proposal's consolidation.")
asked = list_requests(engine(), actor(), cid)
waiting = asked.filter(pl.col("state") == RequestState.PENDING)
if waiting.is_empty():
    st.caption("No request waits for a decision.")
else:
    st.dataframe(waiting.select("request_id", "kind", "proposal_id", "expert_id", "reason"),
                 hide_index=True)
    with st.form("decide_request"):
        chosen = st.selectbox("Request", waiting["request_id"].to_list(),
                              format_func=lambda r: f"request {r}")
        note = st.text_input("Your note (kept in the audit log)")
        ok_col, no_col = st.columns(2)
        approve = ok_col.form_submit_button("Approve", type="primary")
        refuse = no_col.form_submit_button("Refuse")
    if approve and act(approve_request, engine(), actor(), int(chosen), note=note):
        st.session_state["followup_note"] = f"Request {chosen} approved."
        bump()
        st.rerun()
    if refuse and act(refuse_request, engine(), actor(), int(chosen), note=note):
        st.session_state["followup_note"] = f"Request {chosen} refused."
        bump()
        st.rerun()
decided = asked.filter(pl.col("state") != RequestState.PENDING)
if not decided.is_empty():
    with st.expander(f"Decided requests ({decided.height})"):
        st.dataframe(decided.drop("task_id"), hide_index=True)

st.subheader("Declines and replacements")
requests = list_replacements(engine(), actor(), cid)
open_requests = requests.filter(pl.col("state").is_in(["pending", "proposed"]))
if open_requests.is_empty():
    st.caption("No open replacement request.")
else:
    if (open_requests["state"] == "pending").any() and st.button(
            "Propose replacements for pending declines", icon=":material/auto_fix_high:"):
        with st.status("Finding replacement experts…") as status:
            n = attempt(workflow().propose_replacements, engine(), actor(), cid)
            status.update(label=f"{n or 0} replacement(s) proposed", state="complete")
        bump()
        st.rerun()
    for rid, proposal, expert, reason, state, _task in open_requests.rows():
        with st.container(border=True):
            st.markdown(f"**{md(proposal)}**: {md(expert)} declined ({md(reason)}) · "
                        f"request {rid}, {state}")
            if state != "proposed":
                continue
            pairs = proposed_pairs(engine(), actor(), rid)
            st.dataframe(pairs, hide_index=True)
            ok_col, no_col = st.columns(2)
            if ok_col.button("Confirm", key=f"confirm{rid}", type="primary") and act(
                    confirm_replacement, engine(), actor(), rid):
                st.session_state["followup_note"] = f"Replacement {rid} confirmed."
                bump()
                st.rerun()
            if no_col.button("Dismiss", key=f"dismiss{rid}") and act(
                    dismiss_replacement, engine(), actor(), rid):
                bump()
                st.rerun()

st.subheader("Divergent proposals")
ranked = attempt(cached.rank_call, cid)
if ranked is not None:
    gap = ranked.scheme.divergence.total_gap
    need = ranked.proposals.filter(pl.col("needs_expert"))
    st.caption(f"Expert totals {gap:g} points or more apart need a further expert "
               "(unless every total is below the pass mark).")
    extra = tasks.filter(pl.col("origin") == "extra").select(
        "proposal_id", extra_expert="expert_id", extra_state="state")
    divergent = ranked.proposals.filter(pl.col("divergent")).select(
        "proposal_id", "lot", "total", "needs_expert").join(extra, on="proposal_id", how="left")
    st.dataframe(divergent, hide_index=True)
    pending = st.session_state.get("extra_batch")
    if need.height and pending is None and st.button(
            f"Preview an extra expert for {need.height} proposal(s)"):
        run = attempt(workflow().preview_extra_experts, engine(), actor(), cid)
        if run is not None:
            st.session_state["extra_batch"] = run.batch_id
            st.rerun()
    if pending is not None:
        changes = attempt(batch_changes, engine(), actor(), pending)
        if changes is not None:
            st.markdown(f"**Extra experts to add (change-set {pending})**")
            st.dataframe(changes.filter(pl.col("change") == "added"), hide_index=True)
        apply_col, drop_col = st.columns(2)
        if apply_col.button("Add these experts", type="primary", key="apply_extra"):
            done = attempt(publish_batch, engine(), actor(), pending)
            if done is not None:
                st.session_state.pop("extra_batch")
                st.session_state["followup_note"] = f"{done['added']} extra task(s) added."
                bump()
                st.rerun()
        if drop_col.button("Discard", key="discard_extra") and act(
                discard_batch, engine(), actor(), pending):
            st.session_state.pop("extra_batch")
            st.rerun()
