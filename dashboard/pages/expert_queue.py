"""An expert's queue: their own tasks only, each with its proposal's title and lot and the
call's deadline; accept a task or declare a conflict."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.common import act, actor, bump, call_id, engine
from dashboard.text import md, plain
from evalpanel.store import accept_task, decline_task, task_explanations, task_queue
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
               "shows its own. The abstract and the partners open once you accept a task.")
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
accept_col, decline_col = st.columns(2)
with accept_col:
    st.markdown("I confirm that I have no conflict of interest with this proposal: neither my "
                "organisation nor I take part in it, prepared it, or worked with its partners "
                "in the last 3 years.")
    if st.button("Accept the task", type="primary") and act(
            accept_task, engine(), actor(), int(task_id)):
        bump()
        st.rerun()
with decline_col, st.form("declare"):
    kind = st.selectbox("Conflict", CONFLICT_KINDS)
    reason = st.text_area("Reason", placeholder="e.g. I advised the coordinator in 2025")
    declined = st.form_submit_button("Declare a conflict and decline")
    if declined and act(decline_task, engine(), actor(), int(task_id), reason, kind=kind):
        bump()
        st.session_state["queue_note"] = "Declined; the call manager will find another expert."
        st.rerun()
