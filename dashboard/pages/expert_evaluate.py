"""The scoring form: each criterion's guiding questions, range and band, a live total against
the pass mark and every minimum; save a draft (optimistic version), then submit (frozen)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.common import act, actor, attempt, band_of, bump, call_id, call_scheme, engine
from dashboard.text import md, plain
from evalpanel.store import (
    STARTED_STATES,
    StaleWrite,
    get_evaluation,
    get_proposal,
    list_tasks,
    save_draft,
    start_correction,
    submit_evaluation,
)

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

frozen = evaluation["status"] == "submitted"
saved = {c: (s, m) for c, s, m in evaluation["scores"].rows()}
st.caption(f"Version {evaluation['version_no'] or 1} · "
           f"{'submitted (frozen)' if frozen else 'draft' if evaluation['status'] else 'new'}")

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
            band = band_of(scheme, values[crit.id], crit.max)
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
if frozen:
    st.info("This evaluation is submitted and frozen. A correction opens a new version.")
    if st.button("Start a correction") and act(start_correction, engine(), actor(), task_id):
        bump()
        st.rerun()
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
