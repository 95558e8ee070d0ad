"""Conflicts of interest: every excluded pair with its reasons; confirm or dismiss a potential
conflict (a likely organisation match); declare a new conflict or remove a declared one."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import cached
from dashboard.common import act, actor, attempt, bump, call_id, engine
from dashboard.paging import paged_table
from dashboard.tables import link_config, with_links
from dashboard.text import plain
from evalpanel.store import (
    confirm_potential_conflict,
    declare_conflict,
    dismiss_potential_conflict,
    list_conflicts,
    remove_conflict,
    with_names,
)
from evalpanel.store.tasks import CONFLICT_KINDS

st.title("Conflicts of interest")
cid = call_id()
# the names and the potential conflicts are computed beside the excluded pairs, not after them
cached.ahead(cid, ("names", True), ("potential", True))
view = attempt(cached.exclusions, cid)
if view is None:
    st.stop()
st.caption("Computed from the partners, the experts' organisations, languages and the declared "
           "conflicts. A pair listed here is never proposed by the assignment.")
names = attempt(cached.names, cid)
if names is None:
    st.stop()


def name_hits(needle: str) -> pl.Expr:
    """Rows whose proposal's title or expert's name contains ``needle`` (lower case): the
    names are looked up in the call's few thousand names, not joined on every pair."""
    assert names is not None
    titles = names.proposals.filter(
        pl.col("title").str.to_lowercase().str.contains(needle, literal=True).fill_null(False))
    people = names.experts.filter(
        pl.col("expert_name").str.to_lowercase().str.contains(needle, literal=True)
        .fill_null(False))
    return (pl.col("proposal_id").is_in(titles["proposal_id"].implode())
            | pl.col("expert_id").is_in(people["expert_id"].implode()))


def named_page(rows: pl.DataFrame) -> pl.DataFrame:
    """One page of pairs with titles, lots and expert names beside the ids, and links."""
    assert names is not None
    return with_links(with_names(rows, names, proposal_fields=("title", "lot")))


@st.fragment
def excluded_pairs() -> None:
    """The pairs, filtered and one page at a time, names joined on the page shown only; typing
    a filter reruns only this part. Only the page shown is built (the call's million pairs
    are counted, not listed), until a text filter needs them all as one frame."""
    left, right = st.columns([3, 1])
    with right:
        reasons = cached.conflict_reasons(cid)
        st.dataframe(reasons, hide_index=True)
        reason = st.selectbox("Reason", ["every reason", *reasons["reason"].to_list()],
                              key="conflict_reason")
    chosen = None if reason == "every reason" else str(reason)

    def every() -> pl.DataFrame:
        pairs = cached.conflict_table(cid)
        return pairs if chosen is None else pairs.filter(pl.col("reason") == chosen)

    with left:
        paged_table(cached.exclusions(cid).rows(chosen), "conflict_pairs",
                    search=("proposal_id", "expert_id", "detail"), also=name_hits,
                    label="Filter (proposal_id, title, expert_id, expert_name, detail)",
                    decorate=named_page, what="excluded pairs", height=360,
                    column_config=link_config(), whole=every)


excluded_pairs()

if "conflict_note" in st.session_state:
    st.success(st.session_state.pop("conflict_note"))

st.subheader("Potential conflicts")
potential = attempt(cached.potential_conflict_table, cid)
if potential is not None and potential.is_empty():
    st.caption("No likely organisation match is waiting for a decision.")
