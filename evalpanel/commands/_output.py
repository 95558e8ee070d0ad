"""Writing a command's table by the extension of the file it is given, or to standard output."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl


def write_table(table: pl.DataFrame, path: Path) -> None:
    """Write ``table`` to ``path``: .parquet as it is; .xlsx, else CSV, with formula-like text
    neutralised (:mod:`evalpanel.sheets`)."""
    from evalpanel.cli import InvalidInput
    from evalpanel.sheets import SheetError, csv_bytes, write_sheet

    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            table.write_parquet(path)
        elif suffix == ".xlsx":
            write_sheet(table, path, sheet="table")
        else:
            path.write_bytes(csv_bytes(table))
    except SheetError as exc:
        raise InvalidInput(f"{path}: {exc}") from None


def echo_csv(table: pl.DataFrame) -> None:
    """``table`` as CSV on standard output, neutralised as a CSV export is."""
    from evalpanel.sheets import csv_bytes

    click.echo(csv_bytes(table).decode("utf-8"), nl=False)


def embedding_progress(done: int, total: int) -> None:
    """Report texts embedded so far on standard error (one line, rewritten)."""
    click.echo(f"\rembedding texts: {done} of {total}", err=True, nl=done >= total)
