"""Results for the applicants: the comment checks, the quality-checked marks, the Evaluation
Summary Reports, and the release of each lot. The reports there are are listed from the call's
ranking and consolidations; a report is built only when it is downloaded, and a lot's reports
all together only for its zip or its release, with their progress. The page only shows what
evalpanel's services return and asks for the manager's decisions; outside text is shown as
text, in tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl
import streamlit as st
from streamlit.elements.lib.mutable_status_container import StatusContainer

from dashboard import cached
from dashboard.common import act, actor, attempt, bump, call_id, engine
from dashboard.text import md
from evalpanel.quality import mark_quality_checked, quality_checked
from evalpanel.reports import Esr, build_esrs, esr_pdf, esr_zip, release_lot
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

index = attempt(cached.report_index, cid)
if index is None:
    st.stop()
if index.is_empty():
    st.info("No proposal has a final consolidation yet: reports appear here once the panels "
            "have approved their consensus.")
    st.stop()


def build(proposal_ids: Sequence[str] | None = None, lot_id: str | None = None) -> list[Esr]:
    """The reports of ``proposal_ids`` or of one lot, built now from the cached call and
    ranking (both at the call's current data version)."""
    return build_esrs(engine(), actor(), cid, proposal_ids, lot_id=lot_id,
                      call=cached.call_folder(cid), ranked=cached.rank_call(cid).proposals)


def shown_progress(label: str) -> tuple[StatusContainer, Callable[[int, int], None]]:
    """A status box and its progress bar; returns ``(status, report(done, total))``."""
    status = st.status(label, expanded=True)
    bar = status.progress(0.0)

    def report(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"{done} of {total} reports")

    return status, report


st.subheader("Quality checks")
checked = attempt(quality_checked, engine(), actor(), cid)
done = set() if checked is None else set(checked["proposal_id"].to_list())
st.caption(f"{len(done)} of {index.height} consolidated evaluations marked quality checked.")
todo = [p for p in index["proposal_id"].to_list() if p not in done]
if todo:
    with st.form("quality", clear_on_submit=True):
        pid = st.selectbox("Consolidated evaluation", todo)
        note = st.text_input("Note (optional)")
        if st.form_submit_button("Mark as quality checked") and act(
                mark_quality_checked, engine(), actor(), cid, str(pid), note):
            bump()
            st.rerun()

st.subheader("Evaluation Summary Reports")
lots = sorted(index["lot"].unique().to_list())
lot = st.selectbox("Lot", lots)
in_lot = index.filter(pl.col("lot") == lot)
st.dataframe(in_lot.select(
    "proposal_id", "title", "total", "rank", "decision", reason="decision_reason").with_columns(
    pl.col("proposal_id").is_in(sorted(done)).alias("quality checked")),
    hide_index=True, use_container_width=True)
st.caption(f"{in_lot.height} reports in {md(lot)}. A report is built when it is downloaded; "
           "the zip and the release build all of the lot's.")
one = st.selectbox("Report of", in_lot["proposal_id"].to_list())
left, right = st.columns(2)
# The PDF is built when the button is clicked, not on every run of the page.
left.download_button("Download this report (PDF)", lambda: esr_pdf(build([str(one)])[0]),
                     f"{one}.pdf", "application/pdf", key=f"esr-{cid}-{one}")
ZIP = f"esr-zip-{cid}-{lot}"
if right.button(f"Prepare all {in_lot.height} reports of {md(lot)} (zip)"):
    with right:
        box, report = shown_progress(f"Building the {in_lot.height} reports of {md(lot)}…")
        with box:
            built = attempt(build, lot_id=lot)
            if built is not None:
                st.session_state[ZIP] = esr_zip(built, progress=report)
        box.update(label=f"The zip of {md(lot)} is ready" if built is not None
                      else "The zip could not be made", expanded=False,
                      state="complete" if built is not None else "error")
if ZIP in st.session_state:
    right.download_button("Download the zip", st.session_state[ZIP],
                          f"{cid}-{lot}-reports.zip", "application/zip")

st.subheader("Release")
releases = attempt(release_status, engine(), actor(), cid)
released = {} if releases is None else {r[0]: r[1] for r in releases.iter_rows()}
if lot in released:
    st.success(f"The results of {md(lot)} were released on {released[lot]}; each applicant "
               "contact reads only their own proposal's report.")
else:
    unchecked = in_lot.filter(~pl.col("proposal_id").is_in(sorted(done))).height
    if unchecked:
        st.warning(f"{unchecked} report(s) of {md(lot)} are not marked quality checked yet.")
    sure = st.checkbox(f"I have read the reports of {md(lot)}: release them to the applicants. "
                       "Released reports cannot be withdrawn, only replaced by a new release.")
    if st.button(f"Release the results of {md(lot)}", type="primary", disabled=not sure):
        box, report = shown_progress(f"Building and releasing the {in_lot.height} reports of "
                                     f"{md(lot)}…")
        with box:
            released_now = act(release_lot, engine(), actor(), cid, lot, progress=report)
        if released_now:
            bump()
            st.rerun()
        box.update(label="The release did not happen", state="error")
