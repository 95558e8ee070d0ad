"""The ranking and its reliability as a call manager reads them: each proposal's title,
coordinator and ecosystem beside its id, the decision with the scoring engine's reason
(``decision_reason``), the funding line of a lot (cumulative funded requests against the
budget, with the reserve list set apart), and the reliability report with experts' names and
what its empty sections lack."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

import scoring
from evalpanel.callfolder import CallFolder, Lot
from evalpanel.planning import lot_rules
from evalpanel.store import Actor, Names, call_folder, call_names, with_names
from evalpanel.workflow import rank_call


@dataclass(frozen=True)
class RankingView:
    """``proposals``: the ranking's rows (:func:`scoring.score_call`) with ``title,
    coordinator, ecosystem`` after ``proposal_id``; ``lots``: the call's lots by id."""

    result: scoring.ScoreResult
    proposals: pl.DataFrame
    lots: dict[str, Lot]


def ranking_view(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    *,
    call: CallFolder | None = None,
    result: scoring.ScoreResult | None = None,
    names: Names | None = None,
) -> RankingView:
    """The call's ranking with names (managers of the call). ``call``, ``result`` and
    ``names``: the stored call, its :func:`evalpanel.workflow.rank_call` and its
    :func:`evalpanel.store.call_names` already read by the caller (a page's cache)."""
    call = call or call_folder(engine, actor, call_id)
    if result is None:
        result = rank_call(engine, actor, call_id, call=call)
    names = names or call_names(engine, actor, call_id)
    rows = with_names(result.proposals, names,
                      proposal_fields=("title", "coordinator", "ecosystem"))
    return RankingView(result, rows, dict(call.config.lots))


def ranked_positions(rows: pl.DataFrame) -> pl.DataFrame:
    """One lot's ranked proposals (``rank`` not null) in rank order with ``position``: 1, 2,
    … down the list, so proposals that share a rank (ex aequo) each get their own place in a
    chart instead of being drawn on top of one another (ties in id order; the ranking's own
    order of a tie is the manager's recorded one, already in ``rank``)."""
    return rows.filter(pl.col("rank").is_not_null()).sort("rank", "proposal_id").with_columns(
        position=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))


FUNDING_LINE: dict[str, pl.DataType] = {
    "position": pl.Int64(),
    "rank": pl.Int64(),
    "proposal_id": pl.String(),
    "title": pl.String(),
    "decision": pl.String(),
    "part": pl.String(),
    "requested_eur": pl.Float64(),
    "from_eur": pl.Float64(),
    "to_eur": pl.Float64(),
}


def funding_line(rows: pl.DataFrame) -> pl.DataFrame:
    """One lot's ranked proposals as the funding line draws them (``FUNDING_LINE``): ``part``
    is ``funded`` or ``reserve list``; a funded proposal spans ``from_eur`` to ``to_eur`` of
    the cumulative funded requests (rank order), a reserve one continues above the funded total
    in reserve order, so the budget line shows how far down the reserve list money would
    reach. ``position``: the proposal's place in :func:`ranked_positions` (tied proposals
    apart). Proposals without a request count as 0 EUR."""
    ranked = ranked_positions(rows).filter(pl.col("decision").is_in(["funded", "reserve"]))
    if ranked.is_empty():
        return pl.DataFrame(schema=FUNDING_LINE)
    ranked = ranked.with_columns(
        pl.col("requested_eur").fill_null(0.0),
        pl.when(pl.col("decision") == "funded").then(pl.lit("funded"))
        .otherwise(pl.lit("reserve list")).alias("part"))
    funded = ranked.filter(pl.col("part") == "funded")
    total = float(funded["requested_eur"].sum())
    out = pl.concat([
        funded.with_columns(to_eur=pl.col("requested_eur").cum_sum()),
        ranked.filter(pl.col("part") == "reserve list")
        .with_columns(to_eur=total + pl.col("requested_eur").cum_sum()),
    ]).with_columns(from_eur=pl.col("to_eur") - pl.col("requested_eur"))
    title = pl.col("title") if "title" in out.columns else pl.lit(None, pl.String)
    return out.select("position", pl.col("rank").cast(pl.Int64), "proposal_id",
                      title.alias("title"), "decision", "part", "requested_eur", "from_eur",
                      "to_eur")


@dataclass(frozen=True)
class ReliabilityView:
    """The reliability report (advisory) with names: ``leniency`` with ``expert_name`` after
    ``expert_id``, ``changes`` with ``title`` after ``proposal_id``; ``missing``: what each
    empty section lacks, in words (``agreement``, ``leniency``), absent when it has data."""

    report: scoring.ReliabilityReport
    leniency: pl.DataFrame
    changes: pl.DataFrame
    missing: dict[str, str]
    scales: dict[str, str]  # "icc", "alpha": the reading's thresholds and source, in words


def scale_words(readings: tuple[tuple[float, str], ...], source: str) -> str:
    """``poor below 0.5, moderate 0.5 to 0.75, ..., excellent 0.9 and above (source)`` of a
    reading scale (best first, as :data:`scoring.ICC_READING`)."""
    lows = [low for low, _ in readings]
    words = []
    for i, (low, label) in reversed(list(enumerate(readings))):
        if i == len(readings) - 1:
            words.append(f"{label} below {lows[i - 1]:g}")
        elif i == 0:
            words.append(f"{label} {low:g} and above")
        else:
            words.append(f"{label} {low:g} to {lows[i - 1]:g}")
    return ", ".join(words) + f" ({source})"


def reliability_view(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    *,
    call: CallFolder | None = None,
    result: scoring.ScoreResult | None = None,
    names: Names | None = None,
) -> ReliabilityView:
    """:func:`evalpanel.workflow.reliability_report` with names and its empty states.
    ``call``, ``result`` and ``names``: as for :func:`ranking_view`."""
    call = call or call_folder(engine, actor, call_id)
    if result is None:
        result = rank_call(engine, actor, call_id, call=call)
    report = scoring.reliability(result, call.proposals, lot_rules(call))
    names = names or call_names(engine, actor, call_id)
    evaluations = result.evaluations.height
    shared = int(report.agreement.select(pl.col("proposals").max()).item() or 0)
    missing: dict[str, str] = {}
    if evaluations == 0:
        missing["agreement"] = ("No evaluation is submitted yet: agreement needs at least two "
                                "experts' submitted evaluations of the same proposal.")
    elif shared == 0:
        missing["agreement"] = (f"{evaluations} evaluation(s) are submitted, but no proposal "
                                "has two yet: agreement compares experts on the same proposal.")
    if report.leniency.filter(pl.col("offset").is_not_null()).is_empty() or (
            report.components.filter(pl.col("experts") >= 2).is_empty()):
        missing["leniency"] = ("Leniency needs experts who scored the same proposals as other "
                               "experts (at least two experts linked by shared proposals); "
                               + (f"{evaluations} evaluation(s) are submitted so far."
                                  if evaluations else "none is submitted yet."))
    return ReliabilityView(report, with_names(report.leniency, names),
                           with_names(report.changes, names, proposal_fields=("title",)),
                           missing, {"icc": scale_words(scoring.ICC_READING, scoring.ICC_SOURCE),
                                     "alpha": scale_words(scoring.ALPHA_READING,
                                                          scoring.ALPHA_SOURCE)})
