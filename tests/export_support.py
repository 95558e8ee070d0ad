"""Checking an export file against the frame it was made from, independently of the writer:
CSV through Python's csv module and polars, XLSX through openpyxl."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import openpyxl
import polars as pl
from openpyxl.utils.escape import unescape

from evalpanel.callfolder.formulas import FORMULA_STARTS, drop_formula_quote
from evalpanel.store.exports import flatten


def assert_inert_and_equal(path: Path, stored: pl.DataFrame) -> None:
    """No cell of the export at ``path`` is (or starts like) a formula, and every value equals
    the stored one: CSV once the neutralising quote is dropped; XLSX as openpyxl reads it."""
    flat = flatten(stored)
    if path.suffix == ".csv":
        text = path.read_bytes().decode("utf-8")
        cells = list(csv.reader(io.StringIO(text, newline="")))
        assert cells[0] == flat.columns
        assert not any(c.startswith(FORMULA_STARTS) for row in cells for c in row), path
        back = drop_formula_quote(pl.read_csv(io.StringIO(text), infer_schema=False))
        back = back.with_columns(
            (pl.col(c) == "true").alias(c) if t == pl.Boolean else pl.col(c).cast(t)
            for c, t in flat.schema.items()
        )
        blank = [pl.col(c).replace("", None) for c in flat.select(pl.col(pl.String)).columns]
        assert back.with_columns(blank).equals(flat.with_columns(blank)), (path, back, flat)
        return
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"], path
    assert rows[0] == flat.columns
    values = [[unescape(v) if isinstance(v, str) else v for v in row] for row in rows[1:]]
    stored_rows = [list(r) for r in flat.rows()]
    assert len(values) == len(stored_rows), path
    for got, want in zip(values, stored_rows, strict=True):
        for a, b in zip(got, want, strict=True):
            if isinstance(b, float) and not isinstance(a, str):
                # an XLSX number holds 16 significant digits (Excel itself shows 15)
                assert a is not None and math.isclose(a, b, rel_tol=1e-15), (path, got, want)
            else:
                assert a == b and type(a) is type(b), (path, got, want)
