"""The scoring form: each criterion's guiding questions, allowed values and band, its comment
with a word count, a total against the pass mark and every minimum (all from the scoring engine,
through :func:`evalpanel.quality.review_form`), the advisory comment checks, and the proposal's
documents beside the criteria. Nothing is scored until it is set: a criterion starts empty, an
off-step or out-of-range value is refused where it is typed and never counted. Save a draft
(optimistic version), then submit (confirmed; frozen). A submitted evaluation is corrected directly
until the panel's scores are visible, then only through a request the call manager approves; a
conflict found after submitting is a request too."""

from __future__ import annotations

import importlib.util

import polars as pl
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard.common import act, actor, attempt, bump, call_id, call_scheme, engine
from dashboard.text import md, plain
from evalpanel.quality import review_form
from evalpanel.schemes import allowed_values
from evalpanel.store import (
    STARTED_STATES,
    RequestState,
    RequestSummary,
    StaleWrite,
    StoreError,
    declare_conflict,
    get_evaluation,
    get_proposal,
    list_tasks,
    request_correction,
    save_draft,
    start_correction,
    submit_evaluation,
)
from evalpanel.store.documents import list_documents, open_document
from evalpanel.store.tasks import CONFLICT_KINDS

# The word count while the expert types (a text area reaches the server only when it is applied;
# the count the rules use is then the engine's, shown under each comment). Text stays text.
LIVE_WORDS = """<script>
(() => {
  if (window.evalpanelLiveWords) return;
  window.evalpanelLiveWords = true;
  document.addEventListener("input", (event) => {
    const area = event.target;
    if (!(area instanceof HTMLTextAreaElement)) return;
    if (area.getAttribute("aria-label") !== "Comment for the applicant") return;
    const box = area.closest('[data-testid="stTextArea"]');
    if (!box) return;
    let live = box.querySelector(".evalpanel-live-words");
    if (!live) {
      live = document.createElement("div");
      live.className = "evalpanel-live-words";
      live.setAttribute("aria-live", "polite");
      live.style.cssText = "font-size: 0.85rem; opacity: 0.75; margin-top: 0.25rem";
      box.appendChild(live);
    }
    const words = (area.value.match(/\\S+/g) || []).length;
    live.textContent = `${words} word${words === 1 ? "" : "s"} typed`;
  }, true);
})();
</script>"""
# st.pdf needs the streamlit-pdf component; without it the documents are offered as downloads.
PDF_VIEWER = hasattr(st, "pdf") and importlib.util.find_spec("streamlit_pdf") is not None

st.title("Scoring form")
cid = call_id()
if "submitted_note" in st.session_state:
    st.success(st.session_state.pop("submitted_note"))
mine = list_tasks(engine(), actor(), cid).filter(
    pl.col("state").is_in(STARTED_STATES))
if mine.is_empty():
    st.info("Accept a task in My queue first; its scoring form opens here.")
    st.stop()
scheme = call_scheme(cid)
labels = {t: f"{plain(p)} ({s})"
          for t, p, s in mine.select("task_id", "proposal_id", "state").rows()}
task_id = int(st.selectbox("Task", list(labels), format_func=lambda t: labels[t],
                           key="score_task"))
evaluation = attempt(get_evaluation, engine(), actor(), task_id)
proposal_id = mine.filter(pl.col("task_id") == task_id)["proposal_id"].item()
proposal = attempt(get_proposal, engine(), actor(), cid, proposal_id)
if evaluation is None or proposal is None:
    st.stop()

with st.expander(md(f"{proposal_id} · {proposal.title}"), expanded=False):
    st.text(plain(proposal.abstract or "(no abstract)"))
    st.dataframe(pl.DataFrame(proposal.partners), hide_index=True)

frozen = not evaluation.editable
saved = {c: (s, m) for c, s, m in evaluation.scores.rows()}
version_no = int(evaluation.version_no or 1)
status = (f"submitted on version {version_no} (frozen)" if evaluation.status == "submitted"
          else "correction draft, waiting for the manager's approval" if frozen
          else f"draft saved (save {evaluation.version})" if evaluation.status
          else "not saved yet")
st.markdown(f"**Version {version_no} · {status}**")


