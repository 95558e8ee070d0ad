"""An expert's queue: their own tasks only, each with its proposal's title and lot and the
call's deadline; accept a task or declare a conflict. Before accepting, the expert sees what the
declaration needs (title, abstract, lot, coordinator and partners with their countries) and the
declaration's text naming them; declining asks for confirmation, and its form starts empty for
every task."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.common import act, actor, attempt, bump, call_id, engine
from dashboard.text import md, plain
from evalpanel.store import (
    accept_task,
    declaration,
    decline_task,
    task_explanations,
    task_queue,
)
from evalpanel.store.deadlines import my_deadlines, time_left
from evalpanel.store.tasks import CONFLICT_KINDS

st.title("My queue")
cid = call_id()
if "queue_note" in st.session_state:
    st.success(st.session_state.pop("queue_note"))
queue = task_queue(engine(), actor(), cid).filter(pl.col("state") != "withdrawn").select(
    "task_id", "proposal_id", "title", "lot", "state", "deadline").join(
    task_explanations(engine(), actor(), cid).select("task_id", assigned_because="explanation"),
    on="task_id", how="left", maintain_order="left").join(
    my_deadlines(engine(), actor(), cid).select(
        "task_id", "due_on",
        time_left=pl.col("days_left").map_elements(time_left, return_dtype=pl.String)),
    on="task_id", how="left", maintain_order="left")
if queue.is_empty():
    st.info("No task is assigned to you in this call yet.")
    st.stop()
deadline = queue["deadline"].drop_nulls().first()
if deadline:
    st.caption(f"Evaluations are due by the call's deadline, {md(deadline)}, unless a task "
               "shows its own. The full proposal and its documents open once you accept a "
               "task without a conflict.")
late = queue.filter(pl.col("due_on").is_not_null() & pl.col("time_left").str.ends_with("overdue"))
if late.height:
    st.warning(f"{late.height} task(s) past their deadline: submit them as soon as possible, or "
               "tell the call manager if you cannot.")
counts = dict(queue.group_by("state").len().rows())
cols = st.columns(4)
for col, state in zip(cols, ("assigned", "accepted", "draft", "submitted"), strict=True):
    col.metric(state.capitalize(), counts.get(state, 0))
st.dataframe(queue.drop("deadline"), hide_index=True,
             column_config={"task_id": "Task", "proposal_id": "Proposal", "title": "Title",
                            "lot": "Lot", "state": "State",
                            "assigned_because": "Assigned because", "due_on": "Due on",
                            "time_left": "Time left"})

waiting = queue.filter(pl.col("state") == "assigned")
if waiting.is_empty():
    st.caption("Every task is accepted or declined; open the Scoring form to evaluate.")
    st.stop()
st.subheader("Confirm or decline")
task_id = st.selectbox("Task", waiting["task_id"].to_list(), key="queue_task",
                       format_func=lambda t: "task {} · {} · {} (lot {})".format(
                           t, *map(plain, waiting.filter(pl.col("task_id") == t)
                                   .select("proposal_id", "title", "lot").row(0))))
KIND, REASON, CONFIRM = f"decline-kind-{task_id}", f"decline-reason-{task_id}", "decline_confirm"


def _forget_decline() -> None:
    """Clear the decline form so nothing typed carries over to another task."""
    for key in [k for k in st.session_state if str(k).startswith("decline-")]:
        del st.session_state[key]
    st.session_state.pop(CONFIRM, None)


if st.session_state.get("decline_for") != task_id:  # another task: its decline form is empty
    _forget_decline()
    st.session_state["decline_for"] = task_id
facts = attempt(declaration, engine(), actor(), int(task_id))
if facts is None:
    st.stop()
with st.container(border=True):
    st.markdown(f"**{md(facts.proposal_id)} · {md(facts.title)}** · lot {md(facts.lot)}")
    st.text(plain(facts.abstract or "(no abstract)"))
    st.dataframe(
        pl.DataFrame({"role": [p.role for p in facts.participants],
                      "organisation": [p.org_name for p in facts.participants],
                      "country": [p.country for p in facts.participants]},
                     schema={"role": pl.String, "organisation": pl.String, "country": pl.String}),
        hide_index=True,
        column_config={"role": "Role", "organisation": "Organisation", "country": "Country"})
accept_col, decline_col = st.columns(2)
with accept_col:
    st.markdown(md(facts.text))
    if st.button("Accept the task", type="primary") and act(
            accept_task, engine(), actor(), int(task_id), call_id=cid):
        bump()
        st.session_state.pop("queue_task", None)
        st.rerun()

with decline_col:
    kind = st.selectbox("Conflict", CONFLICT_KINDS, key=KIND)
    reason = st.text_area("Reason", placeholder="e.g. I advised the coordinator in 2025",
                          key=REASON)
    if st.session_state.get(CONFIRM) != task_id:
        if st.button("Declare a conflict and decline"):
            if not (reason or "").strip():
                st.error("Say why you decline: the conflict's reason is recorded for the call "
                         "manager.")
            else:
                st.session_state[CONFIRM] = task_id
                st.rerun()
    else:
        st.warning(
            f"Declining task {task_id} ({md(facts.proposal_id)}) cannot be undone: the task "
            f"closes for you, a conflict of kind {md(kind)} with your reason is recorded "
            "against this proposal, and the call manager assigns another expert. You will not "
            "be able to accept this proposal afterwards.")
        yes, no = st.columns(2)
        if yes.button("Yes, decline the task", type="primary") and act(
                decline_task, engine(), actor(), int(task_id), reason, kind=kind,
                call_id=cid):
            _forget_decline()
            st.session_state.pop("queue_task", None)
            bump()
            st.session_state["queue_note"] = (
                "Declined; the call manager will find another expert.")
            st.rerun()
        if no.button("Cancel"):
            st.session_state.pop(CONFIRM, None)
            st.rerun()
