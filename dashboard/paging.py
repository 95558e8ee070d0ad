"""Large tables one page at a time: a text filter, a page number, and only that page's rows
sent to the browser (a table of a million rows would be sent whole otherwise, and take
seconds to arrive and draw)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import polars as pl
import streamlit as st

PAGE_ROWS = 500


class Rows(Protocol):
    """What a page is cut from: a polars frame, or rows built a page at a time."""

    @property
    def height(self) -> int: ...

    def slice(self, offset: int, length: int | None = None) -> pl.DataFrame: ...


def text_filter(
    frame: pl.DataFrame,
    text: str,
    columns: Sequence[str],
    also: Callable[[str], pl.Expr] | None = None,
) -> pl.DataFrame:
    """The rows where any of ``columns`` contains ``text`` (case-insensitive, literally), or
    where ``also(needle)`` (the lower-cased text) holds: a match found elsewhere, e.g. on names
    that are joined on the rows of one page only."""
    needle = text.strip().lower()
    if not needle or not (columns or also):
        return frame
    hit = pl.any_horizontal(
        *(pl.col(c).cast(pl.String).str.to_lowercase().str.contains(needle, literal=True)
          for c in columns),
        *([also(needle)] if also is not None else []),
    )
    return frame.filter(hit.fill_null(False))


def paged_table(
    frame: Rows,
    key: str,
    *,
    search: Sequence[str] = (),
    rows: int = PAGE_ROWS,
    what: str = "rows",
    also: Callable[[str], pl.Expr] | None = None,
    label: str | None = None,
    decorate: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    whole: Callable[[], pl.DataFrame] | None = None,
    **dataframe: Any,
) -> Rows:
    """Show ``frame`` filtered by the text typed in (over the ``search`` columns, or where
    ``also`` holds: see :func:`text_filter`) one page of ``rows`` at a time; returns the
    filtered rows. ``frame``: a polars frame, or rows built a page at a time (a million pairs
    need not exist as one frame to show 500 of them), whose filter applies to ``whole()``, the
    same rows as one frame, built only once a filter is typed. ``label``: the filter's label
    (default: the searched columns); ``decorate``: applied to the page's rows only before they
    are shown (names, links), so a table of a million rows is never joined whole.
    ``dataframe``: passed to ``st.dataframe``."""
    left, mid, right = st.columns([3, 1, 2], vertical_alignment="bottom")
    text = left.text_input(label or (f"Filter ({', '.join(search)})" if search else "Filter"),
                           key=f"{key}_filter", placeholder="part of an id or a name")
    shown: Rows = frame
    if text.strip():
        if isinstance(frame, pl.DataFrame):
            every = frame
        elif whole is not None:
            every = whole()
        else:
            raise ValueError("paged_table: rows built a page at a time need `whole` to filter")
        shown = text_filter(every, text, search, also)
    pages = max(1, math.ceil(shown.height / rows))
    page_key = f"{key}_page"
    held = st.session_state.get(page_key)
    if not isinstance(held, int) or not 1 <= held <= pages:  # a narrower filter has fewer pages
        st.session_state[page_key] = 1
    page = int(mid.number_input("Page", min_value=1, max_value=pages, step=1, key=page_key))
    first = (page - 1) * rows
    right.caption(f"{shown.height:,} {what}" + (f" of {frame.height:,}" if text.strip() else "")
                  + (f" · rows {first + 1:,}–{min(first + rows, shown.height):,}"
                     if shown.height > rows else ""))
    page_rows = shown.slice(first, rows)
    st.dataframe(decorate(page_rows) if decorate is not None else page_rows, hide_index=True,
                 **dataframe)
    return shown
