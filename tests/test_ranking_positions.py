"""The ranking charts' places: proposals that share a rank get places of their own, in rank
order, and the funding line uses the same places (evalpanel.ranking)."""

from __future__ import annotations

import polars as pl

from evalpanel.ranking import funding_line, ranked_positions


def _lot() -> pl.DataFrame:
    # P2 and P3 are ex aequo at rank 2; P5 is not ranked (pending)
    return pl.DataFrame({
        "proposal_id": ["P3", "P1", "P2", "P4", "P5"],
        "title": ["c", "a", "b", "d", "e"],
        "rank": [2, 1, 2, 4, None],
        "total": [80.0, 90.0, 80.0, 75.0, None],
        "decision": ["reserve", "funded", "funded", "reserve", "pending"],
        "requested_eur": [300.0, 100.0, 200.0, None, 50.0],
    })


def test_tied_proposals_get_places_of_their_own_in_rank_order() -> None:
    placed = ranked_positions(_lot())
    assert placed["proposal_id"].to_list() == ["P1", "P2", "P3", "P4"]
    assert placed["position"].to_list() == [1, 2, 3, 4]
    assert placed.filter(pl.col("rank") == 2)["position"].n_unique() == 2


def test_the_funding_line_uses_the_same_places_and_sets_the_reserve_list_apart() -> None:
    line = funding_line(_lot())
    assert line["position"].to_list() == [1, 2, 3, 4]
    funded = line.filter(pl.col("part") == "funded")
    assert funded["to_eur"].to_list() == [100.0, 300.0]
    reserve = line.filter(pl.col("part") == "reserve list")
    # the reserve list continues above the funded total, a missing request as 0 EUR
    assert reserve["from_eur"].to_list() == [300.0, 600.0]
    assert reserve["to_eur"].to_list() == [600.0, 600.0]
    assert line["position"].n_unique() == line.height