def _documents(docs: pl.DataFrame) -> None:
    """The proposal's PDF files: each opening is the store's audited read."""
    st.markdown("**Proposal documents**")
    pages = dict(docs.select("name", "pages").rows())
    name = st.selectbox("Document", list(pages), key=f"doc-{cid}-{task_id}",
                        format_func=lambda n: f"{plain(n)} ({pages[n]} page"
                        f"{'s' if pages[n] != 1 else ''})")
    opened_key = f"doc-open-{cid}-{task_id}"
    if st.button("Open the document", key=f"doc-button-{cid}-{task_id}"):
        data = attempt(open_document, engine(), actor(), cid, proposal_id, str(name))
        if data is not None:
            st.session_state[opened_key] = (name, data)
    opened = st.session_state.get(opened_key)
    if opened is None or opened[0] != name:
        st.caption("Opening a document is recorded in the call's audit log.")
        return
    if PDF_VIEWER:
        st.pdf(opened[1], height=900)
    st.download_button(f"Download {plain(name)}", opened[1], file_name=str(name),
                       mime="application/pdf", key=f"doc-download-{cid}-{task_id}")


docs = attempt(list_documents, engine(), actor(), cid, proposal_id)
if docs is not None and docs.height:
    doc_col, form_col = st.columns([1, 1], gap="medium")
    with doc_col:
        _documents(docs)
else:
    form_col = st.container()

if not frozen:
    st.html(LIVE_WORDS, unsafe_allow_javascript=True)
values: dict[str, float | None] = {}
comments: dict[str, str] = {}
feedback: dict[str, DeltaGenerator] = {}
with form_col:
    for crit in scheme.criteria:
        key = f"t{task_id}v{version_no}-{crit.id}"
        old_score, old_comment = saved.get(crit.id, (None, ""))
        with st.container(border=True):
            st.markdown(f"**{md(crit.label)}** · {allowed_values(crit)}; at least "
                        f"{crit.min_pass:g} to pass")
            for q in crit.questions:
                st.markdown(f"- {md(q)}")
            values[crit.id] = st.number_input(
                "Score", value=old_score, min_value=0.0,
                max_value=float(crit.max), step=float(crit.step), format="%g",
                placeholder="not set", key=key + "-s", disabled=frozen)
            feedback[crit.id] = st.empty()
            comments[crit.id] = st.text_area(
                "Comment for the applicant", value=old_comment,
                key=key + "-c", disabled=frozen, height=100)
            feedback[crit.id + "-words"] = st.empty()

review = attempt(review_form, engine(), actor(), cid, task_id, values, comments)
if review is None:
    st.stop()
check = review.check
by_criterion = {c.criterion: c for c in check.criteria}
for crit in scheme.criteria:
    got = by_criterion[crit.id]
    typed = values[crit.id]
    if typed is not None and got.score is None:  # refused where it is typed, never counted
        feedback[crit.id].error(f"{md(got.problems[0])}. It is not counted in the total.")
    elif got.score is not None:
        colour = "red" if got.below_min else "green"
        feedback[crit.id].markdown(
            f":{colour}[{md(got.band)}{' · below the minimum' if got.below_min else ''}]")
    else:
        feedback[crit.id].caption("Not set yet: nothing is counted until you give a score.")
    words = f"{got.comment_words} word{'s' if got.comment_words != 1 else ''}"
    need = [p for p in got.problems if "comment" in p]
    feedback[crit.id + "-words"].caption(f"{words} · {md(need[0])}" if need and not frozen
                                         else words)

cols = st.columns(3)
cols[0].metric("Total", f"{check.total:g}", f"{check.total - check.total_threshold:+g} vs pass "
               f"mark {check.total_threshold:g}", help="Only valid scores count.")
cols[1].metric("Criteria below their minimum", sum(c.below_min for c in check.criteria))
cols[2].metric("Outcome", "incomplete" if check.passed is None else
               "passes" if check.passed else "fails")
if check.failures:
    st.warning("Below a threshold: " + "; ".join(md(f) for f in check.failures))
labels_of = {c.id: c.label for c in scheme.criteria}
for criterion, detail in review.flags.select("criterion", "detail").iter_rows():
    st.info(f"Check this comment ({md(labels_of.get(criterion, criterion))}): {md(detail)}. "
            "This is advice; it does not stop the submission.", icon=":material/rate_review:")
internal = st.text_area(
    "Internal comment (for the call manager only, never shown to the applicant)",
    value=str(evaluation.internal_comment), key=f"t{task_id}v{version_no}-i",
    disabled=frozen, height=80)

scored = [(c, v, comments[c]) for c, v in values.items() if v is not None]
frame = pl.DataFrame(scored, schema={"criterion": pl.String, "score": pl.Float64,
                                    "comment": pl.String}, orient="row")


def _request_note(request: RequestSummary | None, what: str) -> None:
    """The latest request of one kind, its reason and the decision, shown as plain text."""
    if request is None:
        return
    st.text(f"Your {what} request #{request.request_id} is {request.state}. "
            f"Reason: {request.reason}")
    if request.decision_note:
        st.text(f"The manager's note: {request.decision_note}")


