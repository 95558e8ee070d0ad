"""``evalpanel export``: one table of a stored call as CSV or XLSX, neutralised and audited."""

from __future__ import annotations

from pathlib import Path

import click

from evalpanel.commands._database import db_option, open_engine, refusals

TABLES = ("proposals", "partners", "experts", "conflicts", "assignment", "queues", "scores",
          "consolidated", "ranking", "audit")


@click.command()
@click.argument("call_id")
@click.argument("table", type=click.Choice(TABLES))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write FILE.csv or FILE.xlsx instead of CSV on standard output.",
)
@db_option
def export(call_id: str, table: str, output: Path | None, url: str | None) -> None:
    """Export TABLE of the stored call CALL_ID.

    proposals, partners, experts and conflicts are written in the call-folder format (a file
    `evalpanel import` reads back as stored); scores in the scores.csv columns; assignment,
    queues, consolidated, ranking and audit as the dashboard shows them. CSV cells a
    spreadsheet would run as a formula get one leading quote (the call-folder reader drops it
    again); XLSX text is written as text cells. Each export is audit-logged. Exit 0, or 2 for
    an unknown call or an unusable FILE.
    """
    from evalpanel.store import SYSTEM
    from evalpanel.store.exports import csv_bytes, record_export, table_frame, write_frame

    engine = open_engine(url)
    with refusals("export"):
        if table == "ranking":
            from evalpanel.workflow import rank_call

            frame = rank_call(engine, SYSTEM, call_id).proposals
        else:
            frame = table_frame(engine, SYSTEM, call_id, table)
        if output is None:
            click.echo(csv_bytes(frame).decode("utf-8"), nl=False)
        else:
            write_frame(frame, output, sheet=table)
        fmt = "csv" if output is None else output.suffix.lower().lstrip(".")
        record_export(engine, SYSTEM, call_id, table, frame.height, fmt)
    if output is not None:
        click.echo(f"{frame.height} rows of {table} written to {output}", err=True)
