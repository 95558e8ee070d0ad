"""Read one table of a call folder as a raw frame, with the file line of every row.

Formats: ``NAME.csv`` (UTF-8, header row), ``NAME.xlsx`` (first sheet, header row) and
``NAME.parquet``. The returned frame has every column as ``String`` plus ``__line__`` (Int64):
the 1-based line of the row in a CSV file (a quoted cell may span lines), the spreadsheet row in
an XLSX file, or the 1-based record number in a Parquet file. The one exception: a Parquet column
that is already numeric (integer or float) is kept as it is, so that a large numeric column (a
dense ``affinity.parquet`` has P × E rows) is checked natively, without a round trip through
strings (see :mod:`.check`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from evalpanel.callfolder.formulas import drop_formula_quote
from evalpanel.callfolder.problems import Problem

FORMATS = (".csv", ".xlsx", ".parquet")
LINE = "__line__"


@dataclass(frozen=True, slots=True)
class RawTable:
    file: str  # the file name shown in messages
    frame: pl.DataFrame  # String columns (numeric ones from Parquet kept) plus LINE


def find_table(folder: Path, name: str) -> tuple[Path | None, list[Problem]]:
    """The file holding table ``name``; two formats of one table are refused as ambiguous."""
    found = [folder / (name + ext) for ext in FORMATS if (folder / (name + ext)).is_file()]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        return None, [
            Problem(found[0].name, None, "", f"the table is given twice ({names}): keep one")
        ]
    return (found[0] if found else None), []


def read_table(path: Path) -> tuple[RawTable | None, list[Problem]]:
    if path.suffix == ".csv":
        raw, problems = _read_csv(path)
        if raw is None:
            return None, problems
        # the quote an export put before a formula-like cell is not part of the value
        return RawTable(raw.file, drop_formula_quote(raw.frame)), problems
    if path.suffix == ".xlsx":
        return _read_xlsx(path)
    return _read_parquet(path)


def _read_csv(path: Path) -> tuple[RawTable | None, list[Problem]]:
    name = path.name
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            Problem(
                name,
                line,
                "",
                f"not UTF-8 (byte 0x{data[exc.start]:02X} at character "
                f"{col}): save the file as UTF-8",
            )
        ]
    if not text.strip():
        return None, [Problem(name, None, "", "empty file: expected a header row and data rows")]
    if "\x00" in text:
        return None, [
            Problem(
                name,
                data.count(b"\n", 0, data.index(b"\x00")) + 1,
                "",
                "contains NUL bytes: this is not a CSV text file",
            )
        ]
    header = next(csv.reader(_lines(text)), [])
    if len(header) == 1:
        other = next((sep for sep in (";", "\t") if sep in header[0]), None)
        if other is not None:
            shown = "';'" if other == ";" else "tabs"
            return None, [
                Problem(
                    name,
                    1,
                    "",
                    f"the columns are separated by {shown}, not commas (as a spreadsheet set to "
                    "a European language saves CSV): save the file as CSV with ',' between "
                    "cells",
                )
            ]
    header_problems = check_header(name, header)
    if header_problems:
        return None, header_problems
    try:
        # the bytes as read (they decode to ``text``): a StringIO of the text would be copied
        # into a 4-byte-per-character buffer, read back and encoded again
        frame = pl.read_csv(data, infer_schema=False, truncate_ragged_lines=False)
    except pl.exceptions.PolarsError as exc:
        return _read_csv_slow(name, text, f"{exc}".splitlines()[0])
    frame = frame.rename({col: col.strip() for col in frame.columns})
    # A record starts one line after the previous one ended: count the line breaks inside
    # quoted cells to place every row on its file line.
    inside = frame.select(
        pl.sum_horizontal(pl.all().str.count_matches("\n", literal=True).fill_null(0))
    ).to_series()
    lines = (inside.cum_sum() - inside + pl.int_range(2, frame.height + 2, eager=True)).cast(
        pl.Int64
    )
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    if physical != 1 + frame.height + int(inside.sum()):
        return _read_csv_slow(name, text, None)  # blank lines or other oddities: go carefully
    frame = _without_blank_rows(frame.with_columns(lines.alias(LINE), inside.alias("__n__")))
    short = _short_rows(text, frame, len(header))
    if short:
        return None, [
            Problem(
                name,
                line,
                "",
                f"has {n} cells where the header has {len(header)}: "
                "check the separators and quotes",
            )
            for line, n in short
        ]
    return RawTable(name, frame.drop("__n__")), []


# a line and its break as ``io.StringIO(text, newline="")`` yields them: \r\n, \r or \n
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+$")


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` as ``io.StringIO(text, newline="")`` yields them, made only as a
    reader asks for them (the header's record needs the first line or few; a StringIO would
    copy the whole text first)."""
    return (m.group() for m in _LINE.finditer(text))


