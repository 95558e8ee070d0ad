"""Recognise a pair table that lists every (proposal, expert) pair once, in id order.

A dense ``affinity.parquet`` exported by another system has P × E rows (10 M at 5,000 × 2,000),
sorted by ``proposal_id`` then ``expert_id``. Checking its id cells one by one (empty, stripped,
known, unique, in order) costs seconds; when the table is exactly that grid, two whole-column
comparisons prove all of it at once:

- the ``proposal_id`` column is P runs of E rows each, whose values are the sorted proposal ids;
- the first E ``expert_id`` cells are the sorted expert ids, and every row equals the row E
  before it.

Then every id is a known, non-empty id without surrounding spaces, no pair appears twice, and the
rows are in key order. Any other table goes through the cell-by-cell checks.
"""

from __future__ import annotations

import polars as pl


def sorted_ids(ids: pl.Series) -> pl.Series | None:
    """``ids`` sorted when they can index a grid (no null, no empty string, no repeat)."""
    if ids.dtype != pl.String or ids.len() == 0 or ids.null_count():
        return None
    ordered = ids.sort()
    if (ordered.first() == "") or not (ordered.slice(1) > ordered.slice(0, ids.len() - 1)).all():
        return None
    return ordered


def is_grid(frame: pl.DataFrame, proposal_ids: pl.Series, expert_ids: pl.Series) -> bool:
    """True when ``frame``'s ``proposal_id`` and ``expert_id`` columns list every pair of the
    (validated) id series exactly once, sorted by proposal then expert."""
    if {"proposal_id", "expert_id"} - set(frame.columns):
        return False
    props, experts = frame["proposal_id"], frame["expert_id"]
    if props.dtype != pl.String or experts.dtype != pl.String:
        return False
    p_ids, e_ids = sorted_ids(proposal_ids), sorted_ids(expert_ids)
    if p_ids is None or e_ids is None:
        return False
    # the assignment package (and OR-Tools with it) loads only when a call has a pair table
    from assignment.affinity import lists_every_pair

    return lists_every_pair(frame, p_ids, e_ids)