elif potential is not None:
    st.caption("Organisation names that are alike, with no organisation id to confirm that they "
               "are one organisation. The assignment avoids these pairs where it can and lists "
               "those it still uses. Confirm one to make it a conflict, or dismiss it: it is "
               "then not shown again.")
    st.dataframe(with_names(potential.drop("reason"), names), hide_index=True)
    found = potential.select("proposal_id", "expert_id", "detail").rows()
    who = dict(names.experts.select("expert_id", "expert_name").iter_rows())
    with st.form("potential_conflict"):
        pick = st.selectbox("Pair", range(len(found)),
                            format_func=lambda i: plain(f"{found[i][0]} · {found[i][1]} "
                                                        f"{who.get(found[i][1]) or ''}"))
        kind_if = st.selectbox("Kind, if confirmed", CONFLICT_KINDS,
                               index=CONFLICT_KINDS.index("other"))
        why = st.text_input("Reason (optional)")
        confirm = st.form_submit_button("Confirm as a conflict", type="primary")
        dismiss = st.form_submit_button("Dismiss")
    if confirm or dismiss:
        pid, eid, shown = found[int(pick)]
        done = (
            act(confirm_potential_conflict, engine(), actor(), cid, pid, eid, detail=shown,
                note=why, kind=kind_if)
            if confirm
            else act(dismiss_potential_conflict, engine(), actor(), cid, pid, eid, detail=shown,
                     note=why)
        )
        if done:
            bump()
            st.session_state["conflict_note"] = (
                "Potential conflict confirmed: it is now a declared conflict, and a task it "
                "touches waits for a replacement on the Follow-up page." if confirm
                else "Potential conflict dismissed; it is not shown again."
            )
            st.rerun()

st.subheader("Declare a conflict")
stored_proposals, stored_partners, stored_experts, _ = cached.rule_frames(cid)
people = dict(names.experts.select("expert_id", "expert_name").iter_rows())
titles = dict(names.proposals.select("proposal_id", "title").iter_rows())
orgs_named = dict(names.organisations.iter_rows())
# Chosen outside the form, so that the form lists only the proposals or only the
# organisations (at 5,000 proposals and 8,000 organisations, both lists took the browser
# seconds to receive and draw).
on = st.radio("On", ["proposal", "organisation"], horizontal=True, key="declare_on")
with st.form("declare_conflict"):
    expert = st.selectbox("Expert", stored_experts["expert_id"].sort().to_list(),
                          format_func=lambda e: plain(f"{e} · {people.get(e) or ''}"))
    proposal = org = None
    if on == "proposal":
        proposal = st.selectbox("Proposal", stored_proposals["proposal_id"].sort().to_list(),
                                format_func=lambda p: plain(f"{p} · {titles.get(p) or ''}"))
    else:
        orgs = stored_partners["org_id"].drop_nulls().unique().sort()
        org = st.selectbox("Organisation", orgs.to_list(),
                           format_func=lambda o: plain(f"{o} · {orgs_named.get(o) or ''}"))
    kind = st.selectbox("Kind", CONFLICT_KINDS)
    note = st.text_input("Note (the reason)")
    if st.form_submit_button("Declare", type="primary") and act(
            declare_conflict, engine(), actor(), cid, str(expert), kind=kind, note=note,
            proposal_id=proposal if on == "proposal" else None,
            org_id=org if on == "organisation" else None):
        st.success("Recorded; the expert's tasks it touches are declined and wait for a "
                   "replacement on the Follow-up page.")
        bump()

st.subheader("Remove a declared conflict")
declared = list_conflicts(engine(), actor(), cid, source="declared")
if declared.is_empty():
    st.caption("No conflict was declared after the import. Conflicts from conflicts.csv change "
               "by re-importing the call folder.")
    st.stop()
st.dataframe(with_names(declared.drop("source"), names), hide_index=True)
labels = {c: f"#{c} · {plain(e)} {plain(people.get(e) or '')} · {plain(p or o)} · {k}: "
             f"{plain(n)}"
          for c, e, p, o, k, n in declared.select(
              "conflict_id", "expert_id", "proposal_id", "org_id", "kind", "note").rows()}
chosen = st.selectbox("Declared conflict", list(labels), format_func=lambda c: labels[c],
                      key="remove_conflict")
st.caption("Removing it lets the assignment propose the pair again; tasks already declined "
           "stay declined. The audit log keeps the removed record.")
if st.button("Remove", icon=":material/delete:") and act(
        remove_conflict, engine(), actor(), int(chosen), call_id=cid):
    bump()
    st.session_state["conflict_note"] = f"Conflict #{chosen} removed."
    st.rerun()
