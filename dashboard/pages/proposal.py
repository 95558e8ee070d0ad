"""One proposal's page (``?proposal=ID``): its data and partners, conflicts with their reasons,
its tasks and their states, the scores once the reader may see them, the divergence and the
consolidation, and its rank and decision with the scoring engine's reason. evalpanel.dossier
decides what the reader may see; a closed section says why it is closed."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.common import actor, attempt, call_id, engine
from dashboard.text import md, plain
from evalpanel.dossier import proposal_dossier
from evalpanel.store import call_names, task_queue

st.title("Proposal")
cid = call_id()
me = actor()
if me.role == "manager":
    names = attempt(call_names, engine(), me, cid)
    choices = names.proposals.select("proposal_id", "title") if names is not None else None
else:
    queue = attempt(task_queue, engine(), me, cid)
    choices = None if queue is None else queue.filter(
        pl.col("state").is_in(["accepted", "draft", "submitted"])).select(
        "proposal_id", "title").unique("proposal_id").sort("proposal_id")
if choices is None:
    st.stop()
asked = st.query_params.get("proposal")
if choices.is_empty() and not asked:
    st.info("No proposal to show: a manager sees every proposal once the call is imported; an "
            "expert sees a proposal once they accept its task without a conflict.")
    st.stop()
titles = dict(choices.iter_rows())
ids = list(titles)
if asked and asked not in titles:
    ids.insert(0, asked)  # the service says why it is not shown (or that it does not exist)
pid = st.selectbox("Proposal", ids, index=ids.index(asked) if asked in ids else 0,
                   format_func=lambda p: plain(f"{p} · {titles.get(p) or ''}"),
                   key="proposal_pick")
if pid != asked:
    st.query_params["proposal"] = str(pid)
dossier = attempt(proposal_dossier, engine(), me, cid, str(pid))
if dossier is None:
    st.stop()
p = dossier.proposal
shut = dossier.closed


def closed(section: str) -> None:
    st.caption(f"Not shown to you: {md(shut.get(section, 'not available'))}.")


st.subheader(md(p.title), anchor=False)
coordinator = dossier.partners.filter(pl.col("role") == "coordinator")
lead = (f" · coordinated by {md(coordinator['org_name'][0])} ({md(coordinator['country'][0])})"
        if coordinator.height else "")
st.caption(f"{md(p.proposal_id)} · lot {md(p.lot_id)}{lead} · language "
           f"{md(p.language)} · requests €{float(p.requested_eur):,.0f}")
cols = st.columns(3)
cols[0].markdown("**Ecosystems** " + md(", ".join(p.ecosystems or []) or "none"))
cols[1].markdown("**Fields** " + md(", ".join(p.fields or []) or "none"))
cols[2].markdown("**Keywords** " + md(", ".join(p.keywords or []) or "none"))
with st.expander("Abstract"):
    st.text(p.abstract)

st.subheader("Partners", anchor=False)
st.dataframe(dossier.partners, hide_index=True)

st.subheader("Conflicts of interest", anchor=False)
if dossier.conflicts is None:
    closed("conflicts")
elif dossier.conflicts.is_empty():
    st.caption("No expert of the pool is excluded from this proposal.")
else:
    st.caption("Experts the conflict rule excludes from this proposal, with the reason: they are "
               "never proposed for it.")
    st.dataframe(dossier.conflicts, hide_index=True)

st.subheader("Tasks", anchor=False)
if dossier.tasks.is_empty():
    st.caption("No task on this proposal yet: publish an assignment batch.")
else:
    st.dataframe(dossier.tasks, hide_index=True)

st.subheader("Scores", anchor=False)
if dossier.scores is None:
    closed("scores")
elif dossier.scores.is_empty():
    st.caption("No evaluation of this proposal is submitted yet.")
else:
    st.dataframe(dossier.scores, hide_index=True)

st.subheader("Divergence and consolidation", anchor=False)
r = dossier.ranking
if r is not None:
    if r["divergent"]:
        st.warning("The experts' totals diverge" + (": a further expert is needed (Follow-up "
                   "page)." if r["needs_expert"] else "; the final score follows the third "
                   "expert rule."))
    else:
        st.caption("The experts' totals do not diverge.")
    if r["final_rule"]:
        st.caption(f"Final score by the rule {md(r['final_rule'])} over {r['experts']} "
                   "evaluation(s).")
c = dossier.consolidation
if c is not None:
    st.markdown(f"**Consolidation**: {md(c.state)}, consolidator {md(c.consolidator)}, "
                f"approved by {md(', '.join(c.approved) or 'nobody yet')}")
    if not c.scores.is_empty():
        st.dataframe(c.scores, hide_index=True)
elif "consolidation" in dossier.closed:
    closed("consolidation")
else:
    st.caption("No consolidation is open for this proposal yet.")

st.subheader("Rank and decision", anchor=False)
if r is None:
    closed("ranking")
else:
    facts = st.columns(4)
    facts[0].metric("Rank in lot", "—" if r["rank"] is None else str(r["rank"]))
    facts[1].metric("Total", "—" if r["total"] is None else f"{r['total']:g}")
    facts[2].metric("Band", md(r["band"] or "—"))
    facts[3].metric("Decision", md(r["decision"]))
    st.markdown("**Reason** " + md(r["decision_reason"]))
