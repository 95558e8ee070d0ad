"""Follow-up: the experts' requests (a correction after the panel's scores were visible, a
conflict found after submitting) to approve or refuse first, then tasks by state with the
overdue ones to remind, declines with their proposed replacement to confirm (one by one or all
at once), and divergent proposals with their further expert. Proposals show their title and
coordinator, experts their name (evalpanel.store.with_names)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import cached
from dashboard.common import act, actor, attempt, bump, call_id, engine, workflow
from dashboard.downloads import csv_download
from dashboard.tables import filtered, link_config, with_links
from dashboard.text import md
from evalpanel.bulk import confirm_all_replacements, remind_overdue
from evalpanel.preview import change_set_words
from evalpanel.store import (
    Names,
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
    with_names,
)
from evalpanel.store.deadlines import overdue_tasks

st.title("Follow-up")
cid = call_id()
# the ranking (for the divergent proposals at the end) is computed while the tasks are drawn
cached.ahead(cid, ("ranked", False))
if "followup_note" in st.session_state:
    st.success(st.session_state.pop("followup_note"))
read_names = attempt(cached.names, cid)
if read_names is None:
    st.stop()
names: Names = read_names
tasks = cached.tasks(cid)


def named(frame: pl.DataFrame, **columns: tuple[str, ...]) -> pl.DataFrame:
    """``frame`` with titles, coordinators and expert names beside its ids."""
    return with_names(frame, names, **columns)


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
    st.dataframe(named(waiting.select("request_id", "kind", "proposal_id", "expert_id",
                                      "reason")), hide_index=True)
    with st.form("decide_request"):
        chosen = st.selectbox("Request", waiting["request_id"].to_list(),
                              format_func=lambda r: f"request {r}")
        note = st.text_input("Your note (kept in the audit log)")
        ok_col, no_col = st.columns(2)
        approve = ok_col.form_submit_button("Approve", type="primary")
        refuse = no_col.form_submit_button("Refuse")
    if approve and act(approve_request, engine(), actor(), int(chosen), note=note,
                       call_id=cid):
        st.session_state["followup_note"] = f"Request {chosen} approved."
        bump()
        st.rerun()
    if refuse and act(refuse_request, engine(), actor(), int(chosen), note=note,
                      call_id=cid):
        st.session_state["followup_note"] = f"Request {chosen} refused."
        bump()
        st.rerun()
decided = asked.filter(pl.col("state") != RequestState.PENDING)
if not decided.is_empty():
    with st.expander(f"Decided requests ({decided.height})"):
        st.dataframe(named(decided.drop("task_id")), hide_index=True)

st.subheader("Tasks by state")
states = ["assigned", "accepted", "declined", "draft", "submitted", "withdrawn"]
counts = dict(tasks.group_by("state").len().rows())
for col, state in zip(st.columns(len(states)), states, strict=True):
    col.metric(state.capitalize(), counts.get(state, 0))
listed = with_names(tasks, names, proposal_fields=("title", "coordinator", "lot"))
shown = filtered(listed, "followup_tasks", states=states,
                 default_states=["assigned", "accepted", "draft"])
st.dataframe(with_links(shown), hide_index=True, height=260, column_config=link_config())
csv_download(listed, f"{cid}-tasks.csv", "Download all tasks (CSV)", key="tasks_csv")
held = attempt(cached.held_tasks, cid)
if held is not None and held.height:
    st.warning(f"{held.height} active task(s) are on pairs the conflict rule now excludes. "
               "Batches leave them as they are and do not count them; decline them or keep "
               "them.")
    st.dataframe(named(held), hide_index=True)

late = attempt(overdue_tasks, engine(), actor(), cid)
if late is not None:
    st.markdown(f"**Overdue tasks** ({late.height})")
    if late.is_empty():
        st.caption("No open task is past its deadline.")
    else:
        st.caption("Open tasks whose evaluation deadline has passed. A reminder goes through "
                   "the notification outbox; a task is reminded once per deadline.")
        st.dataframe(named(late.drop("call_id")), hide_index=True, height=200)
        if st.button(f"Remind all {late.height} overdue", icon=":material/notifications:"):
            outcome = attempt(remind_overdue, engine(), actor(), cid)
            if outcome is not None:
                st.session_state["followup_note"] = outcome.summary
                bump()
                st.rerun()

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
    proposed = open_requests.filter(pl.col("state") == "proposed").height
    if proposed > 1 and st.button(f"Confirm all {proposed} proposed replacements",
                                  icon=":material/done_all:", type="primary"):
        outcome = attempt(confirm_all_replacements, engine(), actor(), cid)
        if outcome is not None:
            st.session_state["followup_note"] = outcome.summary
            bump()
            st.rerun()
    titles = dict(names.proposals.select("proposal_id", "title").iter_rows())
    people = dict(names.experts.select("expert_id", "expert_name").iter_rows())
    for rid, proposal, expert, reason, state, _task in open_requests.rows():
        with st.container(border=True):
            st.markdown(f"**{md(proposal)}** {md(titles.get(proposal) or '')}: "
                        f"{md(people.get(expert) or expert)} ({md(expert)}) declined "
                        f"({md(reason)}) · request {rid}, {state}")
            if state != "proposed":
                continue
            pairs = named(proposed_pairs(engine(), actor(), rid))
            st.dataframe(pairs, hide_index=True)
            ok_col, no_col = st.columns(2)
            if ok_col.button("Confirm", key=f"confirm{rid}", type="primary") and act(
                    confirm_replacement, engine(), actor(), rid, call_id=cid):
                st.session_state["followup_note"] = f"Replacement {rid} confirmed."
                bump()
                st.rerun()
            if no_col.button("Dismiss", key=f"dismiss{rid}") and act(
                    dismiss_replacement, engine(), actor(), rid, call_id=cid):
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
        "proposal_id", "lot", "total", "needs_expert", "decision_reason").join(
        extra, on="proposal_id", how="left")
    st.dataframe(with_links(named(divergent, expert=("extra_expert",))), hide_index=True,
                 column_config=link_config())
    pending = st.session_state.get(f"extra_batch:{cid}")
    if need.height and pending is None and st.button(
            f"Preview an extra expert for {need.height} proposal(s)"):
        run = attempt(workflow().preview_extra_experts, engine(), actor(), cid)
        if run is not None:
            st.session_state[f"extra_batch:{cid}"] = run.batch_id
            st.rerun()
    if pending is not None:
        changes = attempt(batch_changes, engine(), actor(), pending, call_id=cid)
        if changes is not None:
            st.markdown(f"**Extra experts to add (change-set {pending})**")
            st.caption(md(change_set_words(changes, names)))
            st.dataframe(named(changes.filter(pl.col("change") == "added")), hide_index=True)
        apply_col, drop_col = st.columns(2)
        sure = apply_col.checkbox(
            "I understand that adding cannot be undone: the new tasks go to the experts' "
            "queues.", key=f"sure_extra-{cid}-{pending}")
        drop = drop_col.checkbox(
            "I understand that discarding cannot be undone: this preview can no longer be "
            "added.", key=f"sure_drop_extra-{cid}-{pending}")
        if apply_col.button("Add these experts", type="primary", key="apply_extra",
                            disabled=not sure):
            done = attempt(publish_batch, engine(), actor(), pending, call_id=cid)
            if done is not None:
                st.session_state.pop(f"extra_batch:{cid}")
                st.session_state["followup_note"] = f"{done['added']} extra task(s) added."
                bump()
                st.rerun()
        if drop_col.button("Discard", key="discard_extra", disabled=not drop) and act(
                discard_batch, engine(), actor(), pending, call_id=cid):
            st.session_state.pop(f"extra_batch:{cid}")
            st.rerun()
