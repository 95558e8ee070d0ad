"""Experts, deadlines and messages: the call's deadlines, the overdue tasks and consolidation
steps, inviting the expert pool by e-mail, and the notification outbox. The page asks and
shows; deadlines, invitations and messages are evalpanel's (store.deadlines,
store.invitations, store.notifications)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from dashboard.common import act, actor, attempt, bump, call_id, engine
from evalpanel.store import call_info
from evalpanel.store.deadlines import (
    overdue_consolidations,
    overdue_tasks,
    set_deadline,
    task_deadlines,
)
from evalpanel.store.invitations import invite_experts
from evalpanel.store.notifications import list_notifications, plan_notifications

st.title("Experts, deadlines and messages")
cid = call_id()
info = attempt(call_info, engine(), actor(), cid)
if info is None:
    st.stop()

st.subheader("Deadlines")
st.caption("The last day allowed, in UTC. A task's own deadline, where set, comes first; "
           "reminders go out before it and a notice once it has passed (evalpanel notify run).")
due = attempt(task_deadlines, engine(), actor(), cid)
current = None if due is None or due.is_empty() else due["due_on"].drop_nulls().min()
with st.form(f"deadlines-{cid}"):
    left, right = st.columns(2)
    start = current if isinstance(current, dt.date) else None
    evaluation = left.date_input("Individual evaluations", value=start)
    consolidation = right.date_input("Consolidation", value=None)
    if st.form_submit_button("Save the deadlines"):
        ok = True
        if isinstance(evaluation, dt.date):
            ok = act(set_deadline, engine(), actor(), cid, "evaluation", evaluation)
        if ok and isinstance(consolidation, dt.date):
            ok = act(set_deadline, engine(), actor(), cid, "consolidation", consolidation)
        if ok:
            bump()
            st.success("Deadlines saved.")

late = attempt(overdue_tasks, engine(), actor(), cid)
if late is not None:
    if late.is_empty():
        st.info("No task is overdue.")
    else:
        st.warning(f"{late.height} open task(s) are past their deadline.")
        st.dataframe(late.select("task_id", "proposal_id", "expert_id", "state", "due_on",
                                 "days_overdue"), hide_index=True, use_container_width=True)
late_cons = attempt(overdue_consolidations, engine(), actor(), cid)
if late_cons is not None and not late_cons.is_empty():
    st.warning(f"{late_cons.height} consolidation step(s) are past their deadline.")
    st.dataframe(late_cons.select("proposal_id", "expert_id", "step", "due_on", "days_overdue"),
                 hide_index=True, use_container_width=True)
st.caption("Reminders before a deadline and notices once it has passed are queued by every "
           "`evalpanel notify run`, each once per task and deadline; queue them now to see them "
           "in the outbox below.")
if st.button("Queue the reminders and overdue notices due now"):
    queued = attempt(plan_notifications, engine(), actor(), call_id=cid)
    if queued is not None:
        bump()
        st.success(f"{queued} new message(s) queued; they go out with the next "
                   "`evalpanel notify run`.")

st.subheader("Invite the expert pool")
st.caption("Each expert without an account gets one (their e-mail address as username) and a "
           "one-time link, valid 14 days, to set a password or link their organisation's "
           "sign-in. The links go out with the next `evalpanel notify run`.")
here = st.context.url.split("?")[0].rstrip("/") if st.context.url else ""
base = here.rsplit("/", 1)[0] if here.count("/") > 2 else here
with st.form(f"invite-{cid}"):
    address = st.text_input("The dashboard's address the experts will open", value=base)
    sure = st.checkbox("Send an invitation to every expert of this call who has not signed in "
                       "yet (an earlier link stops working).")
    if st.form_submit_button("Invite the experts") and sure:
        invited = attempt(invite_experts, engine(), actor(), cid, dashboard_url=address)
        if invited is not None:
            st.success(f"{len(invited)} experts invited ({sum(i.created for i in invited)} new "
                       "accounts).")
            bump()

st.subheader("Outbox")
outbox = attempt(list_notifications, engine(), actor(), call_id=cid)
if outbox is not None:
    if outbox.is_empty():
        st.info("No message queued yet.")
    else:
        counts = dict(outbox.group_by("status").len().iter_rows())
        cols = st.columns(4)
        for col, status in zip(cols, ("pending", "sent", "failed", "sending"), strict=True):
            col.metric("in doubt" if status == "sending" else status, counts.get(status, 0))
        kinds = sorted(outbox["kind"].unique().to_list())
        shown = st.multiselect("Kinds", kinds, default=kinds)
        st.dataframe(outbox.filter(pl.col("kind").is_in(shown)).select(
            "notification_id", "kind", "recipient_name", "recipient", "status", "attempts",
            "subject", "last_error"), hide_index=True, use_container_width=True)
