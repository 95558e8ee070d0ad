"""``score_call``: from evaluation rows to one decision per proposal.

Inputs:

- ``scores``: ``proposal_id, expert_id, criterion, score`` (points), one row per criterion score;
- ``proposals`` (optional): ``proposal_id, lot, requested_eur`` (EUR) and, for ``one_per =
  "ecosystem"``, ``ecosystems`` (List[String]; a proposal's group is its *first* ecosystem).
  Without it every proposal is in lot ``"-"`` and funding is not decided;
- ``lots`` (optional): lot id -> :class:`LotRules`; a lot absent or with ``budget_eur=None``
  gets ranks but no funding decision (``decision = "passed"`` for those that pass);
- ``consensus`` (optional): consolidated scores ``proposal_id, criterion, score``;
- ``tie_orders`` (optional): managers' orders of ex-aequo proposals (:class:`TieOrder`).

Result (:class:`ScoreResult`):

- ``proposals``: one row per proposal, sorted by lot, rank, proposal_id — ``proposal_id, lot,
  experts (Int64, counted evaluations), consolidated (Boolean), final_rule (mean | closest_two |
  mean_all | consensus, null without scores), <criterion ids> (Float64 points, final),
  total, rank_score (weighted total used to rank), band, <criterion id>_band, passed,
  fail_reasons (List[String], e.g. "partnership 8.5 < 10", "total 68.5 < 70"), divergent,
  needs_expert, pending_reason (String, null unless pending), rank (Int64 within the lot, null
  unless ranked; ex-aequo proposals share one), tied (Boolean: ex aequo after every tie-break key
  and no manager's order resolves it; null unless ranked), tie_order_note (String: the
  justification of the manager's order that placed it, else null), decision (funded | reserve |
  rejected | pending | passed), reserve_position (Int64), requested_eur (Float64),
  decision_reason (String: the decision in words with its reason, see
  :mod:`scoring._ranking`)``;
- ``evaluations``: ``proposal_id, expert_id, <criterion ids>, total, counted`` (used in the final);
- ``problems``: rows to fix (see :func:`check_scores`); evaluations with a problem do not count.
  A caller treating input strictly stops when ``problems`` is not empty;
- ``warnings``: ``proposal_id, criterion, kind, message`` (divergence, criterion disagreement,
  provisional funding, unknown proposals, …).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from ._aggregate import WARNINGS_SCHEMA, final_scores, thresholds
from ._checks import CONSENSUS_KEYS, check_rows, empty_problems, wide
from ._ranking import LotRules, TieOrder, rank_and_fund
from ._scheme import Scheme

NO_LOT = "-"


@dataclass(frozen=True, slots=True)
class ScoreResult:
    scheme: Scheme
    proposals: pl.DataFrame
    evaluations: pl.DataFrame
    consolidated: pl.DataFrame | None  # the consolidated scores that count, wide
    problems: pl.DataFrame
    warnings: pl.DataFrame

    @property
    def ok(self) -> bool:
        """No input row has a problem."""
        return self.problems.height == 0


def check_scores(scores: pl.DataFrame, scheme: Scheme, table: str = "scores") -> pl.DataFrame:
    """Every problem of expert score rows: ``table, row (0-based), column, problem``."""
    return check_rows(scores, scheme, table)[0]


def score_call(
    scores: pl.DataFrame,
    scheme: Scheme,
    proposals: pl.DataFrame | None = None,
    lots: Mapping[str, LotRules] | None = None,
    consensus: pl.DataFrame | None = None,
    tie_orders: Sequence[TieOrder] = (),
) -> ScoreResult:
    """Aggregate, check thresholds, rank and fund (see the module docstring for the frames)."""
    problems, counted = check_rows(scores, scheme, "scores")
    evals = wide(counted, scheme)
    cons: pl.DataFrame | None = None
    seen = [scores.select(pl.col("proposal_id").cast(pl.String))] if \
        "proposal_id" in scores.columns else []
    if consensus is not None:
        cons_problems, cons_counted = check_rows(consensus, scheme, "consensus", CONSENSUS_KEYS)
        problems = pl.concat([problems, cons_problems])
        cons = wide(cons_counted, scheme, CONSENSUS_KEYS)
        if "proposal_id" in consensus.columns:
            seen.append(consensus.select(pl.col("proposal_id").cast(pl.String)))
    seen_ids = pl.concat([*seen, evals.select("proposal_id")]).drop_nulls().unique()
    return score_evaluations(evals, scheme, proposals, lots, cons, seen_ids["proposal_id"],
                             problems, tie_orders)


def score_evaluations(
    evals: pl.DataFrame,
    scheme: Scheme,
    proposals: pl.DataFrame | None = None,
    lots: Mapping[str, LotRules] | None = None,
    consolidated: pl.DataFrame | None = None,
    seen_ids: pl.Series | None = None,
    problems: pl.DataFrame | None = None,
    tie_orders: Sequence[TieOrder] = (),
) -> ScoreResult:
    """:func:`score_call` on evaluations already checked, in wide form.

    ``evals``: ``proposal_id, expert_id, <criterion ids>, total``; ``consolidated``:
    ``proposal_id, <criterion ids>, total``; ``seen_ids``: further proposal ids to report
    (pending) when no proposals frame is given. Scores are not checked against the scheme here.
    """
    ids = list(scheme.criterion_ids)
    cons = consolidated
    problems = problems if problems is not None else empty_problems()
    warnings: list[pl.DataFrame] = []

    if proposals is not None:
        _require(proposals, ("proposal_id", "lot", "requested_eur"))
        info = proposals.select(
            pl.col("proposal_id").cast(pl.String), pl.col("lot").cast(pl.String),
            pl.col("requested_eur").cast(pl.Float64),
            (pl.col("ecosystems").list.first() if "ecosystems" in proposals.columns
             else pl.lit(None, pl.String)).alias("group"),
        )
        known = info["proposal_id"].implode()
        seen = [evals.select("proposal_id")] + ([cons.select("proposal_id")] if cons is not None
                                                 else [])
        unknown = pl.concat(seen).unique().filter(~pl.col("proposal_id").is_in(known))
        warnings.append(unknown.sort("proposal_id").select(
            "proposal_id", pl.lit(None, pl.String).alias("criterion"),
            pl.lit("unknown_proposal").alias("kind"),
            pl.format("{}: scores for a proposal not in the call: left out", "proposal_id")
            .alias("message")))
        evals = evals.filter(pl.col("proposal_id").is_in(known))
        if cons is not None:
            cons = cons.filter(pl.col("proposal_id").is_in(known))
    else:
        all_ids = pl.concat([evals.select("proposal_id"),
                             *([cons.select("proposal_id")] if cons is not None else []),
                             pl.DataFrame({"proposal_id": seen_ids if seen_ids is not None
                                           else pl.Series([], dtype=pl.String)})])
        info = all_ids.drop_nulls().unique().select(
            "proposal_id", pl.lit(NO_LOT).alias("lot"),
            pl.lit(None, pl.Float64).alias("requested_eur"),
            pl.lit(None, pl.String).alias("group"))

    k = info.select("proposal_id", pl.col("lot").replace_strict(
        {lot: r.experts_per_proposal for lot, r in (lots or {}).items()},
        default=None, return_dtype=pl.Int64).alias("k"))
    per_proposal, evaluations, agg_warnings = final_scores(evals, cons, k, scheme,
                                                           info["proposal_id"])
    warnings.append(agg_warnings)
    scored = thresholds(per_proposal, scheme).join(info, on="proposal_id", how="left")
    ranked, fund_warnings = rank_and_fund(scored, scheme, lots, tie_orders)
    if fund_warnings:
        warnings.append(pl.DataFrame(fund_warnings, schema=WARNINGS_SCHEMA))
    out = ranked.select(
        "proposal_id", "lot", "experts", "consolidated", "final_rule", *ids, "total", "rank_score",
        "band", *[f"{c}_band" for c in ids], "passed", "fail_reasons", "divergent",
        "needs_expert", "pending_reason", "rank", "tied", "tie_order_note", "decision",
        "reserve_position", "requested_eur", "decision_reason",
    )
    return ScoreResult(scheme, out, evaluations.sort("proposal_id", "expert_id"), cons,
                       problems.sort("table", "row", maintain_order=True),
                       pl.concat(warnings).cast(pl.Schema(WARNINGS_SCHEMA)) if warnings else
                       pl.DataFrame(schema=WARNINGS_SCHEMA))


def _require(frame: pl.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the proposals frame lacks {', '.join(missing)}: it needs "
                         f"{', '.join(columns)} (and ecosystems for one_per = 'ecosystem')")
