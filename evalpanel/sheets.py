"""Writing a table as a CSV or XLSX file that no spreadsheet runs as a formula, and that the
call-folder reader reads back as it was.

- List cells are joined with ``;`` first, as in the call-folder format; dates become ISO text.
- CSV: every text cell a spreadsheet would read as a formula then gets one leading ``'``
  (:func:`evalpanel.callfolder.formulas.quote_formulas`; the call-folder reader drops exactly
  that quote again). Numbers are written as numbers.
- XLSX: text is written as string cells (never formulas or links, no apostrophe added), numbers
  as numbers (16 significant digits), booleans as booleans, an empty cell for a null.

No database here: the commands that only compute (``evalpanel assign``, ``score``) write their
tables with it too.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from evalpanel.callfolder.formulas import quote_formulas

XLSX_MAX_CHARS = 32_767  # Excel's limit on the text of one cell
SUFFIXES = (".csv", ".xlsx")


class SheetError(ValueError):
    """The table cannot be written as asked (file type, a cell too long for XLSX)."""


def flatten(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with list cells joined by ``;`` and dates/times as ISO text."""
    out = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List):
            out.append(col.list.eval(pl.element().cast(pl.String)).list.join(";"))
        elif dtype == pl.Date:
            out.append(col.dt.to_string("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            out.append(col.dt.to_string("iso"))
    return frame.with_columns(out) if out else frame


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` as a CSV export writes it: :func:`flatten`, then formula-like text quoted."""
    return quote_formulas(flatten(frame))


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """The CSV export of ``frame`` (UTF-8), e.g. for a download button."""
    return neutralise(frame).write_csv().encode("utf-8")


def _write_xlsx(frame: pl.DataFrame, path: Path, sheet: str) -> None:
    import xlsxwriter  # only for .xlsx: a CSV export does not wait for it

    flat = flatten(frame)
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with xlsxwriter.Workbook(str(path), options) as book:
        ws = book.add_worksheet(sheet[:31])
        for c, name in enumerate(flat.columns):
            ws.write_string(0, c, name)
        for r, row in enumerate(flat.iter_rows(), start=1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, bool):
                    ws.write_boolean(r, c, value)
                elif isinstance(value, int | float) and math.isfinite(value):
                    ws.write_number(r, c, value)
                else:
                    text = str(value)
                    if len(text) > XLSX_MAX_CHARS:
                        raise SheetError(
                            f"row {r}, column {flat.columns[c]!r} holds {len(text)} characters; "
                            f"an XLSX cell holds at most {XLSX_MAX_CHARS}: export as .csv"
                        )
                    ws.write_string(r, c, text)
        ws.autofit()


def write_sheet(frame: pl.DataFrame, path: str | Path, *, sheet: str = "export") -> Path:
    """Write ``frame`` to ``path`` (``.csv`` or ``.xlsx``) as described in the module."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        path.write_bytes(csv_bytes(frame))
    elif suffix == ".xlsx":
        _write_xlsx(frame, path, sheet)
    else:
        raise SheetError(f"export to a .csv or .xlsx file; got {path.name!r}")
    return path
