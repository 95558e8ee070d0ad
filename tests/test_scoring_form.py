"""check_form: one evaluation form against its scheme (hand-computed cases and properties)."""

from __future__ import annotations

import math
from collections.abc import Callable

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import Criterion, Scheme, check_form, list_presets, load_scheme
from scoring._aggregate import band_expr

AFI = load_scheme("erasmus-afi")
RIA = load_scheme("horizon-ria")


def _full(scheme: Scheme, value_of: Callable[[Criterion], float]) -> dict[str, float]:
    return {c.id: value_of(c) for c in scheme.criteria}


def _comments(
    scheme: Scheme, text: str = "Clear needs analysis; the work plan is realistic."
) -> dict[str, str]:
    return {c.id: text for c in scheme.criteria}


def test_an_empty_form_is_not_zero_and_cannot_be_submitted() -> None:
    form = check_form(AFI, {})
    assert form.total == 0 and not form.complete and form.passed is None
    assert all(c.score is None and c.band is None for c in form.criteria)
    assert len(form.problems) == 2 * len(AFI.criteria)  # no score, no comment, per criterion
    assert all("no score set" in p or "comment" in p for p in form.problems)
    assert not form.submittable


def test_one_missing_criterion_blocks_submission_and_the_outcome() -> None:
    scores = _full(AFI, lambda c: c.max)
    del scores[AFI.criteria[-1].id]
    form = check_form(AFI, scores, _comments(AFI))
    assert form.passed is None and not form.complete
    assert form.problems == (f"{AFI.criteria[-1].label}: no score set",)
    assert form.total == sum(c.max for c in AFI.criteria[:-1])


def test_full_marks_pass_with_the_top_band() -> None:
    form = check_form(AFI, _full(AFI, lambda c: c.max), _comments(AFI))
    assert form.submittable and form.complete and form.passed is True
    assert form.total == AFI.total_max and form.failures == ()
    assert {c.band for c in form.criteria} == {AFI.bands[0].label}


def test_a_score_below_a_minimum_fails_and_needs_a_comment() -> None:
    crit = AFI.criteria[0]
    scores = _full(AFI, lambda c: c.max)
    scores[crit.id] = crit.min_pass - 1
    comments = _comments(AFI)
    comments[crit.id] = ""
    form = check_form(AFI, scores, comments)
    assert form.passed is False
    assert form.failures == (f"{crit.label} {crit.min_pass - 1:g} below {crit.min_pass:g}",)
    assert form.problems == (
        f"{crit.label}: a score below the minimum of {crit.min_pass:g} needs a comment saying why",)


def test_the_total_threshold_counts_once_complete() -> None:
    # every criterion at its minimum: AfI minimums add up to less than the pass mark
    form = check_form(AFI, _full(AFI, lambda c: c.min_pass), _comments(AFI))
    total = sum(c.min_pass for c in AFI.criteria)
    assert form.total == total
    if total < AFI.total_threshold:
        assert form.passed is False
        assert form.failures == (f"total {total:g} below {AFI.total_threshold:g}",)
    else:
        assert form.passed is True


@pytest.mark.parametrize("value", [-1.0, 0.5, 12.5, 1e9, math.nan, math.inf])
def test_off_step_and_out_of_range_values_are_refused_and_not_counted(value: float) -> None:
    crit = AFI.criteria[0]
    scores = _full(AFI, lambda c: c.max)
    scores[crit.id] = value
    form = check_form(AFI, scores, _comments(AFI))
    first = form.criteria[0]
    assert first.score is None and first.band is None
    assert first.problems == (f"{value:g} is not allowed: give whole points from 0 to {crit.max:g}",)
    assert form.total == sum(c.max for c in AFI.criteria[1:])
    assert form.passed is None


def test_half_points_are_the_horizon_step() -> None:
    form = check_form(RIA, _full(RIA, lambda c: c.max - 0.5), _comments(RIA))
    assert form.submittable and form.total == RIA.total_max - 0.5 * len(RIA.criteria)
    bad = check_form(RIA, _full(RIA, lambda c: 0.25), _comments(RIA))
    assert all("steps of 0.5" in p for p in bad.problems)


def test_minimum_words_from_the_scheme() -> None:
    crit = AFI.criteria[1]
    scheme = load_scheme("erasmus-afi", {"criteria": {crit.id: {"comment_min_words": 5}}})
    comments = _comments(scheme, "Good.")
    form = check_form(scheme, _full(scheme, lambda c: c.max), comments)
    assert form.problems == (
        f"{crit.label}: the comment has 1 word; at least 5 are required",)
    relaxed = load_scheme("erasmus-afi", {"criteria": {c.id: {"comment_required": False}
                                                        for c in AFI.criteria}})
    assert check_form(relaxed, _full(relaxed, lambda c: c.max)).submittable
    # ...but a score below the minimum still needs one
    below = _full(relaxed, lambda c: c.max)
    below[crit.id] = 0
    assert not check_form(relaxed, below).submittable


@pytest.mark.parametrize("bad", ["yes", 1])
def test_comment_rules_are_checked_in_the_scheme(bad: object) -> None:
    from scoring import SchemeError

    with pytest.raises(SchemeError, match="comment_required"):
        load_scheme("erasmus-afi", {"criteria": {"relevance": {"comment_required": bad}}})
    with pytest.raises(SchemeError, match="comment_min_words"):
        load_scheme("erasmus-afi", {"criteria": {"relevance": {"comment_min_words": -1}}})


@settings(max_examples=200, deadline=None)
@given(preset=st.sampled_from(list_presets()), data=st.data())
def test_bands_and_totals_agree_with_the_ranking_engine(preset: str, data: st.DataObject) -> None:
    scheme = load_scheme(preset)
    scores = {c.id: data.draw(st.integers(0, int(c.max / c.step))) * c.step
              for c in scheme.criteria}
    form = check_form(scheme, scores, _comments(scheme))
    assert form.complete and form.submittable
    assert form.total == pytest.approx(sum(scores.values()))
    frame = pl.DataFrame({c.id: [scores[c.id]] for c in scheme.criteria})
    engine_bands = frame.select(
        [band_expr(pl.col(c.id), c.max, scheme).alias(c.id) for c in scheme.criteria]).row(0)
    assert tuple(c.band for c in form.criteria) == engine_bands
    expected_pass = form.total >= scheme.total_threshold and all(
        scores[c.id] >= c.min_pass for c in scheme.criteria)
    assert form.passed is expected_pass
