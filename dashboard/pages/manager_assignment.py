"""Assignment: parameters, a run with progress, the change-set preview, diagnostics and plots,
pinned and forbidden pairs, then publishing.

The preview and the form's values are kept per call (:func:`dashboard.context.call_key`), and
every step names the call shown, so the services refuse a batch of another call."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import cached
from dashboard.common import act, actor, attempt, bump, call_id, engine, workflow
from dashboard.context import call_key
from dashboard.text import md
from evalpanel.callfolder.config import TEXT_MODELS
from evalpanel.preview import change_set_words, fair_suggestion
from evalpanel.store import batch_changes, discard_batch, publish_batch, with_names

st.title("Assignment")
cid = call_id()
BATCH = call_key("batch", cid)
NOTE = call_key("assign_note", cid)
if NOTE in st.session_state:
    st.success(st.session_state.pop(NOTE))
wf = workflow()
PAIR_COLUMNS = {"proposal_id": st.column_config.TextColumn("Proposal"),
                "expert_id": st.column_config.TextColumn("Expert")}
EMPTY = pl.DataFrame(schema={"proposal_id": pl.String, "expert_id": pl.String})

with st.form(call_key("assign", cid)):
    cols = st.columns(4)
    mode = cols[0].selectbox("Objective", ["max-total", "fair", "randomized"],
                             key=call_key("mode", cid),
                             help="max-total: most total affinity; fair: raise the worst-covered "
                             "proposal first; randomized: cap each pair's probability")
    k = cols[1].number_input("Experts per proposal (0 = the call's)", 0, 10, 0,
                             key=call_key("k", cid))
    seed = cols[2].number_input("Seed", 0, 2**31 - 1, 0, key=call_key("seed", cid))
    q = cols[3].slider("Pair probability cap (randomized)", 0.1, 1.0, 0.5, 0.05,
                       key=call_key("q", cid))
    diversity = st.checkbox("Prefer diverse panels (countries, gender)",
                            key=call_key("diversity", cid))
    text_model = st.selectbox("Text model", ["the call's", *TEXT_MODELS],
                              key=call_key("text_model", cid),
                              help="How proposal and profile texts are compared; the call's: "
                              "call.toml [assignment] text_model, else the best installed")
    pin_col, forbid_col = st.columns(2)
    with pin_col:
        st.markdown("**Pinned pairs** (always assigned)")
        pinned = st.data_editor(EMPTY, num_rows="dynamic", key=call_key("pinned", cid),
                                column_config=PAIR_COLUMNS, hide_index=True)
    with forbid_col:
        st.markdown("**Forbidden pairs** (never assigned)")
        forbidden = st.data_editor(EMPTY, num_rows="dynamic", key=call_key("forbidden", cid),
                                   column_config=PAIR_COLUMNS, hide_index=True)
    run = st.form_submit_button("Run the assignment", type="primary")


def _pairs(frame: pl.DataFrame) -> pl.DataFrame | None:
    frame = frame.drop_nulls()
    return frame if frame.height else None


if run:
    with st.status("Running the assignment…", expanded=True) as status:
        st.write("Computing conflicts, affinities and the optimal assignment")
        bar = st.empty()
        batch = attempt(wf.run_batch, engine(), actor(), cid, mode=mode, k=int(k) or None,
                        seed=int(seed), q=float(q), diversity=diversity,
                        pinned=_pairs(pinned), forbidden=_pairs(forbidden),
                        text_model=None if text_model == "the call's" else text_model,
                        progress=lambda done, total: bar.progress(
                            done / total, text=f"Embedding texts: {done} of {total}"))
        if batch is None:
            status.update(label="The assignment could not run", state="error", expanded=True)
            st.stop()
        st.write(f"Stored as preview batch {batch.batch_id}")
        status.update(label=f"Batch {batch.batch_id}: {batch.result.status}, "
                      f"{batch.result.seconds:.1f} s", state="complete", expanded=False)
    st.session_state[BATCH] = batch

batch = st.session_state.get(BATCH)
if batch is None:
    st.info("Set the parameters and run the assignment; the result is a preview until you "
            "publish it.")
    st.stop()
result = batch.result
st.subheader(f"Preview of batch {batch.batch_id}")
figures = st.columns(5)
figures[0].metric("Status", result.status, help="complete: every proposal gets its full panel; "
               "partial: some cannot (listed below, with why)")
figures[1].metric("Coverage", f"{result.coverage:.1%}", help="The share of the expert places "
               "still to fill that this batch fills")
figures[2].metric("Slots filled", f"{result.slots_filled} / {result.slots_demanded}",
               help="Expert places filled by this batch (pinned pairs included) out of the "
               "places proposals still need")
figures[3].metric("Total affinity", f"{result.objective:.1f}", help="The sum of the affinities "
               "(0 to 1: how well an expert's profile matches a proposal) of every pair")
figures[4].metric("Worst panel affinity", f"{result.min_proposal_affinity:.2f}",
               help="The lowest sum of affinities of one proposal's panel: how well the "
               "worst-served proposal is covered")
suggestion = fair_suggestion(result.mode, result.pairs)
if suggestion:
    st.info(md(suggestion), icon=":material/balance:")
names = attempt(cached.names, cid)
for message in result.messages:
    st.warning(md(message))
if result.shortfalls.height:
    st.markdown("**Proposals without their full panel**")
    st.dataframe(result.shortfalls, hide_index=True)
if result.potential_used.height:
    st.markdown(f"**{result.potential_used.height} potential conflicts still used** (likely "
                "organisation matches the assignment could not avoid; confirm or dismiss them "
                "on the Conflicts page)")
    st.dataframe(result.potential_used, hide_index=True)
st.markdown(f"**Expertise**: the share of the {batch.quality['with_fields']} proposals with "
            "fields that have an assigned expert in their field, at least at each level")
for col, (level, share) in zip(st.columns(3), batch.quality["field_coverage"].items(),
                               strict=True):
    col.metric(f"{level.capitalize()} field", "–" if share is None else f"{share:.0%}")
if batch.quality["low_affinity"]:
    st.markdown(f"**Where to recruit:** best eligible expert below affinity "
                f"{batch.quality['low_affinity_below']}")
    st.dataframe(pl.DataFrame(batch.quality["low_affinity"]), hide_index=True)
st.markdown("**Why each expert** (rank among the proposal's eligible experts)")
explained = batch.explanations.select("proposal_id", "expert_id", "rank", "explanation")
st.dataframe(with_names(explained, names) if names is not None else explained,
             hide_index=True, height=260)

changes = attempt(batch_changes, engine(), actor(), batch.batch_id, call_id=cid)
if changes is not None:
    counts = dict(changes.group_by("change").len().rows())
    st.markdown("**Change-set against the published assignment:** "
                + ", ".join(f"{counts.get(c, 0)} {c}" for c in ("added", "kept", "removed")))
    if counts.get("conflicted"):
        st.warning(f"{counts['conflicted']} started task(s) are now excluded by the conflict "
                   "rule: the batch leaves them as they are (Follow-up lists them, to decline "
                   "or keep).")
    st.caption(md(change_set_words(changes, names)))
    st.dataframe(with_names(changes, names) if names is not None else changes, hide_index=True,
                 height=260)

left, right = st.columns(2)
with left:
    st.markdown("**Affinity of the assigned pairs**")
    st.altair_chart(alt.Chart(result.pairs.select("affinity")).mark_bar().encode(
        alt.X("affinity:Q", bin=alt.Bin(maxbins=20), title="affinity"),
        alt.Y("count():Q", title="pairs")).properties(height=220))
with right:
    st.markdown("**Expert load**")
    loads = pl.DataFrame({"load": list(result.load_histogram),
                          "experts": list(result.load_histogram.values())})
    st.altair_chart(alt.Chart(loads).mark_bar().encode(
        alt.X("load:O", title="proposals per expert"),
        alt.Y("experts:Q", title="experts")).properties(height=220))

st.subheader(f"Publish or discard batch {batch.batch_id} of {md(cid)}")
publish_col, discard_col = st.columns(2)
with publish_col:
    sure = st.checkbox(
        "I understand that publishing cannot be undone: the added pairs become tasks in the "
        "experts' queues and the removed pairs' tasks are withdrawn (a later batch can change "
        "the assignment again, not take this one back).",
        key=call_key(f"sure_publish_{batch.batch_id}", cid))
    if st.button("Publish this batch", type="primary", icon=":material/publish:",
                 disabled=not sure):
        done = attempt(publish_batch, engine(), actor(), batch.batch_id, call_id=cid)
        if done is not None:
            st.session_state.pop(BATCH)
            bump()
            st.session_state[NOTE] = f"Batch {batch.batch_id} published: {md(done)}"
            st.rerun()
with discard_col:
    drop = st.checkbox(
        "I understand that discarding cannot be undone: this preview can no longer be "
        "published (running the assignment again makes a new one).",
        key=call_key(f"sure_discard_{batch.batch_id}", cid))
    if st.button("Discard", disabled=not drop) and act(
            discard_batch, engine(), actor(), batch.batch_id, call_id=cid):
        st.session_state.pop(BATCH)
        st.session_state[NOTE] = f"Batch {batch.batch_id} discarded."
        st.rerun()
