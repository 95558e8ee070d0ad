"""One evaluation form checked against its scheme: what the scoring form shows and what
submission requires.

:func:`check_form` takes the scores an expert has typed so far (``None`` for a criterion not set
yet; a criterion is never taken as 0 until it is set) and their comments, and returns a
:class:`FormCheck`:

- per criterion: the score if it is valid, its band, whether it is below the criterion's minimum,
  and the problems that block submission (not set, outside 0..max, off the scheme's step, a
  comment missing or too short);
- the total of the valid scores, and whether the form passes every threshold once complete
  (``passed`` is ``None`` while any criterion is not validly set);
- ``failures``: every threshold the form misses, in words (``"impact 10 below 11"``).

Comment rules come from each :class:`~scoring.Criterion`: ``comment_required`` (default true, as
Erasmus+ expert guidance asks every score to be justified) and ``comment_min_words``; a score below
the criterion's minimum always needs a comment, whatever the scheme says. Points are on the
scheme's scale; nothing here rounds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ._checks import EPS
from ._scheme import Criterion, Scheme


@dataclass(frozen=True, slots=True)
class CriterionCheck:
    """One criterion of a form. ``score`` is ``None`` unless a valid value is set."""

    criterion: str
    label: str
    score: float | None
    band: str | None
    below_min: bool
    comment_words: int
    problems: tuple[str, ...]  # each blocks submission


@dataclass(frozen=True, slots=True)
class FormCheck:
    """A whole form: see the module docstring."""

    criteria: tuple[CriterionCheck, ...]
    total: float  # points, the sum of the valid scores set so far
    total_max: float
    total_threshold: float
    complete: bool  # every criterion has a valid score
    passed: bool | None  # None until complete
    failures: tuple[str, ...]

    @property
    def problems(self) -> tuple[str, ...]:
        """Every problem that blocks submission, prefixed with its criterion's label."""
        return tuple(f"{c.label}: {p}" for c in self.criteria for p in c.problems)

    @property
    def submittable(self) -> bool:
        return not self.problems


def band_label(scheme: Scheme, score: float, maximum: float) -> str:
    """The band of ``score`` points out of ``maximum`` (the same boundaries as the ranking's
    ``<criterion>_band`` columns)."""
    for band in scheme.bands[:-1]:
        if score >= band.min_share * maximum - EPS:
            return band.label
    return scheme.bands[-1].label


def allowed_values(criterion: Criterion) -> str:
    """The values a criterion accepts, in words: ``"whole points from 0 to 25"``."""
    unit = "whole points" if criterion.step == 1 else f"steps of {criterion.step:g}"
    return f"{unit} from 0 to {criterion.max:g}"


def word_count(text: str) -> int:
    return len(text.split())


def _score_problem(criterion: Criterion, value: float | None) -> str | None:
    if value is None:
        return "no score set"
    if not math.isfinite(value) or value < -EPS or value > criterion.max + EPS:
        return f"{value:g} is not allowed: give {allowed_values(criterion)}"
    ratio = value / criterion.step
    if abs(ratio - round(ratio)) > 1e-6:
        return f"{value:g} is not allowed: give {allowed_values(criterion)}"
    return None


def _comment_problem(criterion: Criterion, words: int, below_min: bool) -> str | None:
    if below_min and words == 0:
        return (f"a score below the minimum of {criterion.min_pass:g} needs a comment "
                "saying why")
    if criterion.comment_required and words == 0:
        return "a comment for the applicant is required"
    if words and words < criterion.comment_min_words:
        return (f"the comment has {words} word{'s' if words != 1 else ''}; "
                f"at least {criterion.comment_min_words} are required")
    return None


def check_form(
    scheme: Scheme,
    scores: Mapping[str, float | None],
    comments: Mapping[str, str] | None = None,
) -> FormCheck:
    """Check one evaluation form (see the module docstring). ``scores`` and ``comments`` are
    keyed by criterion id; a missing key is a criterion not set."""
    comments = comments or {}
    checks: list[CriterionCheck] = []
    failures: list[str] = []
    for crit in scheme.criteria:
        raw = scores.get(crit.id)
        value = None if raw is None else float(raw)
        problem = _score_problem(crit, value)
        valid = None if problem else value
        below = valid is not None and valid < crit.min_pass - EPS
        words = word_count(comments.get(crit.id, "") or "")
        problems = [p for p in (problem, _comment_problem(crit, words, below)) if p]
        if below and valid is not None:
            failures.append(f"{crit.label} {valid:g} below {crit.min_pass:g}")
        checks.append(CriterionCheck(
            crit.id, crit.label, valid,
            band_label(scheme, valid, crit.max) if valid is not None else None,
            below, words, tuple(problems)))
    total = float(sum(c.score for c in checks if c.score is not None))
    complete = all(c.score is not None for c in checks)
    if complete and total < scheme.total_threshold - EPS:
        failures.append(f"total {total:g} below {scheme.total_threshold:g}")
    passed = (not failures) if complete else None
    return FormCheck(tuple(checks), total, scheme.total_max, scheme.total_threshold, complete,
                     passed, tuple(failures))
