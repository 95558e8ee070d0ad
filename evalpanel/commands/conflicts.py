"""``evalpanel conflicts``: every excluded pair of a call with its reasons, potential ones
marked."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from evalpanel.commands._database import db_option, open_engine, refusals


@click.command()
@click.argument("call")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the table here (.csv or .xlsx) instead of standard output.",
)
@db_option
def conflicts(call: str, output: Path | None, url: str | None) -> None:
    """Every excluded (proposal, expert) pair of CALL with its reasons.

    CALL is a call folder (CALL_DIR), or the id of a call stored in the database (always with
    --db URL; without it, when no folder of that name exists, the embedded database): a stored
    call counts the conflicts declared since its import too, and the export is audit-logged.
    The columns are proposal_id, expert_id, reason, detail and potential (true for a likely
    but unconfirmed conflict the manager confirms or dismisses; false for an exclusion). The
    table goes to FILE, or to standard output as CSV, with formula-like text neutralised.
    Exit 0, or 2 when the folder is invalid or the call unknown.
    """
    from evalpanel.cli import load_call
    from evalpanel.planning import conflict_report
    from evalpanel.store import SYSTEM, call_folder
    from evalpanel.store.exports import csv_bytes, record_export, write_frame

    engine = None
    with refusals("conflicts"):
        if url is not None or not Path(call).is_dir():
            engine = open_engine(url)
            table = conflict_report(call_folder(engine, SYSTEM, call))
        else:
            table = conflict_report(load_call(call))
        if output is None:
            click.echo(csv_bytes(table).decode("utf-8"), nl=False)
        else:
            write_frame(table, output, sheet="conflicts")
        if engine is not None:
            fmt = "csv" if output is None else output.suffix.lower().lstrip(".")
            record_export(engine, SYSTEM, call, "conflict_report", table.height, fmt)
    potential = int(table["potential"].sum())
    pairs = table.filter(~pl.col("potential")).select("proposal_id", "expert_id").unique()
    click.echo(
        f"{pairs.height} excluded pairs ({table.height - potential} reasons), "
        f"{potential} potential conflicts" + ("" if output is None else f"; written to {output}"),
        err=True,
    )
