"""Score a rehearsal you were invited to, blind (you see only your own scores), with its
draft beside the criteria; once submitted, the scores show as submitted and stay as they are."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.common import act, actor, attempt, bump, engine
from dashboard.text import md, plain
from evalpanel.schemes import load_scheme
from evalpanel.store import list_rehearsals, rehearsal_view
from evalpanel.store import save_rehearsal_scores as save_scores
from evalpanel.store.rehearsals import list_drafts, open_draft

st.title("Score a rehearsal")
if "score_note" in st.session_state:
    st.success(st.session_state.pop("score_note"))
listed = list_rehearsals(engine(), actor())
if listed.is_empty():
    st.info("You are not invited to score any rehearsal.")
    st.stop()
labels = {r: f"{r} · {plain(t)}" for r, t in listed.select("rehearsal_id", "title").rows()}
rid = int(st.selectbox("Rehearsal", list(labels), format_func=lambda r: labels[r]))
view = attempt(rehearsal_view, engine(), actor(), rid)
if view is None:
    st.stop()
scheme = load_scheme(view.scheme_id)
st.subheader(md(view.title), anchor=False)
submitted = bool(view.submitted)
own = view.scores.filter(pl.col("user_id") == actor().user_id)
st.markdown("**Your scores: submitted**" if submitted else
            "**Your scores: saved as a draft**" if own.height else "**Your scores: not saved yet**")
st.text(plain(view.description or "(no description)"))
drafts = attempt(list_drafts, engine(), actor(), rid)
if drafts is not None and not drafts.is_empty():
    for name, pages in drafts.select("name", "pages").rows():
        if st.button(f"Open the draft {plain(name)} ({pages} pages)", key=f"d{rid}-{name}"):
            data = attempt(open_draft, engine(), actor(), rid, name)
            if data is not None:
                st.session_state[f"draft-{rid}-{name}"] = data
        if f"draft-{rid}-{name}" in st.session_state:
            st.download_button(f"Download {plain(name)}", st.session_state[f"draft-{rid}-{name}"],
                               name, "application/pdf", key=f"dl{rid}-{name}")
saved = {c: (s, m) for _, c, s, m in own.rows()}
values, comments = {}, {}
for crit in scheme.criteria:
    with st.container(border=True):
        st.markdown(f"**{crit.label}** · 0–{crit.max:g}, at least {crit.min_pass:g} to pass")
        for q in crit.questions:
            st.markdown(f"- {q}")
        old = saved.get(crit.id, (0.0, ""))
        values[crit.id] = st.number_input("Score", 0.0, float(crit.max), float(old[0]),
                                          float(crit.step), key=f"r{rid}-{crit.id}",
                                          disabled=submitted)
        comments[crit.id] = st.text_input("Comment", old[1], key=f"r{rid}c-{crit.id}",
                                          disabled=submitted)
st.metric("Your total", f"{sum(values.values()):g}",
          f"{sum(values.values()) - scheme.total_threshold:+g} vs pass mark")
frame = pl.DataFrame({"criterion": list(values), "score": list(values.values()),
                      "comment": list(comments.values())})
if submitted:
    st.info("Submitted: your scores are frozen; the applicant sees them in the report.")
    st.stop()
left, right = st.columns(2)
if left.button("Save") and act(save_scores, engine(), actor(), rid, frame):
    bump()
    st.session_state["score_note"] = "Saved as a draft; submit when you are done."
    st.rerun()
if right.button("Submit", type="primary") and act(save_scores, engine(), actor(), rid, frame,
                                                  submit=True):
    bump()
    st.session_state["score_note"] = "Submitted; the applicant sees it in the report."
    st.rerun()
