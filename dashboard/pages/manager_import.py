"""Import a call: upload its files, see every problem located, then store it in one step."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from dashboard.common import actor, bump, engine
from dashboard.context import select_call
from dashboard.text import md
from evalpanel.callfolder import CallFolderError, read_call
from evalpanel.callfolder.problems import count, report
from evalpanel.store import StoreError, import_call

st.title("Import a call")
st.markdown(
    "Upload the call folder's files together: `call.toml`, `proposals`, `partners`, `experts` "
    "and, optionally, `conflicts`, `affinity` and `scores` (CSV, XLSX or Parquet). Every file "
    "is checked first; nothing is stored unless all of it is valid.")
files = st.file_uploader("Call files", accept_multiple_files=True,
                         type=["toml", "csv", "xlsx", "parquet"])
replace = st.checkbox("Replace the call if it is already imported (keeps its tasks)")
if "import_note" in st.session_state:
    st.success(st.session_state.pop("import_note"))

if files and st.button("Check and import", type="primary"):
    with tempfile.TemporaryDirectory(prefix="evalpanel-import-") as tmp:
        for f in files:
            (Path(tmp) / Path(f.name).name).write_bytes(f.getvalue())
        try:
            call = read_call(tmp)
        except CallFolderError as exc:
            n = count(exc.problems)
            st.error(f"{n:,} problem{'s' if n != 1 else ''} found; nothing was imported. "
                     "Correct the files and upload them again.")
            st.code("\n".join(report(exc.problems)), language=None)
            st.stop()
    with st.status("Importing…", expanded=False) as status:
        try:
            import_call(engine(), call, replace=replace, actor=actor())
        except StoreError as exc:
            status.update(label="Import refused", state="error", expanded=True)
            st.error(md(exc))
            st.stop()
        status.update(label="Imported", state="complete")
    st.session_state["import_note"] = (
        f"Imported {md(call.config.id)}: {call.proposals.height} proposals, "
        f"{call.experts.height} experts, {call.partners.height} partner rows.")
    select_call(call.config.id)  # the sidebar and the address show the imported call
    bump()
    st.rerun()
