"""Rehearsals: create a mock evaluation from a scheme preset, describe the proposal, attach its
draft, and invite colleagues to score it blind, by a one-time link or by e-mail address (never
by account: nothing here tells whether an address or a name has an account)."""

from __future__ import annotations

import re

import polars as pl
import streamlit as st

from dashboard.common import actor, attempt, bump, engine, session
from dashboard.text import md, plain
from evalpanel.schemes import list_presets, load_scheme
from evalpanel.store import create_rehearsal, list_rehearsals
from evalpanel.store.rehearsal_invites import (
    invite_by_email,
    invite_by_link,
    rehearsal_invitations_of,
)
from evalpanel.store.rehearsals import attach_draft, list_drafts

st.title("Mock evaluation")
st.caption("Rehearse a proposal before the deadline: colleagues score it blind, like real "
           "experts, and the report shows every threshold, band and disagreement.")
if "rehearsal_note" in st.session_state:
    st.success(st.session_state.pop("rehearsal_note"))

mine = list_rehearsals(engine(), actor())
owned = mine.filter(pl.col("owner"))
st.subheader("Your rehearsals")
if mine.is_empty():
    st.caption("None yet.")
else:
    st.dataframe(mine, hide_index=True,
                 column_config={"rehearsal_id": "Rehearsal", "scheme_id": "Scheme",
                                "title": "Proposal title", "owner": "Yours"})

here = st.context.url.split("?")[0].rstrip("/") if st.context.url else ""
base = here.rsplit("/", 1)[0] if here.count("/") > 2 else here

if not owned.is_empty():
    st.subheader("Invite colleagues and attach your draft")
    labels = {r: f"{r} · {plain(t)}" for r, t in owned.select("rehearsal_id", "title").rows()}
    rid = int(st.selectbox("Rehearsal", list(labels), format_func=lambda r: labels[r],
                           key="invite_rehearsal"))
    base = st.text_input("The dashboard's address your colleagues will open", value=base,
                         key="dashboard_address")
    by_link, by_mail, draft = st.tabs(["One-time link", "By e-mail", "Draft (PDF)"])
    with by_link:
        st.caption("Make a link and pass it on yourself; whoever opens it first joins as a "
                   "scorer (with a new scorer account, or their applicant account). It works "
                   "once and for 14 days.")
        if st.button("Make a one-time link"):
            link = attempt(invite_by_link, engine(), actor(), rid, dashboard_url=base)
            if link is not None:
                st.session_state[f"link-{rid}"] = link
        if f"link-{rid}" in st.session_state:
            st.code(st.session_state[f"link-{rid}"], language=None)
            st.caption("Copy it now: it is not kept and will not be shown again.")
    with by_mail, st.form(f"invite-mail-{rid}", clear_on_submit=True):
        addresses = st.text_area("E-mail addresses (one a line, or separated by commas)",
                             key="invite_addresses")
        language = st.selectbox("Language of the message", ["en", "fr", "de"],
                                format_func={"en": "English", "fr": "French",
                                             "de": "German"}.__getitem__)
        if st.form_submit_button("Send the invitations"):
            sent = attempt(invite_by_email, engine(), actor(), rid,
                           [a for a in re.split(r"[,;\s]+", addresses) if a],
                           dashboard_url=base, language=language)
            if sent is not None:
                st.success(f"Invitation queued for {len(sent)} address(es): "
                           f"{md(', '.join(sent))}. Each gets its own one-time link.")
    with draft:
        st.caption("Your scorers read it as experts read a call's documents: a real PDF, at "
                   "most 20 MB and 200 pages.")
        upload = st.file_uploader("Draft application (PDF)", type=["pdf"], key=f"draft-{rid}")
        if upload is not None and st.button("Attach the draft"):
            pages = attempt(attach_draft, engine(), actor(), rid, upload.name, upload.getvalue())
            if pages is not None:
                bump()
                st.success(f"Attached {md(upload.name)} ({pages} pages).")
        drafts = attempt(list_drafts, engine(), actor(), rid)
        if drafts is not None and not drafts.is_empty():
            st.dataframe(drafts.select("name", "pages", "size"), hide_index=True,
                         column_config={"name": "File", "pages": "Pages", "size": "Bytes"})
    invites = attempt(rehearsal_invitations_of, engine(), actor(), rid)
    if invites is not None and not invites.is_empty():
        st.dataframe(invites.drop("invitation_id"), hide_index=True,
                     column_config={"sent_to": "Sent to", "created_at": "Made",
                                    "expires_at": "Expires", "state": "State"})

st.subheader("New rehearsal")
presets = list(list_presets())
with st.form("new_rehearsal", clear_on_submit=True):
    scheme_id = st.selectbox("Scheme", presets, index=None, placeholder="Choose a scheme",
                             key="new_scheme",
                             format_func=lambda p: f"{p}: {load_scheme(p).title}")
    title = st.text_input("Proposal title", key="new_title")
    description = st.text_area("Describe the proposal (what the scorers read)", height=160,
                               key="new_description")
    include_me = st.checkbox("I score it too", key="new_me")
    create = st.form_submit_button("Create", type="primary")
if create:
    if scheme_id is None:
        st.error("Choose the scheme the proposal is evaluated under.")
    elif not title.strip():
        st.error("Give the proposal a title.")
    else:
        scheme = load_scheme(scheme_id)
        me = [actor().user_id] if include_me and actor().user_id is not None else []
        made = attempt(create_rehearsal, engine(), actor(), scheme_id, title.strip(),
                       description, [u for u in me if u is not None])
        if made is not None:
            bump()
            st.session_state["rehearsal_note"] = (
                f"Rehearsal {made} created for {md(session().name)} under {md(scheme.title)} "
                f"({len(scheme.criteria)} criteria, pass mark {scheme.total_threshold:g}). "
                "Invite your colleagues above.")
            st.rerun()
