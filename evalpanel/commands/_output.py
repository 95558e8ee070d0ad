"""Writing a command's table by the extension of the file it is given."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def write_table(table: pl.DataFrame, path: Path) -> None:
    """Write ``table`` to ``path``: .xlsx, .parquet, else CSV."""
    if path.suffix == ".xlsx":
        table.write_excel(path)
    elif path.suffix == ".parquet":
        table.write_parquet(path)
    else:
        table.write_csv(path)
