"""Large tables a manager reads: filters by lot, state and text above them (sorting is the
table's own: click a column header), and a link from each proposal row to its page.

The filters only narrow what is shown; every number in the rows comes from a service.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

import polars as pl
import streamlit as st

PROPOSAL_PAGE = "proposal"  # the url path of dashboard/pages/proposal.py


def _page_prefix() -> str:
    """``proposal?<the page address's other parameters>&proposal=``: the selected call and
    any other parameter of the current address are kept."""
    params = {k: v for k, v in st.query_params.to_dict().items() if k != "proposal"}
    return f"{PROPOSAL_PAGE}?" + (f"{urlencode(params)}&" if params else "") + "proposal="


def proposal_url(proposal_id: str) -> str:
    """The proposal page of ``proposal_id``, relative to the current page (see
    :func:`_page_prefix`)."""
    return _page_prefix() + quote(proposal_id, safe="")


def with_links(frame: pl.DataFrame, column: str = "proposal_id") -> pl.DataFrame:
    """``frame`` with a ``page`` column (first) linking each row's proposal to its page; show it
    with ``link_config()``. Ids are percent-encoded only where needed (a table may hold
    100,000 rows)."""
    if column not in frame.columns or frame.is_empty():
        return frame
    ids = frame[column].cast(pl.String)
    unsafe = ids.filter(~ids.str.contains(r"^[A-Za-z0-9._~-]*$")).unique().drop_nulls()
    if unsafe.len():  # most ids need no encoding: encode only the others
        ids = ids.replace({p: quote(p, safe="") for p in unsafe.to_list()})
    return frame.select((pl.lit(_page_prefix()) + ids).alias("page"), pl.all())


def link_config() -> dict[str, Any]:
    """The column configuration of :func:`with_links`' ``page`` column."""
    return {"page": st.column_config.LinkColumn("page", display_text="open", width="small",
                                                help="The proposal's page")}


def filtered(
    frame: pl.DataFrame,
    key: str,
    *,
    lot: str | None = "lot",
    state: str | None = "state",
    text: Sequence[str] = ("proposal_id", "title", "coordinator", "expert_id", "expert_name"),
    state_label: str = "State",
    states: Sequence[str] | None = None,
    default_states: Sequence[str] = (),
) -> pl.DataFrame:
    """Filters above a table: lot and state (pills of the values present, or of ``states``;
    none picked shows all) and a text search (case-insensitive, in any of the ``text`` columns
    present). Returns the rows kept; a caption says how many of how many."""
    out = frame
    if lot and lot in frame.columns:
        lots = sorted(v for v in frame[lot].unique().to_list() if v is not None)
        if len(lots) > 1:
            chosen = st.pills("Lot", lots, selection_mode="multi", key=f"{key}_lot")
            if chosen:
                out = out.filter(pl.col(lot).is_in(chosen))
    if state and state in frame.columns:
        present = sorted(v for v in frame[state].unique().to_list() if v is not None)
        options = list(states) if states is not None else present
        picked = st.pills(state_label, options, selection_mode="multi", key=f"{key}_state",
                          default=[s for s in default_states if s in options])
        if picked:
            out = out.filter(pl.col(state).is_in(picked))
    searched = [c for c in text if c in frame.columns]
    if searched:
        needle = st.text_input("Search", key=f"{key}_text",
                               placeholder="id, title, coordinator or name").strip()
        if needle:
            low = needle.lower()
            out = out.filter(pl.any_horizontal(
                pl.col(c).cast(pl.String).str.to_lowercase().str.contains(low, literal=True)
                .fill_null(False) for c in searched))
    if out.height != frame.height:
        st.caption(f"{out.height} of {frame.height} rows match the filters.")
    return out