def _declare_conflict() -> None:
    with st.expander("Declare a conflict of interest found after submitting"):
        st.caption("The evaluation keeps counting until the call manager decides. If the "
                   "manager approves, it stops counting and another expert may be assigned.")
        with st.form(f"conflict-{task_id}"):
            kind = st.selectbox("Conflict", CONFLICT_KINDS)
            note = st.text_area("Reason", key=f"conflict-note-{task_id}")
            if st.form_submit_button("Send the conflict to the manager") and act(
                    declare_conflict, engine(), actor(), cid, str(mine.filter(
                        pl.col("task_id") == task_id)["expert_id"].item()),
                    kind=kind, note=note, proposal_id=proposal_id):
                st.session_state["submitted_note"] = "Conflict sent to the call manager."
                bump()
                st.rerun()


if frozen:
    correction = evaluation.correction_request
    conflict = evaluation.conflict_request
    _request_note(correction, "correction")
    _request_note(conflict, "conflict")
    if evaluation.status == "draft":
        st.info("This correction was started before the panel's scores became visible to you; "
                "it can be saved and submitted once the call manager approves a request.")
    elif not evaluation.peers_visible:
        st.info("This evaluation is submitted and frozen. A correction opens a new version.")
    if evaluation.can_correct:
        if st.button("Start a correction") and act(start_correction, engine(), actor(), task_id):
            bump()
            st.rerun()
    elif evaluation.can_request:
        st.info("The other experts' scores on this proposal are open to you, so a correction "
                "needs the call manager's approval.")
        with st.form(f"correction-{task_id}"):
            why = st.text_area("Why does the evaluation need a correction?",
                               key=f"correction-why-{task_id}")
            if st.form_submit_button("Ask the manager for a correction") and act(
                    request_correction, engine(), actor(), task_id, why):
                st.session_state["submitted_note"] = "Correction request sent to the manager."
                bump()
                st.rerun()
    if evaluation.state == "submitted" and (
            conflict is None or conflict.state != RequestState.PENDING):
        _declare_conflict()
    st.stop()

CONFIRM = f"submit-confirm-{cid}-{task_id}-{version_no}"
unsaved = [labels_of[c] for c, v in values.items() if v is None and comments[c].strip()]
save_col, submit_col = st.columns(2)
if save_col.button("Save draft", icon=":material/save:"):
    try:
        saved_at = save_draft(engine(), actor(), task_id, frame,
                              expected_version=evaluation.version, internal_comment=internal)
    except StaleWrite as exc:
        st.error(f"{md(exc)}. Your entries are still on the form; reload the page to see the "
                 "newer draft.")
    except StoreError as exc:
        st.error(md(exc))
    else:
        note = f"Draft saved (version {version_no}, save {saved_at})."
        if unsaved:
            note += (" A comment is kept only with its score: set a score for "
                     + ", ".join(unsaved) + " to keep its comment.")
        st.session_state["submitted_note"] = note
        bump()
        st.rerun()
if st.session_state.get(CONFIRM):
    st.warning(f"Submitting freezes version {version_no} of your evaluation of "
               f"{md(proposal_id)}; it cannot be undone. Afterwards a correction opens a new "
               "version, and once the other experts' scores are visible to you it needs the call "
               "manager's approval.")
    yes, no = st.columns(2)
    if yes.button("Yes, submit the evaluation", type="primary"):
        st.session_state.pop(CONFIRM, None)
        version = attempt(save_draft, engine(), actor(), task_id, frame,
                          expected_version=evaluation.version, internal_comment=internal)
        if version is not None and act(submit_evaluation, engine(), actor(), task_id,
                                       expected_version=version):
            bump()
            st.session_state["submitted_note"] = (f"Task {task_id} submitted: version "
                                                  f"{version_no} is frozen.")
            st.rerun()
    if no.button("Cancel"):
        st.session_state.pop(CONFIRM, None)
        st.rerun()
elif submit_col.button("Submit", type="primary", icon=":material/send:"):
    if check.problems:
        st.error("Not submitted yet. Before you can submit:\n\n"
                 + "\n".join(f"- {md(p)}" for p in check.problems))
    else:
        st.session_state[CONFIRM] = True
        st.rerun()
elif check.problems:
    st.caption(f"{len(check.problems)} thing{'s' if len(check.problems) != 1 else ''} to do "
               "before submitting: " + "; ".join(md(p) for p in check.problems))
