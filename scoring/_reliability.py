"""Reliability and calibration report of a scored call. Advisory: never changes official scores.

Computed on every valid evaluation of a :class:`ScoreResult` (``result.evaluations``, counted in
the final scores or not):

- ``agreement``: one row per measure (each criterion id, then ``total``): ``measure, alpha``
  (Krippendorff, interval; proposals are units, experts raters), ``icc1, icck, k`` (one-way
  ICC(1,1), ICC(1,k) with k = k0 for unequal panels; null when undefined), ``proposals`` (with
  two or more evaluations), ``evaluations``, and a plain reading of each coefficient:
  ``alpha_reading`` (:data:`ALPHA_READING`, Krippendorff) and ``icc_reading`` of ICC(1,1)
  (:data:`ICC_READING`, Koo & Li); null when the coefficient is undefined;
- ``leniency``: one row per expert: ``expert_id, component, evaluations, offset`` (points on the
  total; positive = more generous than the panel), ``offset_<criterion>``, ``se`` (standard error of
  the offset from the normal equations and the component's residual SD; null when the offset is
  not identified), ``z`` (offset / se), ``stands_out`` (|z| ≥ the given z, at least two
  evaluations and two experts in the component);
- ``components``: ``component, proposals, experts, evaluations, residual_sd`` (points, totals);
  offsets compare experts only within one component;
- ``changes``: the proposals whose decision differs when every evaluation is corrected for its
  expert's offsets (score − offset per criterion, kept within 0..max): ``proposal_id, lot, total,
  corrected_total, rank, corrected_rank, decision, corrected_decision``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from ._ranking import LotRules
from ._score import ScoreResult, score_evaluations
from ._stats import alpha_interval, fit_leniency, icc_oneway

# Plain readings of agreement coefficients: (lowest value, reading), best first.
# Koo, T. K. & Li, M. Y. (2016). A guideline of selecting and reporting intraclass correlation
# coefficients for reliability research. Journal of Chiropractic Medicine 15(2), 155-163 (section
# on interpreting ICC): below 0.5 poor, 0.5-0.75 moderate, 0.75-0.9 good, above 0.9 excellent.
ICC_READING: tuple[tuple[float, str], ...] = (
    (0.9, "excellent"), (0.75, "good"), (0.5, "moderate"), (-np.inf, "poor"))
ICC_SOURCE = "Koo & Li (2016), Journal of Chiropractic Medicine 15(2), 155-163"
# Krippendorff, K. (2004). Content Analysis: An Introduction to Its Methodology, 2nd ed., p. 241:
# rely on data with alpha >= .800, draw only tentative conclusions for .667 <= alpha < .800.
ALPHA_READING: tuple[tuple[float, str], ...] = (
    (0.8, "reliable"), (0.667, "tentative"), (-np.inf, "unreliable"))
ALPHA_SOURCE = "Krippendorff (2004), Content Analysis, 2nd ed., p. 241"


def reading(value: pl.Expr, scale: tuple[tuple[float, str], ...]) -> pl.Expr:
    """The plain reading of an agreement coefficient on ``scale`` (null stays null)."""
    out = pl.lit(None, pl.String)
    for low, label in reversed(scale):
        out = pl.when(value >= low).then(pl.lit(label)).otherwise(out)
    return pl.when(value.is_not_null()).then(out)


@dataclass(frozen=True, slots=True)
class ReliabilityReport:
    agreement: pl.DataFrame
    leniency: pl.DataFrame
    components: pl.DataFrame
    changes: pl.DataFrame

    @property
    def outlying_experts(self) -> list[str]:
        return self.leniency.filter("stands_out")["expert_id"].to_list()


def agreement(evaluations: pl.DataFrame, measures: list[str]) -> pl.DataFrame:
    """Alpha and ICC per measure column of wide evaluations (``proposal_id`` are the units)."""
    units = evaluations["proposal_id"].to_numpy()
    rows = []
    for measure in measures:
        values = evaluations[measure].cast(pl.Float64).to_numpy()
        icc = icc_oneway(units, values)
        rows.append({"measure": measure, "alpha": alpha_interval(units, values),
                     "icc1": icc.icc1, "icck": icc.icck, "k": icc.k, "proposals": icc.units,
                     "evaluations": int(np.isfinite(values).sum())})
    return pl.DataFrame(rows, schema={"measure": pl.String, "alpha": pl.Float64,
                                      "icc1": pl.Float64, "icck": pl.Float64, "k": pl.Float64,
                                      "proposals": pl.Int64, "evaluations": pl.Int64},
                        ).with_columns(pl.col("alpha", "icc1", "icck", "k").fill_nan(None)
                                       ).with_columns(
        reading(pl.col("alpha"), ALPHA_READING).alias("alpha_reading"),
        reading(pl.col("icc1"), ICC_READING).alias("icc_reading"))


def reliability(
    result: ScoreResult,
    proposals: pl.DataFrame | None = None,
    lots: Mapping[str, LotRules] | None = None,
    z: float = 2.5,
) -> ReliabilityReport:
    """Agreement, expert leniency and its effect on decisions (see the module docstring).

    ``proposals`` and ``lots`` must be those ``result`` was scored with.
    """
    scheme = result.scheme
    ids = list(scheme.criterion_ids)
    measures = [*ids, "total"]
    evals = result.evaluations.sort("proposal_id", "expert_id")
    agree = agreement(evals, measures)

    p_codes = evals["proposal_id"].rank("dense").cast(pl.Int64).to_numpy() - 1
    e_rank = evals["expert_id"].rank("dense").cast(pl.Int64)
    e_codes = e_rank.to_numpy() - 1
    experts = evals.select("expert_id", e_rank.alias("_code")).unique().sort("_code")
    n_p = int(p_codes.max()) + 1 if evals.height else 0
    n_e = experts.height
    y = evals.select(measures).to_numpy().astype(np.float64)
    fit = fit_leniency(p_codes, e_codes, y, n_p, n_e)

    per_comp_experts = np.bincount(fit.component, minlength=fit.residual_sd.shape[0])
    sd_total = fit.residual_sd[fit.component, -1] if n_e else np.zeros(0)
    se = sd_total * fit.se_factor
    offset = fit.offsets[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = np.where(se > 0, offset / se, np.nan)
    stands = (np.abs(np.nan_to_num(zs)) >= z) & (fit.counts >= 2) & \
        (per_comp_experts[fit.component] >= 2)
    leniency = pl.DataFrame({
        "expert_id": experts["expert_id"], "component": fit.component,
        "evaluations": fit.counts, "offset": offset,
        **{f"offset_{c}": fit.offsets[:, j] for j, c in enumerate(ids)},
        "se": se, "z": zs, "stands_out": stands,
    }).with_columns(pl.col("se", "z").fill_nan(None)).sort("component", "expert_id")
    components = pl.DataFrame({
        "component": np.arange(fit.residual_sd.shape[0]),
        "proposals": np.bincount(fit.proposal_component, minlength=fit.residual_sd.shape[0]),
        "experts": per_comp_experts,
        "evaluations": np.bincount(fit.proposal_component[p_codes],
                                   minlength=fit.residual_sd.shape[0]),
        "residual_sd": fit.residual_sd[:, -1],
    }).with_columns(pl.col("residual_sd").fill_nan(None))
    return ReliabilityReport(agree, leniency, components,
                             _changes(result, evals, fit.offsets, e_codes, proposals, lots))


def _changes(result: ScoreResult, evals: pl.DataFrame, offsets: np.ndarray, e_codes: np.ndarray,
             proposals: pl.DataFrame | None,
             lots: Mapping[str, LotRules] | None) -> pl.DataFrame:
    scheme = result.scheme
    ids = list(scheme.criterion_ids)
    corrected = evals.select("proposal_id", "expert_id").with_columns(
        pl.Series(c.id, np.clip(evals[c.id].to_numpy() - offsets[e_codes, j], 0, c.max))
        for j, c in enumerate(scheme.criteria)
    ).with_columns(pl.sum_horizontal(ids).alias("total"))
    again = score_evaluations(corrected, scheme, proposals, lots, result.consolidated,
                              result.proposals["proposal_id"])
    before = result.proposals.select("proposal_id", "lot", "total", "rank", "decision")
    after = again.proposals.select(
        "proposal_id", pl.col("total").alias("corrected_total"),
        pl.col("rank").alias("corrected_rank"), pl.col("decision").alias("corrected_decision"))
    return (
        before.join(after, on="proposal_id", how="left")
        .filter(pl.col("decision") != pl.col("corrected_decision"))
        .select("proposal_id", "lot", "total", "corrected_total", "rank", "corrected_rank",
                "decision", "corrected_decision")
        .sort("lot", "proposal_id")
    )
