"""Exports (CSV or XLSX, with formula-like cells neutralised) and the audit log.

A prepared file is kept per call, with the export and format it was made for: another call,
export or format never offers it (prepare it again)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from dashboard import cached
from dashboard.common import actor, attempt, call_id, engine
from dashboard.context import call_key
from evalpanel.store.exports import (
    CALL_TABLES,
    export_assignment,
    export_audit,
    export_call_table,
    export_consolidated,
    export_internal_comments,
    export_queues,
    export_ranking,
    export_scores,
    record_export,
)

st.title("Exports and audit log")
cid = call_id()
PREPARED = call_key("export", cid)
fmt = st.radio("Format", ["csv", "xlsx"], horizontal=True, key=call_key("export_format", cid))
MIME = {"csv": "text/csv",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _ranking(engine_: Any, actor_: Any, call: str, path: Path) -> Path:
    ranking = cached.ranking_view(call).proposals  # names and decision reasons
    written = export_ranking(ranking, path)
    record_export(engine_, actor_, call, "ranking", ranking.height, path.suffix[1:])
    return written


def _call_table(table: str) -> Callable[..., Path]:
    return lambda engine_, actor_, call, path: export_call_table(engine_, actor_, call, table,
                                                                 path)


EXPORTS: dict[str, Callable[..., Path]] = {
    "assignment": export_assignment, "queues": export_queues, "scores": export_scores,
    "internal comments": export_internal_comments, "consolidated": export_consolidated,
    "ranking": _ranking, "audit": export_audit,
    **{f"{table} (call folder)": _call_table(table) for table in CALL_TABLES},
}
what = st.selectbox("Export", list(EXPORTS), key=call_key("export_what", cid))
if st.button("Prepare the file", icon=":material/description:"):
    with tempfile.TemporaryDirectory(prefix="evalpanel-export-") as tmp:
        path = attempt(EXPORTS[what], engine(), actor(), cid, Path(tmp) / f"{what}.{fmt}")
        if path is not None:
            name = f"{cid}-{what.split(' (')[0].replace(' ', '-')}.{fmt}"
            st.session_state[PREPARED] = (what, fmt, name, path.read_bytes(), MIME[fmt])
prepared = st.session_state.get(PREPARED)
if prepared is not None and prepared[:2] == (what, fmt):
    _, _, name, data, mime = prepared
    st.download_button(f"Download {name}", data, file_name=name, mime=mime,
                       icon=":material/download:", on_click="ignore")
elif prepared is not None:
    st.caption(f"The file prepared earlier ({prepared[0]}, {prepared[1]}) is not this export "
               "or format: prepare the file again.")

st.subheader("Audit log")
log = attempt(cached.named_audit, cid)
if log is None:
    st.stop()
actions = sorted(log["action"].unique().to_list())
chosen = st.multiselect("Actions", actions)
if chosen:
    log = log.filter(pl.col("action").is_in(chosen))
latest = st.number_input("Latest lines", 100, max(100, log.height), min(1000, max(100, log.height)),
                         step=100)
st.caption(f"{log.height} lines; the export above holds all of them.")
st.dataframe(log.sort("audit_id", descending=True).head(int(latest)), hide_index=True,
             height=400)
