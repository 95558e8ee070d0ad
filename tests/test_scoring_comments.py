"""Advisory comment checks: copied comments, wording against the band, scores off the panel."""

from __future__ import annotations

import polars as pl
import pytest

from scoring import comment_checks, load_scheme

AFI = load_scheme("erasmus-afi")
LONG = ("The needs analysis is grounded in regional labour market data and the objectives "
        "follow from it; the target groups are well identified.")


def _rows(*rows: tuple[str, str, str, float, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["proposal_id", "expert_id", "criterion", "score", "comment"],
                        orient="row")


def _flags(frame: pl.DataFrame, check: str) -> list[tuple[str, str, str]]:
    return frame.filter(pl.col("check") == check).select(
        "proposal_id", "expert_id", "criterion").rows()


def test_a_comment_copied_to_another_proposal_is_flagged_on_both() -> None:
    flags = comment_checks(_rows(
        ("P1", "E1", "relevance", 20, LONG),
        ("P2", "E1", "relevance", 18, LONG.replace("well identified", "well  identified!")),
        ("P3", "E2", "relevance", 18, LONG),  # another expert may agree in the same words
        ("P1", "E1", "quality", 20, LONG),  # the same proposal: not copied from elsewhere
    ), AFI)
    copied = _flags(flags, "copied")
    assert ("P1", "E1", "relevance") in copied and ("P2", "E1", "relevance") in copied
    assert all(e == "E1" for _, e, _ in copied)
    assert not any(p == "P3" for p, _, _ in copied)
    detail = flags.filter((pl.col("check") == "copied") & (pl.col("proposal_id") == "P2")
                          & (pl.col("criterion") == "relevance"))["detail"].to_list()
    assert detail == ["identical to their comment on P1"]


def test_a_near_copy_is_flagged_and_a_different_comment_is_not() -> None:
    edited = LONG.replace("regional", "national")
    other = ("The budget is realistic but the work plan leaves dissemination to the last "
             "months of the project, which weakens the expected impact.")
    flags = comment_checks(_rows(("P1", "E1", "impact", 15, LONG), ("P2", "E1", "impact", 15, edited),
                                 ("P3", "E1", "impact", 15, other)), AFI)
    copied = _flags(flags, "copied")
    assert ("P2", "E1", "impact") in copied
    assert not any(p == "P3" for p, _, _ in copied)


def test_short_stock_phrases_are_not_copies() -> None:
    flags = comment_checks(_rows(("P1", "E1", "impact", 15, "Fully in line with the call."),
                                 ("P2", "E1", "impact", 15, "Fully in line with the call.")), AFI)
    assert _flags(flags, "copied") == []


@pytest.mark.parametrize("comment", [
    "An excellent and well-argued needs analysis.",
    "Un projet remarquable, très bien justifié.",
    "Die Bedarfsanalyse ist hervorragend begründet.",
    "Una propuesta excelente.",
    "Un progetto eccellente.",
    "Een uitstekend voorstel.",
    "Doskonały projekt, bardzo dobrze uzasadniony.",
])
def test_praise_on_a_weak_score_contradicts_the_band(comment: str) -> None:
    flags = comment_checks(_rows(("P1", "E1", "relevance", 5, comment)), AFI)
    assert _flags(flags, "contradicts_band") == [("P1", "E1", "relevance")]
    assert "Weak score (5/25)" in flags["detail"][0]


@pytest.mark.parametrize("comment", [
    "The partnership is weak and the tasks are insufficiently described.",
    "La méthodologie est insuffisante.",
    "Die Verbreitung ist unzureichend geplant.",
    "Il piano di lavoro è debole.",
    "Plan pracy jest niewystarczający.",
])
def test_criticism_on_a_very_good_score_contradicts_the_band(comment: str) -> None:
    flags = comment_checks(_rows(("P1", "E1", "partnership", 24, comment)), AFI)
    assert _flags(flags, "contradicts_band") == [("P1", "E1", "partnership")]


@pytest.mark.parametrize(("score", "comment"), [
    (5, "Not excellent: the needs analysis is missing."),
    (24, "No weaknesses were found in the partnership."),
    (24, "There are no major weaknesses."),
    (15, "An excellent idea with a weak work plan."),  # a middle band: no contradiction
])
def test_negated_or_middle_band_wording_is_not_flagged(score: float, comment: str) -> None:
    flags = comment_checks(_rows(("P1", "E1", "partnership", score, comment)), AFI)
    assert _flags(flags, "contradicts_band") == []


def test_a_criterion_far_from_the_other_experts_is_flagged() -> None:
    # gap on relevance: 30 * 25 / 100 = 7.5 points
    flags = comment_checks(_rows(
        ("P1", "E1", "relevance", 22, "x"), ("P1", "E2", "relevance", 20, "x"),
        ("P1", "E3", "relevance", 12, "x"),  # 9 below the others' mean of 21
        ("P2", "E1", "relevance", 20, "x"), ("P2", "E2", "relevance", 12.5, "x"),  # 7.5: not more
    ), AFI)
    assert _flags(flags, "off_panel") == [("P1", "E3", "relevance")]
    assert flags.filter(pl.col("check") == "off_panel")["detail"][0] == \
        "12 against 21 from the other experts (more than 7.5 apart)"


def test_no_evaluations_no_flags() -> None:
    empty = _rows().cast({"score": pl.Float64})
    assert comment_checks(empty, AFI).is_empty()
