"""Mock evaluation report: an applicant team's rehearsal of one proposal, scored blind.

Input: ``proposal_id, expert_id, criterion, score`` (points) for one proposal, ``expert_id``
naming the rehearsal scorers. Rows are checked like real scores (:func:`check_scores`); an
evaluation with a problem is left out and the problem reported.

:class:`MockReport` ``criteria`` frame, one row per criterion, weakest first (lowest share of
the criterion's max, then the scheme's order): ``criterion, label, max, min_pass, scorers,
mean (points), share (mean / max), band, to_min (mean − min_pass; negative = points missing),
lowest, highest, spread (highest − lowest), disagreement, questions (List[String])``.
``disagreement`` is true when scorers fall on both sides of ``min_pass``, or their spread is at
least the scheme's divergence gap scaled to the criterion (``total_gap / total max × max``).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ._aggregate import band_expr, fmt_num
from ._checks import EPS, check_rows, wide
from ._scheme import Scheme


@dataclass(frozen=True, slots=True)
class MockReport:
    proposal_id: str
    scheme_id: str
    scorers: int  # complete, valid evaluations
    criteria: pl.DataFrame
    total: float | None  # mean of the scorers' totals, points
    total_threshold: float
    to_pass: float | None  # total − total_threshold; negative = points missing
    passed: bool  # total and every criterion reach their thresholds
    fail_reasons: tuple[str, ...]
    total_spread: float | None  # highest − lowest scorer total
    divergent: bool  # scorer totals differ by the scheme's total_gap or more
    problems: pl.DataFrame  # rows left out, as from check_scores


def mock_report(scores: pl.DataFrame, scheme: Scheme) -> MockReport:
    """The rehearsal report of one proposal (see the module docstring)."""
    problems, counted = check_rows(scores, scheme, "scores")
    raw = scores["proposal_id"].cast(pl.String) if "proposal_id" in scores.columns \
        else counted["proposal_id"]
    pids = raw.drop_nulls().filter(raw.drop_nulls().str.strip_chars() != "").unique().sort() \
        .to_list()
    if len(pids) > 1:
        raise ValueError("a mock evaluation report covers one proposal; got "
                         f"{', '.join(pids)}: pass each proposal's scores separately")
    ids = list(scheme.criterion_ids)
    evals = wide(counted, scheme)
    crit = pl.DataFrame({
        "criterion": ids, "label": [c.label for c in scheme.criteria],
        "max": [c.max for c in scheme.criteria], "min_pass": [c.min_pass for c in scheme.criteria],
        "questions": [list(c.questions) for c in scheme.criteria],
        "_order": list(range(len(ids))),
    }, schema_overrides={"questions": pl.List(pl.String)})
    stats = counted.group_by("criterion").agg(
        pl.len().cast(pl.Int64).alias("scorers"), pl.col("score").mean().alias("mean"),
        pl.col("score").min().alias("lowest"), pl.col("score").max().alias("highest"))
    gap_share = scheme.divergence.total_gap / scheme.total_max
    share = pl.col("mean") / pl.col("max")
    spread = pl.col("highest") - pl.col("lowest")
    bands = crit.join(stats, on="criterion", how="left").with_columns(
        band_expr(share, 1.0, scheme).alias("band"))
    criteria = (
        bands.with_columns(
            pl.col("scorers").fill_null(0), share.alias("share"),
            (pl.col("mean") - pl.col("min_pass")).alias("to_min"), spread.alias("spread"),
            (((pl.col("lowest") < pl.col("min_pass") - EPS)
              & (pl.col("highest") >= pl.col("min_pass") - EPS))
             | (spread >= gap_share * pl.col("max") - EPS)).fill_null(False)
            .alias("disagreement"))
        .sort(["share", "_order"], nulls_last=True)
        .select("criterion", "label", "max", "min_pass", "scorers", "mean", "share", "band",
                "to_min", "lowest", "highest", "spread", "disagreement", "questions")
    )
    if evals.height == 0:
        return MockReport(pids[0] if pids else "", scheme.id, 0, criteria, None,
                          scheme.total_threshold, None, False, ("no scores",), None, False,
                          problems)
    totals = evals["total"].to_numpy()
    total = float(totals.mean())
    means = dict(criteria.select("criterion", "mean").iter_rows())
    reasons = [f"{c.id} {fmt_num(round(means[c.id], 2))} < {fmt_num(c.min_pass)}"
               for c in scheme.criteria if means[c.id] < c.min_pass - EPS]
    if total < scheme.total_threshold - EPS:
        reasons.append(f"total {fmt_num(round(total, 2))} < {fmt_num(scheme.total_threshold)}")
    total_spread = float(totals.max() - totals.min())
    return MockReport(
        proposal_id=pids[0], scheme_id=scheme.id, scorers=evals.height, criteria=criteria,
        total=total, total_threshold=scheme.total_threshold,
        to_pass=total - scheme.total_threshold, passed=not reasons,
        fail_reasons=tuple(reasons), total_spread=total_spread,
        divergent=evals.height >= 2 and total_spread >= scheme.divergence.total_gap - EPS,
        problems=problems,
    )
