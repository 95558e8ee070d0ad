"""Ranking and funding per lot.

Input frame, one row per proposal: ``proposal_id, lot, <criterion ids> (points), total, passed,
pending_reason, requested_eur (EUR, nullable), group`` where ``group`` is what ``one_per`` limits
(a proposal's first ecosystem; null when it has none).

- ranked: proposals that pass and are not pending, per lot, by ``rank_score`` (the total with the
  scheme's ranking weights: Σ weight × criterion score; equal to the total when every weight is 1),
  then by each ``tie_break`` criterion (higher first): ``rank`` 1, 2, … Proposals equal on all
  of these are ex aequo: the engine does not order them. They share one rank (the best of
  theirs; the next proposal's rank counts them all, 1, 2, 2, 4) and ``tied`` is true, until a
  manager's :class:`TieOrder` lists exactly the proposals of that tie: then they take
  consecutive ranks in that order and ``tie_order_note`` carries its justification. An order
  that no longer matches a tie (scores changed since) is not applied, with a warning.
  Within a tie, rows are listed by ``proposal_id`` (listing only, never a decision).
- funded in rank order while the lot's budget lasts: ``strict`` stops at the first proposal whose
  ``requested_eur`` does not fit (everything after it is reserve), ``skip`` passes over it and
  looks further down. Proposals still tied are funded together or not at all: when they do not
  all fit (or ``one_per`` would allow only one of them), none is funded, the walk treats them as
  one proposal that does not fit, and a warning asks for an order. With ``one_per``, a proposal
  whose group already has a funded proposal is passed over (reserve) under either rule. Ranked
  proposals not funded form the reserve list, ``reserve_position`` 1, 2, … in rank order (tied
  proposals share a position).
- ``decision``: ``pending`` (needs evaluations or consolidation), ``rejected`` (fails a
  threshold), ``funded`` / ``reserve`` (lot with a budget), ``passed`` (passes, but the lot has
  no budget given: funding is not decided).
- ``decision_reason``: the decision in words, with the reason the walk or a threshold gave, e.g.
  ``"reserve: one proposal per ecosystem, Digital already funded by AFI-2026-0044"``,
  ``"reserve: budget exhausted at rank 12"``, ``"rejected: impact 10.5 below 11"``. Every page,
  report and export shows this text; none composes its own. Each text is one of
  :data:`REASONS` filled in; :func:`parse_reason` gives back its key and fields, so that a report
  in another language says the same reason in its words (``evalpanel.reports.words``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import polars as pl

from ._scheme import Scheme

MONEY_EPS = 0.005  # EUR: a request fits when it is at most the remaining budget plus a cent/2

# Every decision_reason, by key: the funding walk's (funded, reserve_*) and the thresholds'
# (rejected: the engine's fail_reasons with "<" read as "below"; pending: its pending_reason).
REASONS: Final[Mapping[str, str]] = MappingProxyType({
    "funded": "funded: rank {rank}, within the budget ({left} left after it)",
    "funded_plain": "funded",
    "reserve_after_stop": "reserve: budget exhausted at rank {stopped}",
    "reserve_one_per": "reserve: one proposal per {one_per}, {group} already funded by {holder}",
    "reserve_tie_one_per": "reserve: ex aequo at rank {rank} with {others} and only one of them "
                           "can be funded per {one_per}; none is funded until a manager records "
                           "an order",
    "reserve_tie_budget": "reserve: ex aequo at rank {rank} with {others} and they do not all fit "
                          "in the budget left; none is funded until a manager records an order",
    "reserve_no_request": "reserve: no requested amount, so it cannot be funded",
    "reserve_strict": "reserve: budget exhausted at rank {rank} (requests {need}, {left} left)",
    "reserve_skip": "reserve: does not fit the budget left at rank {rank} (requests {need}, "
                    "{left} left)",
    "reserve_plain": "reserve",
    "rejected": "rejected: {failures}",
    "pending": "pending: {reason}",
    "passed": "passed: the lot has no budget, so funding is not decided",
})
_FIELD = {"rank": r"\d+", "stopped": r"\d+", "need": r"EUR [\d,]+", "left": r"EUR [\d,]+"}


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile("".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>{_FIELD.get(part, '.+?')})"
        for i, part in enumerate(parts)) + "$")


_PATTERNS: Final = tuple((key, _pattern(t)) for key, t in REASONS.items())


def reason_text(key: str, **fields: object) -> str:
    """The decision_reason of ``key`` (one of :data:`REASONS`) with ``fields`` filled in."""
    return REASONS[key].format(**fields)


def parse_reason(text: str) -> tuple[str, dict[str, str]] | None:
    """The key of :data:`REASONS` and the fields a decision_reason was made from; None for a
    text that is not one."""
    for key, pattern in _PATTERNS:
        found = pattern.match(text)
        if found:
            return key, found.groupdict()
    return None


@dataclass(frozen=True, slots=True)
class LotRules:
    """What scoring needs of a lot. ``budget_eur=None``: funding is not decided for the lot.

    ``one_per``: ``"ecosystem"`` or None; None falls back to the scheme's ``one_per``.
    ``experts_per_proposal``: None falls back to the scheme's.
    """

    budget_eur: float | None = None
    one_per: str | None = None
    experts_per_proposal: int | None = None


@dataclass(frozen=True, slots=True)
class TieOrder:
    """A manager's order of proposals that are ex aequo in ``lot`` after every tie-break key,
    best first, with the written justification (``note``) shown next to the ranking."""

    lot: str
    proposal_ids: tuple[str, ...]
    note: str


def rank_and_fund(
    frame: pl.DataFrame, scheme: Scheme, lots: Mapping[str, LotRules] | None,
    tie_orders: Sequence[TieOrder] = (),
) -> tuple[pl.DataFrame, list[dict[str, str | None]]]:
    """Adds ``rank_score, rank (Int64, null unless ranked), tied (Boolean, null unless ranked),
    tie_order_note (String), decision, reserve_position, decision_reason (String)``."""
    weights = {c.id: c.rank_weight for c in scheme.criteria}
    score = pl.sum_horizontal([pl.col(c) * w for c, w in weights.items()]).round(6)
    frame = frame.with_columns(
        pl.when(pl.col("total").is_not_null()).then(score).alias("rank_score"),
        (pl.col("passed") & pl.col("pending_reason").is_null()).alias("_ranked"),
    )
    keys = ["rank_score", *scheme.tie_break]
    warnings: list[dict[str, str | None]] = []
    ranked = _ranked(frame.filter("_ranked").with_columns(pl.col(list(scheme.tie_break)).round(6)),
                     keys, tie_orders, warnings)
    funded: list[str] = []
    budgeted: list[str] = []
    reasons: dict[str, str] = {}
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
        funded += _walk(part, lot_id, rules.budget_eur, scheme.funding, one_per, warnings,
                        reasons)
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
        frame.join(ranked.select("proposal_id", "rank", "tied", "tie_order_note", "_order"),
                   on="proposal_id", how="left")
        .with_columns(decision.alias("decision"))
        .sort("lot", "_order", "proposal_id", nulls_last=True)
    )
    # tied proposals share a rank, hence a reserve position ("min" ranking of the reserve ranks)
    reserve = out.filter(pl.col("decision") == "reserve").select(
        "proposal_id",
        pl.col("rank").rank("min").over("lot").cast(pl.Int64).alias("reserve_position"))
    out = out.join(reserve, on="proposal_id", how="left", maintain_order="left")
    return out.with_columns(_reason(reasons).alias("decision_reason")).drop(
        "_ranked", "_order"), warnings


def _reason(walked: dict[str, str]) -> pl.Expr:
    """``decision_reason``: the walk's reason of a funded or reserve proposal, the thresholds a
    rejected one misses (``fail_reasons`` read as words), why one is pending."""
    walk = pl.col("proposal_id").replace_strict(walked, default=None, return_dtype=pl.String)
    failures = pl.col("fail_reasons").list.eval(pl.element().str.replace(" < ", " below ",
                                                                         literal=True))
    return (
        pl.when(pl.col("decision") == "pending")
        .then(pl.lit(_prefix("pending")) + pl.col("pending_reason"))
        .when(pl.col("decision") == "rejected")
        .then(pl.lit(_prefix("rejected")) + failures.list.join("; "))
        .when(pl.col("decision") == "passed")
        .then(pl.lit(REASONS["passed"]))
        .when(walk.is_not_null()).then(walk)
        .when(pl.col("decision") == "funded").then(pl.lit(REASONS["funded_plain"]))
        .otherwise(pl.lit(REASONS["reserve_plain"]))
    )


def _prefix(key: str) -> str:
    """The words of a one-field reason before its field ("pending: ")."""
    return REASONS[key].split("{", 1)[0]


def _eur(value: float) -> str:
    return f"EUR {value:,.0f}"


def _ranked(candidates: pl.DataFrame, keys: list[str], tie_orders: Sequence[TieOrder],
            warnings: list[dict[str, str | None]]) -> pl.DataFrame:
    """``proposal_id, lot, requested_eur, group, rank, tied, tie_order_note, _unit, _order``
    of the proposals to rank, in rank order per lot. ``_unit`` numbers the funding units (a
    proposal, or the proposals of a tie no order resolves), ``_order`` the listing order."""
    ordered = candidates.sort(["lot", *keys, "proposal_id"],
                              descending=[False, *[True] * len(keys), False])
    ordered = ordered.with_columns(
        pl.struct(["lot", *keys]).rle_id().alias("_tie"),
    ).with_columns(pl.len().over("_tie").alias("_size"))
    position: dict[str, int] = {}
    notes: dict[str, str] = {}
    named = {pid for order in tie_orders for pid in order.proposal_ids}
    ties = {pid: (lot, tie, size) for pid, lot, tie, size in  # only the proposals orders name
            ordered.filter(pl.col("proposal_id").is_in(list(named)))
            .select("proposal_id", "lot", "_tie", "_size").iter_rows()}
    for order in tie_orders:
        ids = order.proposal_ids
        where = {ties.get(pid) for pid in ids}
        tie = next(iter(where)) if len(where) == 1 else None
        if tie is not None and tie[0] == order.lot and tie[2] == len(ids) == len(set(ids)):
            for i, pid in enumerate(ids):
                position[pid] = i
                notes[pid] = order.note
            continue
        warnings.append(_warn(None, "tie_order_stale", f"lot {order.lot}: the recorded order of "
                              f"{', '.join(ids)} was not applied: those proposals are no longer "
                              "exactly one ex-aequo group (scores changed since it was recorded)"))
    pos = pl.col("proposal_id").replace_strict(position, default=None, return_dtype=pl.Int64)
    ordered = ordered.with_columns(pos.alias("_pos")).sort(
        ["lot", "_tie", "_pos", "proposal_id"], nulls_last=True)
    ordered = ordered.with_columns(
        (pl.int_range(pl.len()).over("lot").cast(pl.Int64) + 1).alias("_index"))
    first = pl.col("_index").min().over("_tie")
    resolved = pl.col("_pos").is_not_null()
    out = ordered.with_columns(
        pl.when(resolved).then(first + pl.col("_pos")).otherwise(first).alias("rank"),
        ((pl.col("_size") > 1) & ~resolved).alias("tied"),
        pl.col("proposal_id").replace_strict(notes, default=None, return_dtype=pl.String)
        .alias("tie_order_note"),
        pl.int_range(pl.len()).alias("_order"),
    )
    return out.with_columns(
        pl.when(pl.col("tied")).then(-1 - pl.col("_tie").cast(pl.Int64))
        .otherwise(pl.col("_order")).alias("_unit"),
    ).select("proposal_id", "lot", "requested_eur", "group", "rank", "tied", "tie_order_note",
             "_unit", "_order")


def _walk(part: pl.DataFrame, lot_id: str, budget: float, funding: str, one_per: str | None,
          warnings: list[dict[str, str | None]], reasons: dict[str, str]) -> list[str]:
    """The funding walk down one lot's ranked list, unit by unit (a proposal, or an unresolved
    tie taken whole): sequential by nature, over plain lists. Writes each ranked proposal's
    decision in words into ``reasons``."""
    remaining = budget
    groups: dict[str, str] = {}
    funded: list[str] = []
    units: dict[int, list[tuple[str, float | None, str | None]]] = {}
    ranks: dict[str, int] = {}
    for unit, pid, requested, group, rank in part.sort("_order").select(
            "_unit", "proposal_id", "requested_eur", "group", "rank").iter_rows():
        units.setdefault(unit, []).append((pid, requested, group))
        ranks[pid] = rank
    stopped: int | None = None  # strict funding: the rank where the budget ran out
    for members in units.values():
        if stopped is not None:
            for pid, _, _ in members:
                reasons[pid] = reason_text("reserve_after_stop", stopped=stopped)
            continue
        open_ = []
        for pid, requested, group in members:
            if one_per is not None and group is not None and group in groups:
                warnings.append(_warn(pid, "one_per", f"{pid}: reserve: {groups[group]} is "
                                      f"already funded for the {one_per} {group}"))
                reasons[pid] = reason_text("reserve_one_per", one_per=one_per, group=group,
                                           holder=groups[group])
            else:
                open_.append((pid, requested, group))
        if not open_:
            continue
        for pid, requested, _ in open_:
            if requested is None:
                warnings.append(_warn(pid, "no_request", f"{pid}: no requested_eur: not funded"))
        named = [g for _, _, g in open_ if g is not None]
        one_only = one_per is not None and len(set(named)) < len(named)
        need = sum(r for _, r, _ in open_ if r is not None)
        if any(r is None for _, r, _ in open_) or need > remaining + MONEY_EPS or one_only:
            rank = ranks[open_[0][0]]
            if len(members) > 1:
                ids = ", ".join(pid for pid, _, _ in members)
                why = (f"only one of them can be funded per {one_per}" if one_only
                       else "they do not all fit in the budget left")
                warnings.append(_warn(None, "unresolved_tie", f"lot {lot_id}: {ids} are ex "
                                      f"aequo and {why}: none is funded until a manager records "
                                      "an order among them"))
                for pid, _, _ in open_:
                    reasons[pid] = reason_text(
                        "reserve_tie_one_per" if one_only else "reserve_tie_budget", rank=rank,
                        others=", ".join(p for p, _, _ in members if p != pid), one_per=one_per)
            elif open_[0][1] is None:
                reasons[open_[0][0]] = reason_text("reserve_no_request")
            else:
                reasons[open_[0][0]] = reason_text(
                    "reserve_strict" if funding == "strict" else "reserve_skip", rank=rank,
                    need=_eur(need), left=_eur(max(remaining, 0.0)))
            if funding == "strict":
                stopped = rank
            continue
        for pid, requested, group in open_:
            if one_per is not None and group is None:
                warnings.append(_warn(pid, "no_group", f"{pid}: no {one_per}: the "
                                      f"one-per-{one_per} limit cannot apply to it"))
            funded.append(pid)
            remaining -= float(requested or 0)
            reasons[pid] = reason_text("funded", rank=ranks[pid],
                                       left=_eur(max(remaining, 0.0)))
            if one_per is not None and group is not None:
                groups[group] = pid
    return funded


def _warn(pid: str | None, kind: str, message: str) -> dict[str, str | None]:
    return {"proposal_id": pid, "criterion": None, "kind": kind, "message": message}
