"""Consolidation for experts: the consolidator drafts the consensus and submits it; the others
read the panel's scores and approve the version they read."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.common import act, actor, attempt, bump, call_id, call_scheme, engine
from dashboard.text import md, plain
from evalpanel.store import (
    approve_consensus,
    get_consolidation,
    list_consolidations,
    list_tasks,
    peer_scores,
    save_consensus,
    submit_consensus,
)

st.title("Consolidation")
cid = call_id()
listed = list_consolidations(engine(), actor(), cid)
if listed.is_empty():
    st.info("None of your proposals is in consolidation yet. The manager starts it once every "
            "expert of a proposal has submitted.")
    st.stop()
me = list_tasks(engine(), actor(), cid)["expert_id"][0]
labels = {p: f"{plain(p)} · {s}" + (" · you consolidate" if c == me else "")
          for p, c, s in listed.select("proposal_id", "consolidator", "state").rows()}
proposal_id = st.selectbox("Proposal", list(labels), format_func=lambda p: labels[p])
cons = attempt(get_consolidation, engine(), actor(), cid, proposal_id)
if cons is None:
    st.stop()
scheme = call_scheme(cid)
st.caption(f"Consolidator {md(cons.consolidator)} · state {cons.state} · version "
           f"{cons.version} · approved by {md(', '.join(cons.approved) or 'nobody yet')}")

peers = attempt(peer_scores, engine(), actor(), cid, proposal_id)
if peers is not None:
    st.markdown("**The panel's individual scores**")
    st.dataframe(peers.pivot("expert_id", index="criterion", values="score"), hide_index=True)

saved = {c: (s, m) for c, s, m in cons.scores.rows()}
is_consolidator = cons.consolidator == me
editable = is_consolidator and cons.state in ("drafting", "approval")
if cons.state == "suspended":
    st.warning("This consolidation is suspended: an approved conflict took an evaluation out of "
               "the panel. The call manager restarts it once the panel is complete.")
means = {} if peers is None else dict(
    peers.group_by("criterion").agg(pl.col("score").mean()).rows())
values, comments = {}, {}
for crit in scheme.criteria:
    default = saved.get(crit.id, (means.get(crit.id, 0.0), ""))
    cols = st.columns([1, 3])
    values[crit.id] = cols[0].number_input(
        f"{crit.label} (0–{crit.max:g})", 0.0, float(crit.max), float(default[0]),
        float(crit.step), key=f"cons-{cid}-{proposal_id}-{crit.id}", disabled=not editable)
    comments[crit.id] = cols[1].text_area(
        "Consensus comment", default[1], key=f"consc-{cid}-{proposal_id}-{crit.id}",
        disabled=not editable, height=80)
overall = st.text_area("Overall comment", str(cons.comment), disabled=not editable)
st.metric("Consensus total", f"{sum(values.values()):g}",
          f"{sum(values.values()) - scheme.total_threshold:+g} vs pass mark")
frame = pl.DataFrame({"criterion": list(values), "score": list(values.values()),
                      "comment": list(comments.values())})
cid_ = int(cons.consolidation_id)
panel = set() if peers is None else set(peers["expert_id"].to_list())
if editable:
    # alone on the panel, the consolidator's submission makes the consensus final at once
    alone = not panel - {me}
    sure = not alone or st.checkbox(
        "I understand that submitting makes this consensus final: it can no longer be "
        "changed, and it is what the applicant's report shows.",
        key=f"sure_submit-{cid}-{cid_}-{cons.version}")
    left, right = st.columns(2)
    if left.button("Save the consensus") and act(save_consensus, engine(), actor(), cid_, frame,
                                                  overall, expected_version=cons.version,
                                                  call_id=cid):
        bump()
        st.rerun()
    if right.button("Submit for approval", type="primary", disabled=not sure):
        version = attempt(save_consensus, engine(), actor(), cid_, frame, overall,
                          expected_version=cons.version, call_id=cid)
        if version is not None and act(submit_consensus, engine(), actor(), cid_,
                                       expected_version=version, call_id=cid):
            bump()
            st.rerun()
elif cons.state == "approval" and me not in cons.approved and not is_consolidator:
    last = not panel - {me, str(cons.consolidator), *cons.approved}
    sure = st.checkbox(
        "I understand that my approval cannot be withdrawn"
        + (": mine is the last one, so the consensus becomes final and can no longer be "
           "changed; it is what the applicant's report shows." if last else
           "; once every expert has approved, the consensus is final."),
        key=f"sure_approve-{cid}-{cid_}-{cons.version}")
    if st.button("Approve this consensus", type="primary", disabled=not sure) and act(
            approve_consensus, engine(), actor(), cid_, expected_version=cons.version,
            call_id=cid):
        bump()
        st.rerun()
elif cons.state == "final":
    st.success("The consensus is final.")
