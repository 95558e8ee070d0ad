"""Ranking and funding per lot.

Input frame, one row per proposal: ``proposal_id, lot, <criterion ids> (points), total, passed,
pending_reason, requested_eur (EUR, nullable), group`` where ``group`` is what ``one_per`` limits
(a proposal's first ecosystem; null when it has none).

- ranked: proposals that pass and are not pending, per lot, by ``rank_score`` (the total with the
  scheme's ranking weights: Σ weight × criterion score; equal to the total when every weight is 1),
  then by each ``tie_break`` criterion (higher first), then by ``proposal_id``: ``rank`` 1, 2, …
- funded in rank order while the lot's budget lasts: ``strict`` stops at the first proposal whose
  ``requested_eur`` does not fit (everything after it is reserve), ``skip`` passes over it and
  looks further down. With ``one_per``, a proposal whose group already has a funded proposal is
  passed over (reserve) under either rule. Ranked proposals not funded form the reserve list,
  ``reserve_position`` 1, 2, … in rank order.
- ``decision``: ``pending`` (needs evaluations or consolidation), ``rejected`` (fails a
  threshold), ``funded`` / ``reserve`` (lot with a budget), ``passed`` (passes, but the lot has
  no budget given: funding is not decided).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from ._scheme import Scheme

MONEY_EPS = 0.005  # EUR: a request fits when it is at most the remaining budget plus a cent/2


@dataclass(frozen=True, slots=True)
class LotRules:
    """What scoring needs of a lot. ``budget_eur=None``: funding is not decided for the lot.

    ``one_per``: ``"ecosystem"`` or None; None falls back to the scheme's ``one_per``.
    ``experts_per_proposal``: None falls back to the scheme's.
    """

    budget_eur: float | None = None
    one_per: str | None = None
    experts_per_proposal: int | None = None


def rank_and_fund(
    frame: pl.DataFrame, scheme: Scheme, lots: Mapping[str, LotRules] | None,
) -> tuple[pl.DataFrame, list[dict[str, str | None]]]:
    """Adds ``rank_score, rank (Int64, null unless ranked), decision, reserve_position``."""
    weights = {c.id: c.rank_weight for c in scheme.criteria}
    score = pl.sum_horizontal([pl.col(c) * w for c, w in weights.items()]).round(6)
    frame = frame.with_columns(
        pl.when(pl.col("total").is_not_null()).then(score).alias("rank_score"),
        (pl.col("passed") & pl.col("pending_reason").is_null()).alias("_ranked"),
    )
    keys = ["rank_score", *scheme.tie_break]
    ranked = (
        frame.filter("_ranked")
        .with_columns(pl.col(list(scheme.tie_break)).round(6))
        .sort(["lot", *keys, "proposal_id"], descending=[False, *[True] * len(keys), False])
        .select("proposal_id", "lot", "requested_eur", "group")
        .with_columns((pl.int_range(pl.len()).over("lot") + 1).cast(pl.Int64).alias("rank"))
    )
    warnings: list[dict[str, str | None]] = []
    funded: list[str] = []
    budgeted: list[str] = []
    for lot, part in ranked.partition_by("lot", as_dict=True).items():
        lot_id = str(lot[0])
        rules = (lots or {}).get(lot_id)
        if rules is None or rules.budget_eur is None:
            if lots is not None:
                warnings.append(_warn(None, "no_budget",
                                      f"lot {lot_id}: no budget given: funding not decided"))
            continue
        budgeted.append(lot_id)
        one_per = rules.one_per or scheme.one_per
        funded += _walk(part.sort("rank"), rules.budget_eur, scheme.funding, one_per, warnings)
    pending = frame.filter(pl.col("pending_reason").is_not_null()).group_by("lot").len()
    for lot_id, n in pending.sort("lot").iter_rows():
        if lot_id in budgeted:
            warnings.append(_warn(None, "provisional", f"lot {lot_id}: {n} proposal(s) pending: "
                                  "its funding decisions are provisional"))
    decision = (
        pl.when(pl.col("pending_reason").is_not_null()).then(pl.lit("pending"))
        .when(~pl.col("passed")).then(pl.lit("rejected"))
        .when(pl.col("proposal_id").is_in(pl.Series(funded, dtype=pl.String).implode()))
        .then(pl.lit("funded"))
        .when(pl.col("lot").is_in(pl.Series(budgeted, dtype=pl.String).implode()))
        .then(pl.lit("reserve"))
        .otherwise(pl.lit("passed"))
    )
    out = (
        frame.join(ranked.select("proposal_id", "rank"), on="proposal_id", how="left")
        .with_columns(decision.alias("decision"))
        .sort("lot", "rank", "proposal_id", nulls_last=True)
    )
    reserve = pl.col("decision") == "reserve"
    out = out.with_columns(
        pl.when(reserve).then(reserve.cast(pl.Int64).cum_sum().over("lot"))
        .alias("reserve_position"))
    return out.drop("_ranked"), warnings


def _walk(part: pl.DataFrame, budget: float, funding: str, one_per: str | None,
          warnings: list[dict[str, str | None]]) -> list[str]:
    """The funding walk down one lot's ranked list: sequential by nature, over plain lists."""
    remaining = budget
    groups: dict[str, str] = {}
    funded: list[str] = []
    for pid, requested, group in zip(part["proposal_id"].to_list(),
                                     part["requested_eur"].to_list(), part["group"].to_list(),
                                     strict=True):
        if one_per is not None and group is not None and group in groups:
            warnings.append(_warn(pid, "one_per", f"{pid}: reserve: {groups[group]} is already "
                                  f"funded for the {one_per} {group}"))
            continue
        if requested is None or requested > remaining + MONEY_EPS:
            if requested is None:
                warnings.append(_warn(pid, "no_request", f"{pid}: no requested_eur: not funded"))
            if funding == "strict":
                break
            continue
        if one_per is not None and group is None:
            warnings.append(_warn(pid, "no_group", f"{pid}: no {one_per}: the one-per-{one_per} "
                                  "limit cannot apply to it"))
        funded.append(pid)
        remaining -= requested
        if one_per is not None and group is not None:
            groups[group] = pid
    return funded


def _warn(pid: str | None, kind: str, message: str) -> dict[str, str | None]:
    return {"proposal_id": pid, "criterion": None, "kind": kind, "message": message}
