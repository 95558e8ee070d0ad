"""Mock evaluation report of one rehearsed proposal."""

from __future__ import annotations

import polars as pl
import pytest

from scoring import load_scheme, mock_report

AFI = load_scheme("erasmus-afi")
CRITS = ("relevance", "quality", "partnership", "impact")


def rehearsal(*scorers: tuple[float, float, float, float], pid: str = "MY") -> pl.DataFrame:
    rows = [
        (pid, f"S{i}", c, float(s))
        for i, points in enumerate(scorers)
        for c, s in zip(CRITS, points, strict=True)
    ]
    return pl.DataFrame(
        rows, schema=["proposal_id", "expert_id", "criterion", "score"], orient="row"
    )


def test_report_by_hand() -> None:
    # S0: 20, 24, 14, 9 = 67; S1: 22, 18, 12, 13 = 65; S2: 21, 21, 13, 11 = 65
    # relevance mean 21 (84 % -> Good), quality 21 (70 % Good), partnership 13 (52 % Fair),
    # impact 11 (55 % Fair). Weakest first by share: partnership .52, impact .55, quality .70,
    # relevance .84. Total 66: 4 points below 70.
    report = mock_report(rehearsal((20, 24, 14, 9), (22, 18, 12, 13), (21, 21, 13, 11)), AFI)
    c = report.criteria
    assert c["criterion"].to_list() == ["partnership", "impact", "quality", "relevance"]
    assert c["mean"].to_list() == [13, 11, 21, 21]
    assert c["share"].to_list() == pytest.approx([0.52, 0.55, 0.7, 0.84])
    assert c["band"].to_list() == ["Fair", "Fair", "Good", "Good"]
    assert c["to_min"].to_list() == [0, 0, 5, 8]
    assert c["spread"].to_list() == [2, 4, 6, 2]
    # partnership 12..14 straddles 13 -> disagreement; impact 9..13 straddles 11 -> too;
    # quality spread 6 < 30 % of 30 = 9 and 18..24 all above 16 -> no; relevance no.
    assert c["disagreement"].to_list() == [True, True, False, False]
    assert c["scorers"].to_list() == [3, 3, 3, 3]
    assert all(len(q) > 0 for q in c["questions"].to_list())
    assert report.scorers == 3
    assert report.total == 66
    assert report.to_pass == -4
    assert report.passed is False
    assert report.fail_reasons == ("total 66 < 70",)
    assert report.total_spread == 2
    assert report.divergent is False


def test_criterion_below_minimum_named_and_divergence() -> None:
    # S0 total 25 + 30 + 25 + 6 = 86, S1 20 + 20 + 8 + 7 = 55: spread 31 >= 30.
    # impact 6.5 < 11, partnership 16.5 passes; total 70.5 passes the total mark
    report = mock_report(rehearsal((25, 30, 25, 6), (20, 20, 8, 7)), AFI)
    assert report.total == 70.5
    assert report.fail_reasons == ("impact 6.5 < 11",)
    assert report.passed is False
    assert report.divergent is True
    weakest = report.criteria.row(0, named=True)
    assert (weakest["criterion"], weakest["to_min"], weakest["band"]) == (
        "impact",
        -4.5,
        "Weak",
    )
    # partnership spread 17 >= 30 % of 25 = 7.5 -> disagreement even though 8 < 13 <= 25 also
    # holds
    partnership = report.criteria.filter(pl.col("criterion") == "partnership").row(0, named=True)
    assert partnership["disagreement"] is True


def test_bad_rows_left_out_and_reported() -> None:
    scores = pl.concat(
        [
            rehearsal((20, 24, 16, 20)),
            pl.DataFrame(
                {
                    "proposal_id": ["MY"],
                    "expert_id": ["S9"],
                    "criterion": ["impact"],
                    "score": [40.0],
                }
            ),
        ]
    )
    report = mock_report(scores, AFI)
    assert report.scorers == 1
    assert report.total == 80 and report.passed
    assert report.problems.select("row", "column").rows() == [(4, "criterion"), (4, "score")]


def test_one_proposal_only() -> None:
    scores = pl.concat([rehearsal((20, 24, 16, 20)), rehearsal((20, 24, 16, 20), pid="OTHER")])
    with pytest.raises(ValueError, match="one proposal; got MY, OTHER"):
        mock_report(scores, AFI)


def test_no_valid_scores() -> None:
    report = mock_report(rehearsal((26, 24, 16, 20)), AFI)
    assert (report.proposal_id, report.scorers, report.total, report.passed) == (
        "MY",
        0,
        None,
        False,
    )
    assert report.fail_reasons == ("no scores",)
    assert report.criteria["mean"].null_count() == 4
