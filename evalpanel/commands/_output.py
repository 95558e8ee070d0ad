"""Writing a command's table by the extension of the file it is given, or to standard output."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

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


def progress_reporter(
    asked: bool, stream: TextIO | None = None
) -> Callable[[int, int], None] | None:
    """The embedding progress reporter of a command: on a terminal's standard error (or
    ``stream``) one line rewritten in place; when ``asked`` (``--progress``) and the stream is
    not a terminal, one line per step, so logs stay readable; else none. Progress never goes to
    standard output, where ``--json`` and CSV are written."""
    err = stream if stream is not None else sys.stderr
    terminal = err.isatty()
    if not (terminal or asked):
        return None

    def report(done: int, total: int) -> None:
        line = f"embedding texts: {done} of {total}"
        if terminal:
            click.echo(f"\r{line}", file=err, nl=done >= total)
        else:
            click.echo(line, file=err)

    return report


def progress_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--progress``: report embedding progress on standard error even when it is not a
    terminal (it is reported on a terminal anyway)."""
    return click.option(
        "--progress",
        "show_progress",
        is_flag=True,
        help="Report embedding progress on standard error even when it is not a terminal.",
    )(command)
