"""Results for the applicants: the comment checks, the quality-checked marks, the Evaluation
Summary Reports, and the release of each lot. The page only shows what evalpanel's services
return and asks for the manager's decisions; outside text is shown as text, in tables."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import cached
from dashboard.common import act, actor, attempt, bump, call_id, engine
from dashboard.text import md
from evalpanel.quality import mark_quality_checked, quality_checked
from evalpanel.reports import esr_pdf, esr_zip, release_lot
from evalpanel.store.releases import release_status

st.title("Results and reports")
cid = call_id()

st.subheader("Comment checks")
st.caption("Advisory: a comment copied from the same expert's comment on another proposal, "
           "wording that contradicts the band (praise on a Weak score, criticism on a Very good "
           "one), and criterion scores far from the other experts'. Nothing here blocks.")
flags = attempt(cached.quality_flags, cid)
if flags is not None:
    counts = dict(flags.group_by("check").len().iter_rows())
    cols = st.columns(3)
    for col, (check, label) in zip(cols, (("copied", "Copied comments"),
                                         ("contradicts_band", "Contradict the band"),
                                         ("off_panel", "Far from the panel")), strict=True):
        col.metric(label, counts.get(check, 0))
    if flags.height:
        shown = st.multiselect("Checks", sorted(counts), default=sorted(counts))
        st.dataframe(flags.filter(pl.col("check").is_in(shown)), hide_index=True,
                     use_container_width=True)

reports = attempt(cached.reports, cid)
if reports is None:
    st.stop()
if not reports:
    st.info("No proposal has a final consolidation yet: reports appear here once the panels "
            "have approved their consensus.")
    st.stop()

st.subheader("Quality checks")
checked = attempt(quality_checked, engine(), actor(), cid)
done = set() if checked is None else set(checked["proposal_id"].to_list())
st.caption(f"{len(done)} of {len(reports)} consolidated evaluations marked quality checked.")
todo = [r.proposal_id for r in reports if r.proposal_id not in done]
if todo:
    with st.form("quality", clear_on_submit=True):
        pid = st.selectbox("Consolidated evaluation", todo)
        note = st.text_input("Note (optional)")
        if st.form_submit_button("Mark as quality checked") and act(
                mark_quality_checked, engine(), actor(), cid, str(pid), note):
            bump()
            st.rerun()

st.subheader("Evaluation Summary Reports")
lots = sorted({r.lot_id for r in reports})
lot = st.selectbox("Lot", lots)
in_lot = [r for r in reports if r.lot_id == lot]
table = pl.DataFrame([{"proposal_id": r.proposal_id, "title": r.proposal_title,
                       "total": r.total, "rank": r.rank, "decision": r.decision,
                       "reason": r.decision_reason,
                       "quality checked": r.proposal_id in done} for r in in_lot])
st.dataframe(table, hide_index=True, use_container_width=True)
one = st.selectbox("Report of", [r.proposal_id for r in in_lot])
chosen = next(r for r in in_lot if r.proposal_id == one)
left, right = st.columns(2)
# The PDF is made when the button is clicked, not on every run of the page.
left.download_button("Download this report (PDF)", lambda: esr_pdf(chosen), f"{one}.pdf",
                     "application/pdf", key=f"esr-{cid}-{one}")
if right.button(f"Prepare all {len(in_lot)} reports of {md(lot)} (zip)"):
    st.session_state[f"esr-zip-{cid}-{lot}"] = esr_zip(in_lot)
if f"esr-zip-{cid}-{lot}" in st.session_state:
    right.download_button("Download the zip", st.session_state[f"esr-zip-{cid}-{lot}"],
                          f"{cid}-{lot}-reports.zip", "application/zip")

st.subheader("Release")
status = attempt(release_status, engine(), actor(), cid)
released = {} if status is None else {r[0]: r[1] for r in status.iter_rows()}
if lot in released:
    st.success(f"The results of {md(lot)} were released on {released[lot]}; each applicant "
               "contact reads only their own proposal's report.")
else:
    unchecked = sum(1 for r in in_lot if r.proposal_id not in done)
    if unchecked:
        st.warning(f"{unchecked} report(s) of {md(lot)} are not marked quality checked yet.")
    sure = st.checkbox(f"I have read the reports of {md(lot)}: release them to the applicants. "
                       "Released reports cannot be withdrawn, only replaced by a new release.")
    if st.button(f"Release the results of {md(lot)}", type="primary", disabled=not sure) and act(
            release_lot, engine(), actor(), cid, lot):
        bump()
        st.rerun()
