"""Exports stay inert and round-trip: generated hostile text written as CSV and XLSX reads back
through the call-folder reader exactly as it was, no cell is a formula (openpyxl), and a CSV
cell never starts with a formula character; the reader drops the neutralising quote and only
that quote."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl.utils.escape import unescape

from evalpanel.callfolder.check import check_table
from evalpanel.callfolder.formulas import (
    FORMULA_STARTS,
    drop_formula_quote,
    quote_formulas,
)
from evalpanel.callfolder.schema import TABLES
from evalpanel.callfolder.tables import read_table
from evalpanel.store.exports import csv_bytes, write_frame

PREFIXES = ["", "=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠", "'", "'=", "''+", "'\t",
            "=HYPERLINK(", "@SUM(", "-2+"]
ALPHABET = list("=+-@'\";,| _x0aZé中\u202e\t\r\n！＝＋－＠()!/\\")
# xlsx text escapes control characters as _xHHHH_, and readers disagree on a literal _xHHHH_
# in the text (openpyxl decodes _x005F_, fastexcel does not): such text is left out here
ESCAPE_LIKE = re.compile(r"_x[0-9A-Fa-f]{4}_")


def _hostile(text: str) -> bool:
    return not ESCAPE_LIKE.search(text)


hostile = st.builds(
    lambda p, s: p + s, st.sampled_from(PREFIXES), st.text(alphabet=ALPHABET, max_size=14)
).filter(_hostile)
# what the call-folder reader keeps as it is: no surrounding blanks (it strips cells)
cell = hostile.filter(lambda s: s == s.strip())
non_empty = cell.filter(bool)
keyword = non_empty.filter(lambda s: ";" not in s)


def test_quote_is_added_exactly_where_a_spreadsheet_would_see_a_formula() -> None:
    cells = ["=1", "+1", "-1", "@a", "\tx", "\rx", "＝1", "＋1", "－1", "＠a", "'=1", "''@",
             "a=1", "'a", "'", "", " =1", "1-2"]
    out = quote_formulas(pl.DataFrame({"t": cells})).get_column("t").to_list()
    assert out == ["'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "'＝1", "'＋1", "'－1", "'＠a",
                   "''=1", "'''@", "a=1", "'a", "'", "", " =1", "1-2"]
    assert drop_formula_quote(pl.DataFrame({"t": out})).get_column("t").to_list() == cells


@settings(deadline=None)
@given(st.lists(hostile, max_size=20))
def test_quoting_is_undone_exactly(texts: list[str]) -> None:
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    quoted = quote_formulas(frame)
    assert not any(t.startswith(FORMULA_STARTS) for t in quoted["t"].to_list())
    assert drop_formula_quote(quoted).equals(frame)


def test_lists_are_joined_before_quoting() -> None:
    frame = pl.DataFrame({"keywords": [["=cmd", "b"], ["a", "=b"], []], "n": [-1, 2, 3]})
    rows = list(csv.reader(io.StringIO(csv_bytes(frame).decode())))
    assert rows == [["keywords", "n"], ["'=cmd;b", "-1"], ["a;=b", "2"], ["", "3"]]


def _proposals(titles: list[str], abstracts: list[str], keywords: list[list[str]],
               ids: list[str]) -> pl.DataFrame:
    n = len(titles)
    return pl.DataFrame({
        "proposal_id": ids,
        "lot": ["=L1"] * n,
        "title": titles,
        "abstract": abstracts,
        "language": ["en"] * n,
        "fields": [["0714"]] * n,
        "ecosystems": [["Digital"]] * n,
        "keywords": keywords,
        "requested_eur": [400_000.5 + i for i in range(n)],
    })


def _read_back(path: Path) -> pl.DataFrame:
    raw, problems = read_table(path)
    assert raw is not None and not problems, problems
    typed, problems = check_table(raw, TABLES["proposals"])
    assert not problems, problems
    return typed.drop("__line__")


def _openpyxl_cells(path: Path) -> list[list[object]]:
    """Every cell value, after checking that none is a formula (openpyxl's data type "f")."""
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    rows = []
    for row in sheet.iter_rows():
        assert all(c.data_type != "f" for c in row), [c.value for c in row]
        rows.append([unescape(c.value) if isinstance(c.value, str) else c.value for c in row])
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(non_empty, cell, st.lists(keyword, max_size=3, unique=True)),
                min_size=1, max_size=6))
def test_hostile_call_tables_read_back_as_stored(rows: list[tuple[str, str, list[str]]]) -> None:
    titles = [r[0] for r in rows]
    ids = [f"{r[0]}#{i}" for i, r in enumerate(rows)]
    assume(all(i == i.strip() for i in ids))
    stored = _proposals(titles, [r[1] for r in rows], [r[2] for r in rows], ids)
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in (".csv", ".xlsx"):
            path = write_frame(stored, Path(tmp) / f"proposals{suffix}")
            assert _read_back(path).equals(stored), suffix
            if suffix == ".csv":
                cells = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))
                assert not any(c.startswith(FORMULA_STARTS) for r in cells for c in r)
            else:
                cells_x = _openpyxl_cells(path)
                assert [c[2] for c in cells_x[1:]] == titles  # as typed, no apostrophe added


def test_a_literal_quote_typed_in_a_csv_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n'quoted',''=x\n'=x,'\n", encoding="utf-8")
    raw, problems = read_table(path)
    assert raw is not None and not problems
    assert raw.frame.select("a", "b").rows() == [("'quoted'", "'=x"), ("=x", "'")]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_xlsx_text_is_never_a_formula_and_never_prefixed(tmp_path: Path, suffix: str) -> None:
    evil = ['=HYPERLINK("http://x","y")', "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "＝1+2"]
    frame = pl.DataFrame({"comment": evil, "score": [float(i) for i in range(len(evil))]})
    path = write_frame(frame, tmp_path / f"out{suffix}")
    if suffix == ".xlsx":
        cells = _openpyxl_cells(path)
        assert [r[0] for r in cells[1:]] == evil
        assert [r[1] for r in cells[1:]] == list(range(len(evil)))
    else:
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))
        assert [r[0] for r in rows[1:]] == ["'" + e for e in evil]
