"""``evalpanel score``: individual evaluations to one ranked decision per proposal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import polars as pl

import scoring
from evalpanel.callfolder import CallFolder, Problem
from evalpanel.callfolder.check import check_table
from evalpanel.callfolder.problems import count, report
from evalpanel.callfolder.schema import SCORES
from evalpanel.callfolder.scheme import check_score_rows
from evalpanel.callfolder.tables import LINE, read_table
from evalpanel.commands._output import echo_csv, write_table
from evalpanel.planning import lot_rules


def result_table(result: scoring.ScoreResult) -> pl.DataFrame:
    """The CLI's row per proposal: lists joined with "; ", the columns of DESIGN.md first."""
    criteria = list(result.scheme.criterion_ids)
    first = [
        "proposal_id",
        "lot",
        "experts",
        *criteria,
        "total",
        "band",
        "passed",
        "fail_reasons",
        "divergent",
        "needs_expert",
        "rank",
        "decision",
        "decision_reason",
    ]
    frame = result.proposals.with_columns(pl.col("fail_reasons").list.join("; "))
    rest = [c for c in frame.columns if c not in first]
    return frame.select(*first, *rest)


def summary(result: scoring.ScoreResult) -> dict[str, Any]:
    """Per lot: decisions, the funded and reserve lists in order, and what needs an expert."""
    table = result.proposals
    lots: dict[str, Any] = {}
    for (lot,), rows in table.sort("lot", "rank", "proposal_id", nulls_last=True).group_by(
        "lot", maintain_order=True
    ):
        funded = rows.filter(pl.col("decision") == "funded")
        lots[str(lot)] = {
            "proposals": rows.height,
            "decisions": dict(sorted(rows.group_by("decision").len().iter_rows())),
            "funded": funded["proposal_id"].to_list(),
            "funded_eur": float(funded["requested_eur"].fill_null(0).sum()),
            "reserve": rows.filter(pl.col("decision") == "reserve")
            .sort("reserve_position")["proposal_id"]
            .to_list(),
        }
    return {
        "scheme": result.scheme.id,
        "proposals": table.height,
        "passed": int(table["passed"].sum()),
        "divergent": sorted(table.filter(pl.col("divergent"))["proposal_id"].to_list()),
        "needs_expert": sorted(table.filter(pl.col("needs_expert"))["proposal_id"].to_list()),
        "lots": lots,
        "warnings": result.warnings.height,
    }


def _read_scores(path: Path) -> tuple[pl.DataFrame | None, list[Problem]]:
    raw, problems = read_table(path)
    if raw is None:
        return None, problems
    frame, problems = check_table(raw, SCORES)
    return frame, problems


def _scheme_from_option(value: str, call: CallFolder | None) -> scoring.Scheme:
    from evalpanel.cli import InvalidInput

    path = Path(value)
    overrides = call.config.scheme_overrides if call is not None else None
    try:
        if path.suffix == ".toml" or path.is_file():
            if not path.is_file():
                raise InvalidInput(f"{value}: scheme file not found")
            return scoring.load_scheme(
                path.read_text(encoding="utf-8"), overrides or None, scheme_source=path.name
            )
        return scoring.load_scheme(value, overrides or None)
    except scoring.SchemeError as exc:
        raise InvalidInput("\n".join(exc.messages)) from None


@click.command()
@click.argument("scores_csv", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--scheme",
    "scheme_opt",
    metavar="ID|FILE",
    help="Scheme preset id (e.g. erasmus-afi) or a scheme TOML file. Default: the "
    "call's scheme with --call, else erasmus-afi.",
)
@click.option(
    "--call",
    "call_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Call folder: its lots, budgets and proposals' requested amounts decide "
    "funding, and score rows are checked against its proposals and experts.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the table here (.csv, .xlsx or .parquet) instead of standard output.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary per lot.")
def score(
    scores_csv: Path,
    scheme_opt: str | None,
    call_dir: Path | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """Score the evaluations in SCORES_CSV: one row per proposal.

    Columns: proposal_id, lot, experts, one per criterion (the final mean), total, band,
    passed, fail_reasons, divergent, needs_expert, rank (within the lot, for proposals that
    pass), decision (funded, reserve, rejected, pending), decision_reason (the decision in
    words, e.g. "reserve: budget exhausted at rank 12"). Exit 2 with file:line for a score out
    of range or off-step, an unknown criterion, proposal or expert, or an unknown scheme.
    """
    from evalpanel.cli import InvalidInput, load_call

    call = load_call(call_dir) if call_dir is not None else None
    if scheme_opt is not None:
        scheme = _scheme_from_option(scheme_opt, call)
    elif call is not None and call.scheme is not None:
        scheme = call.scheme
    else:
        scheme = _scheme_from_option("erasmus-afi", None)
    if not scores_csv.is_file():
        raise InvalidInput(f"{scores_csv}: no such file")
    frame, problems = _read_scores(scores_csv)
    if frame is not None:
        problems += check_score_rows(scores_csv.name, frame, scheme)
        if call is not None:
            for column, known, what in (
                ("proposal_id", call.proposals["proposal_id"], "the call's proposals"),
                ("expert_id", call.experts["expert_id"], "the call's experts"),
            ):
                bad = frame.filter(~pl.col(column).is_in(known.implode()))
                problems += [
                    Problem(scores_csv.name, line, column, f'"{value}" is not in {what}')
                    for value, line in bad.select(column, LINE).iter_rows()
                ]
    if problems or frame is None:
        lines = report(problems, scores_csv.parent)
        lines.append(f"{scores_csv}: {count(problems):,} problem(s) found; nothing was scored")
        raise InvalidInput("\n".join(lines))
    rows = frame.drop(LINE)
    if call is not None:
        result = scoring.score_call(rows, scheme, call.proposals, lot_rules(call))
    else:
        result = scoring.score_call(rows, scheme)
    table = result_table(result)
    if output is not None:
        write_table(table, output)
    elif not as_json:
        echo_csv(table)
    if as_json:
        click.echo(json.dumps(summary(result), indent=2))
