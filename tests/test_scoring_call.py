"""score_call on hand-computed cases: every rule and its boundary.

erasmus-afi (Programme Guide 2026, pp. 303-311): relevance 25/13, quality 30/16, partnership
25/13, impact 20/11; pass 70; ties relevance, quality, impact. Practice: total_gap 30 (skip when
all totals < 70); closest_two; strict.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from scoring import LotRules, Scheme, load_scheme, score_call

AFI = load_scheme("erasmus-afi")
CRITS = ("relevance", "quality", "partnership", "impact")


def evaluation(
    pid: str, eid: str, *points: float, criteria: tuple[str, ...] = CRITS
) -> list[tuple[str, str, str, float]]:
    return [(pid, eid, c, float(p)) for c, p in zip(criteria, points, strict=True)]


def frame(*evaluations: list[tuple[str, str, str, float]]) -> pl.DataFrame:
    rows = [r for e in evaluations for r in e]
    return pl.DataFrame(
        rows, schema=["proposal_id", "expert_id", "criterion", "score"], orient="row"
    )


def proposals(
    requests: dict[str, float], lot: str = "L1", ecosystems: dict[str, list[str]] | None = None
) -> pl.DataFrame:
    ids = sorted(requests)
    return pl.DataFrame(
        {
            "proposal_id": ids,
            "lot": [lot] * len(ids),
            "requested_eur": [float(requests[i]) for i in ids],
            "ecosystems": [(ecosystems or {}).get(i, []) for i in ids],
        },
        schema_overrides={"ecosystems": pl.List(pl.String), "requested_eur": pl.Float64},
    )


def row(result_frame: pl.DataFrame, pid: str) -> dict[str, Any]:
    return result_frame.filter(pl.col("proposal_id") == pid).row(0, named=True)


def two_same(pid: str, *points: float) -> list[list[tuple[str, str, str, float]]]:
    return [evaluation(pid, "E1", *points), evaluation(pid, "E2", *points)]


def test_total_exactly_at_pass_mark_passes() -> None:
    # 18 + 21 + 14 + 17 = 70 for both experts: mean total 70 = threshold.
    r = score_call(frame(*two_same("P1", 18, 21, 17, 14)), AFI)
    p = row(r.proposals, "P1")
    assert (p["total"], p["passed"], p["fail_reasons"], p["decision"]) == (70, True, [], "passed")
    assert r.ok


def test_half_a_point_below_pass_mark_fails() -> None:
    # partnership 17 and 16 -> 16.5; total (70 + 69) / 2 = 69.5
    r = score_call(
        frame(evaluation("P1", "E1", 18, 21, 17, 14), evaluation("P1", "E2", 18, 21, 16, 14)), AFI
    )
    p = row(r.proposals, "P1")
    assert p["partnership"] == 16.5
    assert p["total"] == 69.5
    assert p["passed"] is False
    assert p["fail_reasons"] == ["total 69.5 < 70"]
    assert p["decision"] == "rejected"
    assert p["rank"] is None


def test_criterion_exactly_at_minimum_passes_and_half_below_fails() -> None:
    # quality at its minimum 16, impact at its minimum 11: 25 + 16 + 25 + 11 = 77
    at = score_call(frame(*two_same("P1", 25, 16, 25, 11)), AFI)
    assert row(at.proposals, "P1")["passed"] is True
    below = score_call(
        frame(evaluation("P1", "E1", 25, 16, 25, 11), evaluation("P1", "E2", 25, 15, 25, 10)), AFI
    )
    p = row(below.proposals, "P1")
    assert p["total"] == 76
    assert p["fail_reasons"] == ["quality 15.5 < 16", "impact 10.5 < 11"]


def test_every_failure_is_named() -> None:
    # relevance (12+12)/2 = 12 < 13; impact 8.5 < 11; total 12+20+20+8.5 = 60.5 < 70
    r = score_call(
        frame(evaluation("P1", "E1", 12, 20, 20, 8), evaluation("P1", "E2", 12, 20, 20, 9)), AFI
    )
    assert row(r.proposals, "P1")["fail_reasons"] == [
        "relevance 12 < 13",
        "impact 8.5 < 11",
        "total 60.5 < 70",
    ]


def test_bands_per_criterion_and_total() -> None:
    # relevance 21.25/25 = 85 % -> Very good (boundary); quality 21/30 = 70 % -> Good (boundary);
    # partnership 12.5/25 = 50 % -> Fair (boundary); impact 9.5/20 = 47.5 % -> Weak;
    # total 64.25 % -> Fair
    r = score_call(
        frame(
            evaluation("P1", "E1", 21, 21, 12, 9),
            evaluation("P1", "E2", 22, 21, 13, 10),
            evaluation("P1", "E3", 21, 21, 13, 10),
            evaluation("P1", "E4", 21, 21, 12, 9),
        ),
        load_scheme("erasmus-afi", {"experts_per_proposal": 4}),
    )
    p = row(r.proposals, "P1")
    assert (p["relevance"], p["quality"], p["partnership"], p["impact"]) == (21.25, 21, 12.5, 9.5)
    assert (p["relevance_band"], p["quality_band"], p["partnership_band"], p["impact_band"]) == (
        "Very good",
        "Good",
        "Fair",
        "Weak",
    )
    assert p["total"] == 64.25
    assert p["band"] == "Fair"


def test_gap_of_exactly_total_gap_diverges() -> None:
    # totals 80 and 50: gap 30 = total_gap
    r = score_call(
        frame(evaluation("P1", "E1", 20, 24, 20, 16), evaluation("P1", "E2", 13, 15, 12, 10)), AFI
    )
    p = row(r.proposals, "P1")
    assert (p["divergent"], p["needs_expert"], p["decision"]) == (True, True, "pending")
    assert "needs another expert" in p["pending_reason"]
    assert p["rank"] is None
    assert "divergent" in r.warnings["kind"].to_list()


def test_gap_just_under_total_gap_does_not_diverge() -> None:
    # totals 80 and 51: gap 29 (impact 13 passes its minimum)
    r = score_call(
        frame(evaluation("P1", "E1", 20, 24, 20, 16), evaluation("P1", "E2", 13, 15, 13, 10)), AFI
    )
    p = row(r.proposals, "P1")
    assert (p["divergent"], p["needs_expert"], p["pending_reason"]) == (False, False, None)
    assert p["total"] == 65.5
    assert p["decision"] == "rejected"


def test_both_totals_below_pass_mark_skip_divergence() -> None:
    # totals 65 and 30: gap 35, but both < 70: no extra expert, rejected
    evals = frame(evaluation("P1", "E1", 16, 20, 17, 12), evaluation("P1", "E2", 7, 9, 8, 6))
    p = row(score_call(evals, AFI).proposals, "P1")
    assert (p["divergent"], p["needs_expert"], p["decision"]) == (False, False, "rejected")
    no_skip = load_scheme("erasmus-afi", {"divergence": {"skip_if_all_below": False}})
    q = row(score_call(evals, no_skip).proposals, "P1")
    assert (q["divergent"], q["needs_expert"], q["decision"]) == (True, True, "pending")


def test_one_total_exactly_at_pass_mark_is_not_all_below() -> None:
    # totals 70 and 40: 70 is not below the pass mark, gap 30 -> divergent
    r = score_call(
        frame(evaluation("P1", "E1", 18, 21, 17, 14), evaluation("P1", "E2", 10, 12, 10, 8)), AFI
    )
    assert row(r.proposals, "P1")["divergent"] is True


def test_third_expert_closest_two() -> None:
    # totals E1 80, E2 50, E3 75: closest are E1 and E3 (gap 5): criterion means of those two
    evals = frame(
        evaluation("P1", "E1", 20, 24, 20, 16),
        evaluation("P1", "E2", 13, 15, 12, 10),
        evaluation("P1", "E3", 19, 23, 18, 15),
    )
    r = score_call(evals, AFI)
    p = row(r.proposals, "P1")
    assert (p["relevance"], p["quality"], p["partnership"], p["impact"]) == (19.5, 23.5, 19, 15.5)
    assert p["total"] == 77.5
    assert (p["divergent"], p["needs_expert"], p["final_rule"]) == (True, False, "closest_two")
    assert (p["experts"], p["decision"], p["rank"]) == (3, "passed", 1)
    counted = dict(r.evaluations.select("expert_id", "counted").iter_rows())
    assert counted == {"E1": True, "E2": False, "E3": True}
    # mean_all instead: (80 + 50 + 75) / 3 = 68.33 -> fails
    q = row(
        score_call(evals, load_scheme("erasmus-afi", {"third_expert_rule": "mean_all"})).proposals,
        "P1",
    )
    assert q["total"] == pytest.approx(205 / 3)
    assert q["fail_reasons"] == ["total 68.33 < 70"]
    assert q["final_rule"] == "mean_all"


def test_closest_two_equal_gaps_take_the_higher_pair() -> None:
    # totals 80, 65, 50: gaps 15 and 15 -> the higher pair (80, 65) = 72.5
    evals = frame(
        evaluation("P1", "E1", 20, 24, 20, 16),
        evaluation("P1", "E2", 17, 20, 16, 12),
        evaluation("P1", "E3", 13, 15, 12, 10),
    )
    assert row(score_call(evals, AFI).proposals, "P1")["total"] == 72.5


def test_consensus_scores_replace_means() -> None:
    evals = frame(*two_same("P1", 18, 21, 17, 14))
    consensus = pl.DataFrame(
        {"proposal_id": ["P1"] * 4, "criterion": list(CRITS), "score": [20.0, 22.0, 15.0, 18.0]}
    )
    r = score_call(evals, AFI, consensus=consensus)
    p = row(r.proposals, "P1")
    assert (p["total"], p["consolidated"], p["final_rule"]) == (75, True, "consensus")


def test_consensus_rule_waits_for_consolidated_scores() -> None:
    ria = load_scheme("horizon-ria")
    high = ("excellence", "impact", "implementation")
    evals = frame(
        *[
            evaluation("P1", e, *s, criteria=high)
            for e, s in [
                ("E1", (5, 5, 5)),
                ("E2", (2.5, 3, 3)),
                ("E3", (4.5, 4.5, 4.5)),
                ("E4", (4, 4.5, 4)),
            ]
        ]
    )
    # totals 15, 8.5, 13.5, 12.5: gap 6.5 >= 4.5 and four experts > 3
    p = row(score_call(evals, ria).proposals, "P1")
    assert (p["divergent"], p["needs_expert"]) == (True, False)
    assert p["decision"] == "pending"
    assert p["pending_reason"] == "divergent: needs consolidated scores"
    consensus = pl.DataFrame(
        {"proposal_id": ["P1"] * 3, "criterion": list(high), "score": [4.5, 4.0, 4.0]}
    )
    q = row(score_call(evals, ria, consensus=consensus).proposals, "P1")
    assert (q["total"], q["decision"], q["final_rule"]) == (12.5, "passed", "consensus")


def test_missing_evaluation_is_pending() -> None:
    r = score_call(frame(evaluation("P1", "E1", 25, 30, 25, 20)), AFI)
    p = row(r.proposals, "P1")
    assert p["decision"] == "pending"
    assert p["pending_reason"] == "needs 1 more evaluation(s) of 2"
    # a lot asking for one expert only makes it complete
    one = score_call(
        frame(evaluation("P1", "E1", 25, 30, 25, 20)),
        AFI,
        proposals({"P1": 10.0}),
        {"L1": LotRules(None, None, 1)},
    )
    assert row(one.proposals, "P1")["decision"] == "passed"


def test_criterion_disagreement_warning() -> None:
    # impact 9 and 13 straddle the minimum 11 (mean 11 passes)
    r = score_call(
        frame(evaluation("P1", "E1", 20, 24, 20, 9), evaluation("P1", "E2", 20, 24, 20, 13)), AFI
    )
    w = r.warnings.filter(pl.col("kind") == "criterion_disagreement")
    assert w.select("proposal_id", "criterion").rows() == [("P1", "impact")]
    assert "9 to 13 straddle the minimum 11" in w["message"][0]
    assert row(r.proposals, "P1")["passed"] is True


def test_ties_on_total_broken_by_tie_break() -> None:
    # all totals 80; keys relevance, quality, impact. B: relevance 22; E: relevance 20, quality
    # 25 > 24; C: relevance 20, quality 24, impact 17 > A's 16; D equals A on every criterion ->
    # ex aequo: they share rank 4 and stay marked tied (listed by id, never ordered by it).
    # Partnership is no key: E's lower partnership is ignored.
    evals = frame(
        *two_same("A", 20, 24, 20, 16),
        *two_same("B", 22, 22, 20, 16),
        *two_same("C", 20, 24, 19, 17),
        *two_same("D", 20, 24, 20, 16),
        *two_same("E", 20, 25, 19, 16),
    )
    r = score_call(evals, AFI)
    assert r.proposals.sort("rank")["proposal_id"].to_list() == ["B", "E", "C", "A", "D"]
    assert r.proposals.sort("rank")["rank"].to_list() == [1, 2, 3, 4, 4]
    assert r.proposals.sort("rank")["tied"].to_list() == [False, False, False, True, True]


def test_ranking_weights_rank_only() -> None:
    ia = load_scheme("horizon-ia")
    crit = ("excellence", "impact", "implementation")
    # A: 5 + 3 + 5 = 13, rank score 5 + 4.5 + 5 = 14.5; B: 3.5 + 5 + 4 = 12.5 -> 3.5 + 7.5 + 4 = 15
    evals = frame(
        *[
            evaluation(p, e, *s, criteria=crit)
            for p, s in [("A", (5, 3, 5)), ("B", (3.5, 5, 4))]
            for e in ("E1", "E2", "E3")
        ]
    )
    r = score_call(evals, ia)
    assert r.proposals.sort("rank")["proposal_id"].to_list() == ["B", "A"]
    assert (row(r.proposals, "A")["total"], row(r.proposals, "A")["rank_score"]) == (13, 14.5)
    assert row(r.proposals, "B")["rank_score"] == 15
    # the same scores rank by total under RIA
    assert score_call(evals, load_scheme("horizon-ria")).proposals.sort("rank")[
        "proposal_id"
    ].to_list() == ["A", "B"]


def _budget_case(funding: str) -> pl.DataFrame:
    scheme: Scheme = load_scheme("erasmus-afi", {"funding": funding})
    # ranks by total: P1 90, P2 85, P3 80, P4 60 (rejected)
    evals = frame(
        *two_same("P1", 23, 27, 22, 18),
        *two_same("P2", 22, 25, 21, 17),
        *two_same("P3", 20, 24, 20, 16),
        *two_same("P4", 15, 18, 15, 12),
    )
    props = proposals({"P1": 100_000, "P2": 200_000, "P3": 50_000, "P4": 10_000})
    return score_call(evals, scheme, props, {"L1": LotRules(250_000)}).proposals


def test_budget_strict_stops_at_first_that_does_not_fit() -> None:
    out = _budget_case("strict")
    assert dict(out.select("proposal_id", "decision").iter_rows()) == {
        "P1": "funded",
        "P2": "reserve",
        "P3": "reserve",
        "P4": "rejected",
    }
    assert dict(out.select("proposal_id", "reserve_position").iter_rows()) == {
        "P1": None,
        "P2": 1,
        "P3": 2,
        "P4": None,
    }


def test_budget_skip_looks_further_down() -> None:
    out = _budget_case("skip")
    assert dict(out.select("proposal_id", "decision").iter_rows()) == {
        "P1": "funded",
        "P2": "reserve",
        "P3": "funded",
        "P4": "rejected",
    }


def test_budget_used_exactly() -> None:
    evals = frame(
        *two_same("P1", 23, 27, 22, 18),
        *two_same("P2", 22, 25, 21, 17),
        *two_same("P3", 20, 24, 20, 16),
    )
    props = proposals({"P1": 100_000, "P2": 150_000, "P3": 0.01})
    out = score_call(evals, AFI, props, {"L1": LotRules(250_000)}).proposals
    assert out.sort("rank")["decision"].to_list() == ["funded", "funded", "reserve"]


def test_one_per_ecosystem() -> None:
    # P1 (Digital) 90, P2 (Digital) 85, P3 (Health) 80; budget for all three
    evals = frame(
        *two_same("P1", 23, 27, 22, 18),
        *two_same("P2", 22, 25, 21, 17),
        *two_same("P3", 20, 24, 20, 16),
    )
    props = proposals(
        {"P1": 1.0, "P2": 1.0, "P3": 1.0},
        ecosystems={"P1": ["Digital", "Health"], "P2": ["Digital"], "P3": ["Health", "Digital"]},
    )
    limited = score_call(evals, AFI, props, {"L1": LotRules(10.0, "ecosystem")})
    assert limited.proposals.sort("rank")["decision"].to_list() == ["funded", "reserve", "funded"]
    assert "one_per" in limited.warnings["kind"].to_list()
    free = score_call(evals, AFI, props, {"L1": LotRules(10.0)}).proposals
    assert free.sort("rank")["decision"].to_list() == ["funded"] * 3


def test_lots_rank_separately() -> None:
    evals = frame(
        *two_same("P1", 23, 27, 22, 18),
        *two_same("P2", 22, 25, 21, 17),
        *two_same("P3", 20, 24, 20, 16),
    )
    props = pl.concat(
        [proposals({"P1": 1.0, "P3": 1.0}, lot="L1"), proposals({"P2": 1.0}, lot="L2")]
    )
    out = score_call(evals, AFI, props, {"L1": LotRules(1.0), "L2": LotRules(5.0)}).proposals
    assert out.select("proposal_id", "lot", "rank", "decision").rows() == [
        ("P1", "L1", 1, "funded"),
        ("P3", "L1", 2, "reserve"),
        ("P2", "L2", 1, "funded"),
    ]


def test_without_proposals_one_lot_and_no_funding() -> None:
    evals = frame(
        *two_same("P1", 23, 27, 22, 18),
        *two_same("P2", 10, 10, 10, 10),
        evaluation("P3", "E1", 20, 20, 20, 20),
    )
    out = score_call(evals, AFI).proposals
    assert set(out["lot"]) == {"-"}
    assert dict(out.select("proposal_id", "decision").iter_rows()) == {
        "P1": "passed",
        "P2": "rejected",
        "P3": "pending",
    }


def test_proposal_without_scores_and_unknown_scores() -> None:
    evals = frame(*two_same("P1", 23, 27, 22, 18), *two_same("PX", 23, 27, 22, 18))
    r = score_call(evals, AFI, proposals({"P1": 1.0, "P2": 1.0}), {"L1": LotRules(5.0)})
    assert r.proposals["proposal_id"].to_list() == ["P1", "P2"]
    p2 = row(r.proposals, "P2")
    assert (p2["experts"], p2["decision"], p2["pending_reason"]) == (0, "pending", "no evaluations")
    assert r.warnings.filter(pl.col("kind") == "unknown_proposal")["proposal_id"].to_list() == [
        "PX"
    ]


def test_row_problems_located_and_evaluation_left_out() -> None:
    evals = pl.DataFrame(
        {
            "proposal_id": ["P1"] * 4 + ["P1"] * 4 + ["P2"] * 5,
            "expert_id": ["E1"] * 4 + ["E2"] * 4 + ["E1"] * 5,
            "criterion": [
                *CRITS,
                "relevance",
                "quality",
                "partnership",
                "ethics",
                *CRITS,
                "impact",
            ],
            "score": [20, 24, 16, 20, 26, 24.5, 16, 3, 20, 24, 16, 20, 19],
        },
        schema_overrides={"score": pl.Float64},
    )
    r = score_call(evals, AFI)
    assert not r.ok
    assert r.problems.select("row", "column", "problem").rows() == [
        (4, "criterion", "incomplete evaluation: no score for impact"),
        (4, "score", "26 is outside 0..25"),
        (5, "score", "24.5 is not a multiple of the step 1"),
        (
            7,
            "criterion",
            "unknown criterion 'ethics': scheme erasmus-afi has relevance, "
            "quality, partnership, impact",
        ),
        (12, "criterion", "duplicate: this evaluation already scores 'impact' on row 11"),
    ]
    # P1 keeps only E1's evaluation (E2's has problems); P2's only evaluation is discarded
    p1, p2 = row(r.proposals, "P1"), row(r.proposals, "P2")
    assert (p1["experts"], p1["total"]) == (1, 80)
    assert (p2["experts"], p2["decision"]) == (0, "pending")


def test_missing_columns_reported() -> None:
    evals = pl.DataFrame({"proposal_id": ["P1"], "criterion": ["impact"], "score": [3.0]})
    r = score_call(evals, AFI)
    assert r.problems.select("row", "column").rows() == [(None, "expert_id")]


def test_lot_without_budget_is_not_funded() -> None:
    evals = frame(*two_same("P1", 23, 27, 22, 18))
    r = score_call(evals, AFI, proposals({"P1": 1.0}, lot="L9"), {"L1": LotRules(10.0)})
    assert row(r.proposals, "P1")["decision"] == "passed"
    assert r.warnings.filter(pl.col("kind") == "no_budget")["message"].to_list() == [
        "lot L9: no budget given: funding not decided"
    ]


def test_consolidated_scores_without_evaluations() -> None:
    empty = frame()
    consensus = pl.DataFrame(
        {"proposal_id": ["P1"] * 4, "criterion": list(CRITS), "score": [20.0, 25.0, 15.0, 20.0]}
    )
    p = row(score_call(empty, AFI, consensus=consensus).proposals, "P1")
    assert (p["experts"], p["total"], p["final_rule"], p["decision"]) == (
        0,
        80,
        "consensus",
        "passed",
    )
