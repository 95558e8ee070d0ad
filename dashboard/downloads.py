"""Table downloads that no spreadsheet runs as a formula.

Streamlit's own table toolbar would download a dataframe as raw CSV, so it is switched off for
the whole app (``client.disableDataExport``: set by ``evalpanel dashboard`` and again by the
app, see :func:`disable_table_export`). A page offers a download with :func:`csv_download`
instead, which writes the file with the export code (formula-like text neutralised, lists
joined as in the call-folder format).
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from evalpanel.store.exports import csv_bytes

EXPORT_OPTION = "client.disableDataExport"


def disable_table_export() -> None:
    """Switch off the dataframe toolbar's CSV download and copy (for a server started with
    ``streamlit run`` directly; ``evalpanel dashboard`` already passes the option)."""
    if not st.get_option(EXPORT_OPTION):
        st.set_option(EXPORT_OPTION, True)


def csv_download(frame: pl.DataFrame, file_name: str, label: str, *, key: str) -> None:
    """A button that downloads ``frame`` as the CSV export writes it. The file is written
    when the button is clicked, not on every run (the call's 10,000 tasks with their names
    are 1.8 MB that each visit of the page would otherwise send to the browser)."""
    st.download_button(label, lambda: csv_bytes(frame), file_name=file_name, mime="text/csv",
                       icon=":material/download:", key=key, on_click="ignore")
