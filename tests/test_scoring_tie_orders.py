"""Ex-aequo proposals and the manager's recorded order among them, on hand-computed cases.

erasmus-afi (Programme Guide 2026, pp. 306, 309, 311): ex aequo by relevance, then quality, then
impact; what is still tied after that the engine leaves tied, until a manager records an order
with a justification (the Guide's "further prioritisation", Lots 1 and 2).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from scoring import LotRules, ScoreResult, TieOrder, load_scheme, score_call

AFI = load_scheme("erasmus-afi")
CRITS = ("relevance", "quality", "partnership", "impact")


def frame(points: dict[str, tuple[int, int, int, int]]) -> pl.DataFrame:
    """Two experts giving the same points to each proposal."""
    rows = [(pid, e, c, float(s)) for pid, pts in points.items() for e in ("E1", "E2")
            for c, s in zip(CRITS, pts, strict=True)]
    return pl.DataFrame(rows, schema=["proposal_id", "expert_id", "criterion", "score"],
                        orient="row")


def proposals(requests: dict[str, float], lot: str = "L1",
              ecosystems: dict[str, list[str]] | None = None) -> pl.DataFrame:
    ids = sorted(requests)
    return pl.DataFrame(
        {"proposal_id": ids, "lot": [lot] * len(ids),
         "requested_eur": [float(requests[i]) for i in ids],
         "ecosystems": [(ecosystems or {}).get(i, []) for i in ids]},
        schema_overrides={"ecosystems": pl.List(pl.String)},
    )


def table(result: ScoreResult) -> list[tuple[Any, ...]]:
    return result.proposals.select(
        "proposal_id", "rank", "tied", "tie_order_note", "decision", "reserve_position"
    ).rows()


# A: 20 + 24 + 20 + 16 = 80. B and C equal A on relevance, quality and impact (the keys) and on
# the total, with partnership 20 too: A, B, C are ex aequo. D: 80 with relevance 22: first.
# E: 75, below the tie.
POINTS = {
    "A": (20, 24, 20, 16), "B": (20, 24, 20, 16), "C": (20, 24, 20, 16),
    "D": (22, 22, 20, 16), "E": (19, 22, 18, 16),
}


def test_unresolved_tie_shares_a_rank_and_is_not_ordered() -> None:
    r = score_call(frame(POINTS), AFI)
    assert table(r) == [
        ("D", 1, False, None, "passed", None),
        ("A", 2, True, None, "passed", None),
        ("B", 2, True, None, "passed", None),
        ("C", 2, True, None, "passed", None),
        ("E", 5, False, None, "passed", None),
    ]


def test_a_recorded_order_resolves_the_tie_and_is_shown() -> None:
    note = "C complements the funded portfolio best (synergy with D)"
    order = TieOrder("L1", ("C", "A", "B"), note)
    r = score_call(frame(POINTS), AFI, proposals(dict.fromkeys(POINTS, 1.0)),
                   {"L1": LotRules(10.0)}, tie_orders=[order])
    assert table(r) == [
        ("D", 1, False, None, "funded", None),
        ("C", 2, False, note, "funded", None),
        ("A", 3, False, note, "funded", None),
        ("B", 4, False, note, "funded", None),
        ("E", 5, False, None, "funded", None),
    ]


def test_a_tie_at_the_funding_line_funds_none_of_it_until_ordered() -> None:
    # budget 3: D (1) fits; A, B, C (1 each) do not all fit in the 2 left
    props = proposals(dict.fromkeys(POINTS, 1.0))
    r = score_call(frame(POINTS), AFI, props, {"L1": LotRules(3.0)})
    assert table(r) == [
        ("D", 1, False, None, "funded", None),
        ("A", 2, True, None, "reserve", 1),
        ("B", 2, True, None, "reserve", 1),
        ("C", 2, True, None, "reserve", 1),
        ("E", 5, False, None, "reserve", 4),
    ]
    tie = r.warnings.filter(pl.col("kind") == "unresolved_tie")["message"].to_list()
    assert tie == ["lot L1: A, B, C are ex aequo and they do not all fit in the budget left: "
                   "none is funded until a manager records an order among them"]
    # with the manager's order, the walk funds down it: B then A, C is first in reserve
    ordered = score_call(frame(POINTS), AFI, props, {"L1": LotRules(3.0)},
                         tie_orders=[TieOrder("L1", ("B", "A", "C"), "portfolio")])
    assert [(p, d, q) for p, _, _, _, d, q in table(ordered)] == [
        ("D", "funded", None), ("B", "funded", None), ("A", "funded", None),
        ("C", "reserve", 1), ("E", "reserve", 2),
    ]
    # skip funding: the tie is passed over whole, and E (1) still fits
    skip = score_call(frame(POINTS), load_scheme("erasmus-afi", {"funding": "skip"}), props,
                      {"L1": LotRules(3.0)})
    assert dict(skip.proposals.select("proposal_id", "decision").iter_rows()) == {
        "D": "funded", "A": "reserve", "B": "reserve", "C": "reserve", "E": "funded"}


def test_a_tie_that_fits_whole_is_funded_whole() -> None:
    r = score_call(frame(POINTS), AFI, proposals(dict.fromkeys(POINTS, 1.0)),
                   {"L1": LotRules(4.0)})
    assert dict(r.proposals.select("proposal_id", "decision").iter_rows()) == {
        "D": "funded", "A": "funded", "B": "funded", "C": "funded", "E": "reserve"}
    assert r.warnings.filter(pl.col("kind") == "unresolved_tie").is_empty()


def test_one_per_ecosystem_inside_a_tie_is_not_decided_by_the_engine() -> None:
    # A and B share Digital: only one could be funded, and nothing says which
    props = proposals(dict.fromkeys(POINTS, 1.0), ecosystems={
        "A": ["Digital"], "B": ["Digital"], "C": ["Health"], "D": ["Tourism"], "E": ["Textile"]})
    r = score_call(frame(POINTS), AFI, props, {"L1": LotRules(10.0, "ecosystem")})
    assert dict(r.proposals.select("proposal_id", "decision").iter_rows()) == {
        "D": "funded", "A": "reserve", "B": "reserve", "C": "reserve", "E": "reserve"}
    assert "only one of them can be funded per ecosystem" in " ".join(
        r.warnings.filter(pl.col("kind") == "unresolved_tie")["message"].to_list())


def test_an_order_that_no_longer_matches_the_tie_is_not_applied() -> None:
    # B's impact rises by one: the tie is now A and C only; an order of A, B, C is stale
    changed = {**POINTS, "B": (20, 24, 19, 17)}
    props = proposals(dict.fromkeys(POINTS, 1.0))
    assert score_call(frame(changed), AFI, props, tie_orders=[
        TieOrder("L1", ("C", "A"), "now")]).proposals.filter(pl.col("tied")).is_empty()
    r = score_call(frame(changed), AFI, props, tie_orders=[TieOrder("L1", ("C", "A", "B"), "old")])
    assert [(p, k, t, n) for p, k, t, n, _, _ in table(r)] == [
        ("D", 1, False, None), ("B", 2, False, None), ("A", 3, True, None), ("C", 3, True, None),
        ("E", 5, False, None),
    ]
    stale = r.warnings.filter(pl.col("kind") == "tie_order_stale")["message"].to_list()
    assert stale == ["lot L1: the recorded order of C, A, B was not applied: those proposals are "
                     "no longer exactly one ex-aequo group (scores changed since it was recorded)"]
    # an order of part of a tie, or of another lot, is not applied either
    for order in (TieOrder("L1", ("C", "A"), "part"), TieOrder("L2", ("C", "A", "B"), "lot")):
        part = score_call(frame(POINTS), AFI, props, tie_orders=[order])
        assert part.proposals.filter(pl.col("tied"))["proposal_id"].to_list() == ["A", "B", "C"]
