"""Final scores per proposal: divergence, the third-expert rule, consolidation, bands, thresholds.

Inputs are the counted evaluations in wide form, one row per (proposal, expert):
``proposal_id, expert_id, <criterion ids> (points), total (points)``; consolidated scores likewise
without ``expert_id``; ``k`` (experts required per proposal) as a frame ``proposal_id, k``.

Rules (numbers from the :class:`~scoring.Scheme`):

- divergent: at least two evaluations whose totals differ by ``total_gap`` or more, unless
  ``skip_if_all_below`` and every total is below ``total_threshold``;
- a divergent proposal with no more than ``k`` evaluations needs another expert (pending); once it
  has more, its final scores follow ``third_expert_rule``: ``closest_two`` takes the criterion
  means of the two evaluations whose totals are closest (on equal gaps the higher pair, then the
  first by expert ids), ``mean_all`` the means of all, ``consensus`` waits for consolidated scores;
- otherwise the final scores are the means of all counted evaluations;
- consolidated scores, when given for a proposal, replace those means (``final_rule =
  "consensus"``); they also stand in for missing evaluations, not for a missing extra expert;
- a proposal passes when ``total >= total_threshold`` and every criterion ``>= min_pass``;
- bands: a criterion's band from its share of the criterion's max; ``band`` from the total's share
  of the scheme's total max.
"""

from __future__ import annotations

import re

import polars as pl

from ._checks import EPS, fmt_points
from ._scheme import Scheme

WARNINGS_SCHEMA: dict[str, pl.DataType] = {
    "proposal_id": pl.String(), "criterion": pl.String(), "kind": pl.String(),
    "message": pl.String(),
}  # fmt: skip


def empty_warnings() -> pl.DataFrame:
    return pl.DataFrame(schema=WARNINGS_SCHEMA)


def band_expr(value: pl.Expr, maximum: float, scheme: Scheme) -> pl.Expr:
    """The band label of ``value`` points out of ``maximum``."""
    expr: pl.Expr = pl.lit(scheme.bands[-1].label)
    for band in reversed(scheme.bands[:-1]):
        expr = pl.when(value >= band.min_share * maximum - EPS).then(pl.lit(band.label)).otherwise(
            expr
        )
    return pl.when(value.is_null()).then(None).otherwise(expr)


def _floor2(expr: pl.Expr) -> pl.Expr:
    # A failing value is shown rounded down, so 69.996 never reads "70 < 70".
    return fmt_points((expr * 100 + EPS).floor() / 100)


def closest_pairs(evals: pl.DataFrame) -> pl.DataFrame:
    """For each proposal in ``evals``: ``proposal_id, expert_id`` of its two closest totals."""
    right = evals.select("proposal_id", pl.col("expert_id").alias("expert_b"),
                         pl.col("total").alias("total_b"))
    best = (
        evals.select("proposal_id", "expert_id", "total")
        .join(right, on="proposal_id")
        .filter(pl.col("expert_id") < pl.col("expert_b"))
        .with_columns(((pl.col("total") - pl.col("total_b")).abs().round(6)).alias("_gap"),
                      (pl.col("total") + pl.col("total_b")).round(6).alias("_sum"))
        .sort(["proposal_id", "_gap", "_sum", "expert_id", "expert_b"],
              descending=[False, False, True, False, False])
        .group_by("proposal_id", maintain_order=True)
        .first()
    )
    return pl.concat([best.select("proposal_id", "expert_id"),
                      best.select("proposal_id", pl.col("expert_b").alias("expert_id"))])


