"""The applicant's released results: the Evaluation Summary Report of each proposal they speak
for, once the manager has released its lot. Nothing appears before the release."""

from __future__ import annotations

import streamlit as st

from dashboard.common import actor, attempt, engine
from evalpanel.reports import my_reports
from evalpanel.store.releases import read_released_report

st.title("Evaluation results")
mine = attempt(my_reports, engine(), actor())
if mine is None:
    st.stop()
if mine.is_empty():
    st.info("No results have been released for your proposals yet. You will find the "
            "Evaluation Summary Report here once the call manager releases them.")
    st.stop()
st.dataframe(mine.select("call_id", "proposal_id", "title", "released_at"), hide_index=True,
             use_container_width=True)
keys = [(c, p) for c, p in mine.select("call_id", "proposal_id").iter_rows()]
call, proposal = st.selectbox("Report", keys, format_func=lambda k: f"{k[1]} ({k[0]})")
if st.button("Open the report"):
    pdf = attempt(read_released_report, engine(), actor(), call, proposal, "pdf")
    html = attempt(read_released_report, engine(), actor(), call, proposal, "html")
    if isinstance(pdf, bytes) and isinstance(html, str):
        st.session_state["released"] = (proposal, pdf, html)
if "released" in st.session_state:
    pid, pdf, html = st.session_state["released"]
    st.download_button("Download the report (PDF)", pdf, f"{pid}.pdf", "application/pdf")
    st.download_button("Download the report (HTML)", html.encode("utf-8"), f"{pid}.html",
                       "text/html")