def _without_blank_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` without the rows whose every cell is empty (blank lines, and the rows of bare
    commas a spreadsheet leaves below its data); LINE keeps every other row on its line."""
    cells = [c for c in frame.columns if c not in (LINE, "__n__")]
    # such a row's last cell is null (a blank line's first cell may hold its spaces), so a
    # frame whose last column has no null has none, known without a pass over the cells
    if not cells or frame[cells[-1]].null_count() == 0:
        return frame
    first = pl.col(cells[0])
    blank = pl.all_horizontal(pl.col(cells[1:]).is_null()) & (
        first.is_null() | (first.str.strip_chars() == "")
    ) if len(cells) > 1 else first.is_null() | (first.str.strip_chars() == "")
    if not frame.select(blank.any()).item():
        return frame
    return frame.filter(~blank)


def _short_rows(text: str, frame: pl.DataFrame, width: int) -> list[tuple[int, int]]:
    """(line, cells) of rows with fewer cells than the header: polars pads them with nulls, so
    re-read only the rows whose last cell is null with the csv module."""
    last = frame.columns[-3]  # the frame ends with LINE and the count of in-cell line breaks
    candidates = frame.filter(pl.col(last).is_null())
    if candidates.height == 0:
        return []
    physical = text.split("\n")
    out = []
    for line, span in candidates.select(LINE, "__n__").iter_rows():
        raw = "\n".join(physical[line - 1 : line + span])
        record = next(csv.reader(io.StringIO(raw, newline="")), [])
        if len(record) != width:
            out.append((line, len(record)))
    return out


def _read_csv_slow(
    name: str, text: str, error: str | None
) -> tuple[RawTable | None, list[Problem]]:
    """Python's csv module, which knows where each record starts and which row is ragged."""
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    try:
        header = next(reader)
        rows: list[list[str]] = []
        starts: list[int] = []
        end = reader.line_num
        for row in reader:
            start, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                problems.append(
                    Problem(
                        name,
                        start,
                        "",
                        f"has {len(row)} cells where the header has "
                        f"{len(header)}: check the separators and quotes",
                    )
                )
                continue
            rows.append(row)
            starts.append(start)
    except csv.Error as exc:
        return None, [Problem(name, reader.line_num, "", f"cannot be read as CSV: {exc}")]
    header = [col.strip() for col in header]
    problems += check_header(name, header)
    if problems:
        return None, problems
    if error is not None and not rows:
        return None, [Problem(name, None, "", f"cannot be read as CSV: {error}")]
    frame = pl.DataFrame(
        {col: [row[i] for row in rows] for i, col in enumerate(header)},
        schema={col: pl.String for col in header},
    ).with_columns(pl.Series(LINE, starts, dtype=pl.Int64))
    return RawTable(name, frame), []


def _read_xlsx(path: Path) -> tuple[RawTable | None, list[Problem]]:
    try:
        frame = pl.read_excel(path, infer_schema_length=0)
    except Exception as exc:  # fastexcel raises its own exception types
        return None, [Problem(path.name, None, "", f"cannot be read as an XLSX workbook: {exc}")]
    frame = frame.with_columns(pl.all().cast(pl.String)).rename(lambda col: col.strip())
    problems = check_header(path.name, frame.columns)
    if problems:
        return None, problems
    lines = pl.int_range(2, frame.height + 2, eager=True, dtype=pl.Int64)
    frame = _without_blank_rows(frame.with_columns(lines.alias(LINE)))
    return RawTable(path.name, frame), []


def _read_parquet(path: Path) -> tuple[RawTable | None, list[Problem]]:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars/arrow errors for a damaged file
        return None, [Problem(path.name, None, "", f"cannot be read as Parquet: {exc}")]
    casts = []
    for col, dtype in frame.schema.items():
        if isinstance(dtype, pl.List):
            casts.append(pl.col(col).list.eval(pl.element().cast(pl.String)).list.join(";"))
        elif not dtype.is_numeric() and dtype != pl.String:
            casts.append(pl.col(col).cast(pl.String))
    frame = frame.with_columns(casts)
    lines = pl.int_range(1, frame.height + 1, eager=True, dtype=pl.Int64)
    # built from the columns: with_columns would first copy the many chunks of a large file
    return RawTable(path.name, pl.DataFrame([*frame.get_columns(), lines.alias(LINE)])), []


def check_header(name: str, columns: list[str]) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for col in (c.strip() for c in columns):
        if col in seen:
            problems.append(Problem(name, 1, col, "column appears twice in the header"))
        seen.add(col)
    return problems
