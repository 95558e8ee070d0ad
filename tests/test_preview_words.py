"""The assignment preview in words (evalpanel.preview): the weak-panel rule that suggests fair,
and the change-set read as sentences with names."""

from __future__ import annotations

import polars as pl

from evalpanel.preview import WEAK_PANEL, WEAK_SHARE, change_set_words, fair_suggestion, weak_panels
from evalpanel.store import Names


def pairs(panels: dict[str, list[float]]) -> pl.DataFrame:
    rows = [(p, f"E{i}", a) for p, affs in panels.items() for i, a in enumerate(affs)]
    return pl.DataFrame(rows, schema=["proposal_id", "expert_id", "affinity"], orient="row")


def test_fair_is_suggested_when_enough_panels_are_weak() -> None:
    strong = {f"P{i:02d}": [0.8, 0.7] for i in range(19)}
    # one weak panel in 20 is exactly the share: suggested; its mean 0.35 < 0.4
    weak = pairs({**strong, "P99": [0.3, 0.4]})
    assert weak_panels(weak)["proposal_id"].to_list() == ["P99"]
    text = fair_suggestion("max-total", weak)
    assert text is not None and text.startswith("1 of 20 panels are weak")
    assert f"below {WEAK_PANEL:g}" in text and f"{WEAK_SHARE:.0%}" in text
    assert fair_suggestion("fair", weak) is None  # already fair
    more = {f"P{i:02d}": [0.8, 0.7] for i in range(40)}
    assert fair_suggestion("max-total", pairs({**more, "P99": [0.3, 0.4]})) is None  # 1 of 41
    at_mark = pairs({**strong, "P99": [0.4, 0.4]})  # mean exactly 0.4 is not weak
    assert fair_suggestion("max-total", at_mark) is None


def test_change_set_in_words_names_who_is_withdrawn() -> None:
    names = Names(
        pl.DataFrame({"proposal_id": ["P1", "P2"], "title": ["Alpha", "Beta"],
                      "coordinator": ["Org A", "Org B"], "coordinator_country": ["DE", "FR"],
                      "lot": ["L1", "L1"], "ecosystem": [None, None]},
                     schema_overrides={"ecosystem": pl.String}),
        pl.DataFrame({"expert_id": ["E1", "E2"], "expert_name": ["Ann Lee", "Bo Li"],
                      "expert_org": [None, None]}, schema_overrides={"expert_org": pl.String}),
        pl.DataFrame(schema={"org_id": pl.String, "org_name": pl.String}),
    )
    changes = pl.DataFrame({"proposal_id": ["P1", "P1", "P2", "P2"],
                            "expert_id": ["E1", "E2", "E1", "E2"],
                            "affinity": [0.5] * 4,
                            "change": ["added", "kept", "added", "removed"]})
    assert change_set_words(changes, names) == (
        "Publishing adds 2 task(s) to 2 proposal(s) and keeps 1 published task(s), it "
        "withdraws 1 task(s): Bo Li (E2) on P2 \u201cBeta\u201d.")
    assert change_set_words(changes.filter(pl.col("change") != "removed")).endswith(
        "it withdraws none.")
    assert change_set_words(changes.head(0)) == (
        "Publishing changes nothing: the preview holds no pair.")


def test_reliability_scales_read_in_words_with_their_source() -> None:
    import scoring
    from evalpanel.ranking import scale_words

    assert scale_words(scoring.ICC_READING, scoring.ICC_SOURCE) == (
        "poor below 0.5, moderate 0.5 to 0.75, good 0.75 to 0.9, excellent 0.9 and above "
        f"({scoring.ICC_SOURCE})")
    assert scale_words(scoring.ALPHA_READING, "K").startswith("unreliable below 0.667, "
                                                              "tentative 0.667 to 0.8")
