"""The scoring form: each criterion's guiding questions, range and band, a live total against
the pass mark and every minimum; save a draft (optimistic version), then submit (frozen). A
submitted evaluation is corrected directly until the panel's scores are visible, then only
through a request the call manager approves; a conflict found after submitting is a request
too."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.common import act, actor, attempt, bump, call_id, call_scheme, engine
from dashboard.text import md, plain
from evalpanel.schemes import band_label
from evalpanel.store import (
    STARTED_STATES,
    RequestState,
    StaleWrite,
    declare_conflict,
    get_evaluation,
    get_proposal,
    list_tasks,
    request_correction,
    save_draft,
    start_correction,
    submit_evaluation,
)
from evalpanel.store.tasks import CONFLICT_KINDS

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

with st.expander(md(f"{proposal_id} · {proposal['title']}"), expanded=False):
    st.text(plain(proposal["abstract"] or "(no abstract)"))
    st.dataframe(pl.DataFrame(proposal["partners"]), hide_index=True)

frozen = not evaluation["editable"]
saved = {c: (s, m) for c, s, m in evaluation["scores"].rows()}
status = ("submitted (frozen)" if evaluation["status"] == "submitted" else
          "correction draft, waiting for approval" if frozen else
          "draft" if evaluation["status"] else "new")
st.caption(f"Version {evaluation['version_no'] or 1} · {status}")

values: dict[str, float] = {}
comments: dict[str, str] = {}
for crit in scheme.criteria:
    key = f"t{task_id}v{evaluation['version_no']}-{crit.id}"
    old_score, old_comment = saved.get(crit.id, (0.0, ""))
    with st.container(border=True):
        head, score_col = st.columns([3, 1])
        with head:
            st.markdown(f"**{crit.label}** · 0–{crit.max:g} points, at least {crit.min_pass:g} "
                        "to pass")
            for q in crit.questions:
                st.markdown(f"- {q}")
        with score_col:
            values[crit.id] = st.number_input(
                "Score", min_value=0.0, max_value=float(crit.max), step=float(crit.step),
                value=float(old_score), key=key + "-s", disabled=frozen)
            band = band_label(scheme, values[crit.id], crit.max)
            below = values[crit.id] < crit.min_pass
            st.markdown(f":{'red' if below else 'green'}[{band}"
                        f"{' · below the minimum' if below else ''}]")
        comments[crit.id] = st.text_area(
            "Comment for the applicant", value=old_comment, key=key + "-c", disabled=frozen,
            height=80)

total = sum(values.values())
failing = [c.label for c in scheme.criteria if values[c.id] < c.min_pass]
passes = total >= scheme.total_threshold and not failing
cols = st.columns(3)
cols[0].metric("Total", f"{total:g}", f"{total - scheme.total_threshold:+g} vs pass mark "
               f"{scheme.total_threshold:g}")
cols[1].metric("Criteria below their minimum", len(failing))
cols[2].metric("Outcome", "passes" if passes else "fails")
if failing:
    st.warning("Below the minimum: " + ", ".join(failing))
internal = st.text_area(
    "Internal comment (for the call manager only, never shown to the applicant)",
    value=str(evaluation["internal_comment"]), key=f"t{task_id}v{evaluation['version_no']}-i",
    disabled=frozen, height=80)

frame = pl.DataFrame({"criterion": list(values), "score": list(values.values()),
                      "comment": [comments[c] for c in values]})


def _request_note(request: dict[str, object] | None, what: str) -> None:
    """The latest request of one kind, its reason and the decision, shown as plain text."""
    if request is None:
        return
    st.text(f"Your {what} request #{request['request_id']} is {request['state']}. "
            f"Reason: {request['reason']}")
    if request["decision_note"]:
        st.text(f"The manager's note: {request['decision_note']}")


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
    correction = evaluation["correction_request"]
    conflict = evaluation["conflict_request"]
    _request_note(correction, "correction")
    _request_note(conflict, "conflict")
    if evaluation["status"] == "draft":
        st.info("This correction was started before the panel's scores became visible to you; "
                "it can be saved and submitted once the call manager approves a request.")
    elif not evaluation["peers_visible"]:
        st.info("This evaluation is submitted and frozen. A correction opens a new version.")
    if evaluation["can_correct"]:
        if st.button("Start a correction") and act(start_correction, engine(), actor(), task_id):
            bump()
            st.rerun()
    elif evaluation["can_request"]:
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
    if evaluation["state"] == "submitted" and (
            conflict is None or conflict["state"] != RequestState.PENDING):
        _declare_conflict()
    st.stop()

save_col, submit_col = st.columns(2)
if save_col.button("Save draft", icon=":material/save:"):
    try:
        version = save_draft(engine(), actor(), task_id, frame,
                             expected_version=evaluation["version"], internal_comment=internal)
    except StaleWrite as exc:
        st.error(f"{md(exc)}. Your entries are still on the form; reload the page to see the "
                 "newer draft.")
    else:
        st.success(f"Draft saved (version {version}).")
        bump()
if submit_col.button("Submit", type="primary", icon=":material/send:"):
    version = attempt(save_draft, engine(), actor(), task_id, frame,
                      expected_version=evaluation["version"], internal_comment=internal)
    if version is not None and act(submit_evaluation, engine(), actor(), task_id,
                                   expected_version=version):
        bump()
        st.session_state["submitted_note"] = f"Task {task_id} submitted."
        st.rerun()