def final_scores(
    evals: pl.DataFrame, consensus: pl.DataFrame | None, k: pl.DataFrame, scheme: Scheme,
    proposal_ids: pl.Series,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``(per_proposal, evaluations, warnings)``.

    ``per_proposal``: ``proposal_id, experts, consolidated, final_rule, <criteria>, total,
    divergent, needs_expert, pending_reason`` for every id of ``proposal_ids``;
    ``evaluations``: ``evals`` plus ``counted`` (Boolean, used in the final scores).
    """
    ids = list(scheme.criterion_ids)
    div = scheme.divergence
    rule = scheme.third_expert_rule
    stats = (
        pl.DataFrame({"proposal_id": proposal_ids.cast(pl.String)}).unique().sort("proposal_id")
        .join(evals.group_by("proposal_id").agg(pl.len().alias("experts"),
                                                pl.col("total").min().alias("_tmin"),
                                                pl.col("total").max().alias("_tmax")),
              on="proposal_id", how="left")
        .join(k, on="proposal_id", how="left")
        .with_columns(pl.col("experts").fill_null(0).cast(pl.Int64),
                      pl.col("k").fill_null(scheme.experts_per_proposal).cast(pl.Int64))
    )
    gap = pl.col("_tmax") - pl.col("_tmin")
    all_below = pl.col("_tmax") < scheme.total_threshold - EPS
    divergent = (pl.col("experts") >= 2) & (gap >= div.total_gap - EPS)
    if div.skip_if_all_below:
        divergent = divergent & ~all_below
    stats = stats.with_columns(divergent.fill_null(False).alias("divergent"))
    stats = stats.with_columns(
        (pl.col("divergent") & (pl.col("experts") <= pl.col("k"))).alias("needs_expert"),
        (pl.col("divergent") & (pl.col("experts") > pl.col("k"))).alias("_extra"),
    )
    if consensus is not None and consensus.height:
        cons = consensus.select("proposal_id", *ids, pl.lit(True).alias("consolidated"))
        stats = stats.join(cons.select("proposal_id", "consolidated"), on="proposal_id",
                           how="left")
    else:
        cons = None
        stats = stats.with_columns(pl.lit(None, pl.Boolean).alias("consolidated"))
    stats = stats.with_columns(pl.col("consolidated").fill_null(False))

    # Which evaluations the final means use.
    use_pair = stats.filter(pl.col("_extra") & ~pl.col("consolidated")) if rule == "closest_two" \
        else stats.clear()
    pair_ids = use_pair.select("proposal_id")
    chosen = closest_pairs(evals.join(pair_ids, on="proposal_id", how="semi"))
    evaluations = evals.with_columns(
        (~pl.col("proposal_id").is_in(pair_ids["proposal_id"].implode())).alias("counted")
    ).update(chosen.with_columns(pl.lit(True).alias("counted")), on=["proposal_id", "expert_id"])
    means = evaluations.filter("counted").group_by("proposal_id").agg(pl.col(ids).mean())

    out = stats.join(means, on="proposal_id", how="left")
    if cons is not None:
        out = out.update(cons.drop("consolidated"), on="proposal_id")
    final_rule = (
        pl.when("consolidated").then(pl.lit("consensus"))
        .when(pl.col("_extra") & pl.lit(rule != "consensus")).then(pl.lit(rule))
        .when(pl.col("experts") > 0).then(pl.lit("mean"))
        .otherwise(None)
    )
    more = pl.col("k") - pl.col("experts")
    pending = (
        pl.when(pl.col("needs_expert")).then(pl.format(
            "totals differ by {} (gap {}): needs another expert", fmt_points(gap),
            pl.lit(fmt_num(div.total_gap))))
        .when((pl.col("experts") == 0) & ~pl.col("consolidated")).then(pl.lit("no evaluations"))
        .when((more > 0) & ~pl.col("consolidated"))
        .then(pl.format("needs {} more evaluation(s) of {}", more, pl.col("k")))
        .when(pl.col("divergent") & ~pl.col("consolidated") & pl.lit(rule == "consensus"))
        .then(pl.lit("divergent: needs consolidated scores"))
    )
    out = out.with_columns(final_rule.alias("final_rule"), pending.alias("pending_reason"))
    out = out.with_columns(pl.sum_horizontal(ids).alias("total"))
    out = out.with_columns(pl.when(pl.all_horizontal(pl.col(ids).is_not_null()))
                           .then(pl.col("total")).alias("total"))
    per_proposal = out.select("proposal_id", "experts", "consolidated", "final_rule", *ids,
                              "total", "divergent", "needs_expert", "pending_reason")
    return per_proposal, evaluations, _warnings(evals, stats, scheme)


def _warnings(evals: pl.DataFrame, stats: pl.DataFrame, scheme: Scheme) -> pl.DataFrame:
    ids = list(scheme.criterion_ids)
    ranges = evals.group_by("proposal_id").agg(
        *[pl.col(c).min().alias(f"{c}__lo") for c in ids],
        *[pl.col(c).max().alias(f"{c}__hi") for c in ids],
    )
    parts = []
    for c in scheme.criteria:
        lo, hi = pl.col(f"{c.id}__lo"), pl.col(f"{c.id}__hi")
        parts.append(
            ranges.filter((lo < c.min_pass - EPS) & (hi >= c.min_pass - EPS)).select(
                "proposal_id", pl.lit(c.id).alias("criterion"),
                pl.lit("criterion_disagreement").alias("kind"),
                pl.format("{}: {}: expert scores {} to {} straddle the minimum {}: settle at "
                          "consolidation", "proposal_id", pl.lit(c.id), fmt_points(lo),
                          fmt_points(hi), pl.lit(fmt_num(c.min_pass))).alias("message"),
            ))
    divergent = stats.filter("divergent").select(
        "proposal_id", pl.lit(None, pl.String).alias("criterion"),
        pl.lit("divergent").alias("kind"),
        pl.format("{}: expert totals {} and {} differ by {} (gap {})", "proposal_id",
                  fmt_points(pl.col("_tmin")), fmt_points(pl.col("_tmax")),
                  fmt_points(pl.col("_tmax") - pl.col("_tmin")),
                  pl.lit(fmt_num(scheme.divergence.total_gap))).alias("message"))
    return pl.concat([*parts, divergent]).cast(pl.Schema(WARNINGS_SCHEMA)).sort(
        "proposal_id", "kind", "criterion", nulls_last=True)


NO_SCORES = "no scores"  # the fail reason of a proposal without a complete final score
_FAILURE = re.compile(r"(?P<subject>[a-z][a-z0-9_]*) (?P<score>-?[0-9.]+) < (?P<minimum>[0-9.]+)$")


def parse_failure(text: str) -> tuple[str, str, str] | None:
    """``(criterion id or "total", score, minimum)`` of one of :func:`thresholds`'
    ``fail_reasons`` (e.g. ``"impact 10.5 < 11"``), None for :data:`NO_SCORES` or another text."""
    found = _FAILURE.match(text)
    return None if found is None else (found["subject"], found["score"], found["minimum"])


def thresholds(frame: pl.DataFrame, scheme: Scheme) -> pl.DataFrame:
    """Adds ``<criterion>_band, band, passed, fail_reasons`` (List[String]) to final scores."""
    reasons = [
        pl.when(pl.col(c.id) < c.min_pass - EPS).then(
            pl.format(f"{c.id} {{}} < {fmt_num(c.min_pass)}", _floor2(pl.col(c.id))))
        for c in scheme.criteria
    ]
    reasons.append(pl.when(pl.col("total") < scheme.total_threshold - EPS).then(
        pl.format(f"total {{}} < {fmt_num(scheme.total_threshold)}", _floor2(pl.col("total")))))
    fail = pl.concat_list(reasons).list.drop_nulls()
    fail = pl.when(pl.col("total").is_null()).then(pl.lit([NO_SCORES], pl.List(pl.String))) \
        .otherwise(fail)
    return frame.with_columns(
        *[band_expr(pl.col(c.id), c.max, scheme).alias(f"{c.id}_band") for c in scheme.criteria],
        band_expr(pl.col("total"), scheme.total_max, scheme).alias("band"),
        fail.alias("fail_reasons"),
    ).with_columns((pl.col("fail_reasons").list.len() == 0).alias("passed"))


def fmt_num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
