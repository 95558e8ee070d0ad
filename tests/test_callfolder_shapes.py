"""Numbers, blanks and columns as spreadsheets write them: ambiguous or non-finite numbers are
refused with a message saying how to write them, unknown names suggest the known one, values
longer than the database keeps are refused before the import, harmless shapes are read, and a
repeated problem is reported once with a count."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from evalpanel.callfolder import CallFolderError, read_call
from evalpanel.callfolder.check import check_table
from evalpanel.callfolder.schema import TABLES, Column
from evalpanel.callfolder.tables import LINE, RawTable, _lines
from evalpanel.store import tables as store_tables
from tests.callfolder_factory import (
    AFFINITY,
    CALL_TOML,
    CONFLICTS,
    EXPERTS,
    PARTNERS,
    PROPOSALS,
    SCORES,
    replace_line,
    write_call,
)
from tests.cli_support import run
from tests.store_fixtures import *  # noqa: F403  (the db_url fixture)


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(CallFolderError) as info:
        read_call(folder)
    return [str(p) for p in info.value.problems]


def located(found: list[str], start: str, words: str) -> bool:
    return any(p.startswith(start) and words in p for p in found)


HOW = 'write plain digits with "." for decimals'


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1.500", "ambiguous"),  # EUR 1,500 in much of Europe, 1.5 elsewhere
        ("1.500.000", "grouped"),
        ("1,5", "comma"),
        ("1,500", "comma"),
        ("1 500", "grouped"),
        ("1\u00a0500", "grouped"),  # a no-break space, as spreadsheets export thousands
        ("1e6", "exponent"),
        ("inf", "not a finite number"),
        ("-Infinity", "not a finite number"),
        ("nan", "not a finite number"),
        ("1e400", "exponent"),
    ],
)
def test_an_amount_written_ambiguously_is_refused_with_how_to_write_it(
    tmp_path: Path, amount: str, words: str
) -> None:
    proposals = replace_line(PROPOSALS, 4, f'P02,L1,T,,en,0114,,,"{amount}"')
    found = problems_of(write_call(tmp_path, proposals_csv=proposals))
    assert located(found, "proposals.csv:4: requested_eur: ", words), found
    if words != "not a finite number":
        assert located(found, "proposals.csv:4: requested_eur: ", HOW), found


def test_plain_amounts_are_read_exactly(tmp_path: Path) -> None:
    proposals = replace_line(PROPOSALS, 4, "P02,L1,T,,en,0114,,,1500000.50")
    proposals = replace_line(proposals, 5, "P03,L2,T,,de,0713,Renewable energy,,0.5")
    call = read_call(write_call(tmp_path, proposals_csv=proposals))
    assert call.proposals["requested_eur"].to_list() == [1_000_000, 1_500_000.5, 0.5, 1_400_000]


@pytest.mark.parametrize(
    ("file", "text", "start"),
    [
        ("affinity_csv", replace_line(AFFINITY, 2, "P01,X01,nan"), "affinity.csv:2: affinity: "),
        ("affinity_csv", replace_line(AFFINITY, 2, "P01,X01,\"0,9\""), "affinity.csv:2: affinity: "),
        ("scores_csv", replace_line(SCORES, 2, "P01,X02,relevance,inf,"), "scores.csv:2: score: "),
        ("scores_csv", replace_line(SCORES, 2, "P01,X02,relevance,1e400,"), "scores.csv:2: score: "),
        ("experts_csv", EXPERTS.replace(",3,0\n", ",nan,0\n", 1), "experts.csv:2: max_load: "),
    ],
)  # fmt: skip
def test_every_score_and_number_is_finite(
    tmp_path: Path, file: str, text: str, start: str
) -> None:
    found = problems_of(write_call(tmp_path, **{file: text}))
    assert any(p.startswith(start) for p in found), found


@pytest.mark.parametrize(
    ("toml", "start", "words"),
    [
        (CALL_TOML.replace("budget_eur = 2000000", "budget_eur = nan"),
         "call.toml:10: lots.L1.budget_eur: ", "finite"),
        (CALL_TOML.replace("budget_eur = 3000000", "budget_eur = inf"),
         "call.toml:14: lots.L2.budget_eur: ", "finite"),
        (CALL_TOML + "\n[scheme]\ntotal_threshold = nan\n",
         "call.toml:18: scheme.total_threshold: ", "not a finite number"),
        (CALL_TOML + "\n[scheme.divergence]\ntotal_gap = inf\n",
         "call.toml:18: scheme.divergence.total_gap: ", "not a finite number"),
    ],
)  # fmt: skip
def test_call_toml_numbers_must_be_finite(
    tmp_path: Path, toml: str, start: str, words: str
) -> None:
    found = problems_of(write_call(tmp_path, call_toml=toml))
    assert located(found, start, words), found


def test_a_nan_threshold_is_refused_by_evalpanel_score(tmp_path: Path) -> None:
    folder = write_call(tmp_path, call_toml=CALL_TOML + "\n[scheme]\ntotal_threshold = nan\n")
    code, out = run("score", str(folder / "scores.csv"), "--call", str(folder))
    assert code == 2, out
    assert "total_threshold" in out and "finite" in out


@pytest.mark.parametrize(
    ("replace", "start", "hint"),
    [
        ({"proposals_csv": PROPOSALS.replace(",abstract,", ",abstrct,")},
         "proposals.csv:1: abstrct: unknown column", '"abstract"'),
        ({"experts_csv": EXPERTS.replace(",min_load\n", ",min_lod\n")},
         "experts.csv:1: min_lod: unknown column", '"min_load"'),
        ({"conflicts_csv": CONFLICTS.replace(",note\n", ",notes\n")},
         "conflicts.csv:1: notes: unknown column", '"note"'),
        ({"call_toml": CALL_TOML.replace("deadline =", "dedline =")},
         "call.toml:6: call.dedline: unknown key", '"deadline"'),
        ({"call_toml": CALL_TOML.replace('one_per = "ecosystem"', 'one_pre = "ecosystem"')},
         "call.toml:15: lots.L2.one_pre: unknown key", '"one_per"'),
        ({"call_toml": CALL_TOML + "\n[schemes]\ntotal_threshold = 60\n"},
         "call.toml:17: schemes: unknown table", '"scheme"'),
        ({"call_toml": CALL_TOML + "\n[scheme]\ntotal_treshold = 60\n"},
         "call.toml:18: scheme.total_treshold: unknown key", '"total_threshold"'),
    ],
)  # fmt: skip
def test_an_unknown_name_is_located_with_the_nearest_known_one(
    tmp_path: Path, replace: dict[str, str], start: str, hint: str
) -> None:
    found = problems_of(write_call(tmp_path, **replace))
    assert located(found, start, f"did you mean {hint}?"), found


def test_every_column_limit_is_the_databases() -> None:
    """The reader's length limits are the store's: each call-folder column that the store keeps
    in a String column has that column's length as its limit, and no other limit."""
    store_of = {"proposals": "proposals", "partners": "partners", "experts": "experts",
                "conflicts": "conflicts", "affinity": "affinities", "scores": "imported_scores"}  # fmt: skip
    renamed = {"lot": "lot_id"}
    checked = 0
    for table, columns in TABLES.items():
        stored = store_tables.metadata.tables[store_of[table]]
        for col in columns:
            db_col = stored.columns.get(renamed.get(col.name, col.name))
            assert db_col is not None, (table, col.name)
            db_length = db_col.type.length if isinstance(db_col.type, sa.String) else None
            if col.kind in ("isced", "ecosystem", "language", "country", "choice"):
                continue  # a vocabulary or choice: its values are short by construction
            assert col.max_length == db_length, (table, col.name, col.max_length, db_length)
            checked += 1
    assert checked > 20


LONG_ID = "P" * 300


def test_an_id_longer_than_the_database_keeps_is_located(tmp_path: Path) -> None:
    proposals = replace_line(PROPOSALS, 4, f"{LONG_ID},L1,T,,en,0114,,,1")
    partners = PARTNERS.replace("P02,", f"{LONG_ID},")
    experts = replace_line(EXPERTS, 3, EXPERTS.splitlines()[2].replace(",M,", "," + "M" * 65 + ","))
    found = problems_of(
        write_call(tmp_path, proposals_csv=proposals, partners_csv=partners, experts_csv=experts)
    )
    assert located(found, "proposals.csv:4: proposal_id: ", "300 characters long; at most 255")
    assert located(found, "partners.csv:4: proposal_id: ", "at most 255")
    assert located(found, "experts.csv:3: gender: ", "65 characters long; at most 64")
    toml = CALL_TOML.replace('id = "TEST-CALL"', f'id = "{"C" * 256}"')
    found = problems_of(write_call(tmp_path / "toml", call_toml=toml))
    assert located(found, "call.toml:2: call.id: ", "256 characters long; at most 255")


def test_import_refuses_a_long_id_before_the_database_and_takes_the_longest_allowed(
    tmp_path: Path, db_url: str
) -> None:
    too_long = write_call(
        tmp_path / "long",
        proposals_csv=replace_line(PROPOSALS, 4, f"{LONG_ID},L1,T,,en,0114,,,1"),
        partners_csv=PARTNERS.replace("P02,", f"{LONG_ID},"),
    )
    code, out = run("import", str(too_long), "--db", db_url)
    assert code == 2, out
    assert "proposal_id: is 300 characters long" in out
    assert "Traceback" not in out and "psycopg" not in out and "sqlalchemy" not in out.lower()
    longest = "P" * 255
    fits = write_call(
        tmp_path / "fits",
        proposals_csv=replace_line(PROPOSALS, 4, f"{longest},L1,T,,en,0114,,,1"),
        partners_csv=PARTNERS.replace("P02,", f"{longest},"),
        experts_csv=EXPERTS.replace(",M,", "," + "M" * 64 + ","),
    )
    code, out = run("import", str(fits), "--db", db_url)
    assert code == 0, out
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        ids = conn.execute(sa.select(store_tables.proposals.c.proposal_id)).scalars().all()
    engine.dispose()
    assert longest in ids and len(ids) == 4


def test_blank_lines_and_rows_of_bare_commas_are_skipped(tmp_path: Path) -> None:
    reference = read_call(write_call(tmp_path / "plain"))
    lines = PROPOSALS.splitlines()
    proposals = "\n".join([*lines[:3], "", *lines[3:]]) + "\n\n\n"  # a blank line inside, 3 after
    experts = EXPERTS + ",,,,,,,,,,,,,,\n" * 3  # what a spreadsheet leaves below its data
    partners = (PARTNERS + ",,,,\n").replace("\n", "\r\n")
    call = read_call(
        write_call(
            tmp_path / "shapes", proposals_csv=proposals, experts_csv=experts, partners_csv=partners
        )
    )
    assert call.proposals.equals(reference.proposals)
    assert call.experts.equals(reference.experts)
    assert call.partners.equals(reference.partners)


def test_a_byte_order_mark_and_windows_line_breaks_read_as_plain_files(tmp_path: Path) -> None:
    reference = read_call(write_call(tmp_path / "plain"))
    folder = write_call(tmp_path / "exported")
    for name in ("proposals.csv", "experts.csv", "partners.csv"):
        path = folder / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    call = read_call(folder)
    # a break inside a quoted cell is the cell's text, kept as the file writes it
    kept = reference.proposals.with_columns(pl.col("abstract").str.replace_all("\n", "\r\n"))
    assert call.proposals.equals(kept)
    assert call.experts.equals(reference.experts)
    assert call.partners.equals(reference.partners)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", ",", '"', "\r", "\n", "\r\n", "é", " "])).map("".join))
def test_a_csv_text_is_cut_into_the_lines_a_string_stream_gives(text: str) -> None:
    # the header is read from these lines, without copying the whole text into a stream
    assert list(_lines(text)) == list(io.StringIO(text, newline=""))


def test_a_blank_line_does_not_shift_the_lines_of_problems(tmp_path: Path) -> None:
    lines = PROPOSALS.splitlines()
    lines[4] = "P03,L2,T,,de,0713,Renewable energy,,lots"  # file line 5, then 6 after the blank
    proposals = "\n".join([*lines[:3], "", *lines[3:]]) + "\n\n"
    found = problems_of(write_call(tmp_path, proposals_csv=proposals))
    assert located(found, "proposals.csv:6: requested_eur: ", '"lots" is not a number'), found


def test_xlsx_real_date_cells_and_trailing_empty_rows_are_read(tmp_path: Path) -> None:
    import xlsxwriter

    folder = write_call(tmp_path, conflicts_csv=None)
    book = xlsxwriter.Workbook(str(folder / "conflicts.xlsx"))
    sheet = book.add_worksheet()
    date = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, ["expert_id", "proposal_id", "org_id", "kind", "since", "note"])
    sheet.write_row(1, 0, ["X02", "P03", None, "declared"])
    sheet.write_row(2, 0, ["X04", None, "900000003", "employment"])
    sheet.write_datetime(2, 4, dt.datetime(2025, 6, 30), date)
    sheet.write_string(2, 5, "left in 2025")
    for row in (3, 4):  # formatted but empty rows below the data
        sheet.write_blank(row, 4, None, date)
    book.close()
    call = read_call(folder)
    assert call.conflicts["since"].to_list() == [None, dt.date(2025, 6, 30)]
    assert call.conflicts.height == 2


def test_a_repeated_problem_is_reported_once_with_a_count_after_a_summary(
    tmp_path: Path,
) -> None:
    n = 14_032
    orphans = "".join(f"Q{i:05},9{i:08},Org {i},BE,coordinator\n" for i in range(n))
    experts = EXPERTS.replace(",3,0\n", ",many,0\n", 1)
    folder = write_call(tmp_path, partners_csv=PARTNERS + orphans, experts_csv=experts)
    code, out = run("validate", str(folder))
    assert code == 2
    lines = out.splitlines()
    assert len(lines) < 15, out
    assert lines[0] == f"{n + 1:,} problems in 2 files:"
    assert lines[1] == f"  {folder / 'experts.csv'}: 1 problem (max_load: 1)"
    assert lines[2] == f"  {folder / 'partners.csv'}: {n:,} problems (proposal_id: {n:,})"
    shown = [line for line in lines if re.match(rf"{re.escape(str(folder))}/partners.csv:\d+: ", line)]
    assert len(shown) == 3 and '"Q00000" is not in proposals' in shown[0]
    assert any(f"and {n - 3:,} more rows of partners.csv with the same problem" in line
               for line in lines)  # fmt: skip
    assert any(line.startswith(f"{folder / 'experts.csv'}:2: max_load: ") for line in lines)
    assert lines[-1] == f"{folder}: {n + 1:,} problems found; nothing was used"


def test_a_nul_character_in_a_parquet_cell_is_located(tmp_path: Path) -> None:
    folder = write_call(tmp_path, experts_csv=None)
    experts = pl.read_csv(EXPERTS.encode(), infer_schema=False)
    experts.with_columns(
        pl.when(pl.col("expert_id") == "X03").then(pl.lit("Prague\x00Institute"))
        .otherwise(pl.col("org_name")).alias("org_name")
    ).write_parquet(folder / "experts.parquet")
    found = problems_of(folder)
    assert located(found, "experts.parquet:3: org_name: ", "NUL character"), found


def test_numeric_xlsx_cells_are_read_as_amounts(tmp_path: Path) -> None:
    folder = write_call(tmp_path, proposals_csv=None)
    proposals = pl.read_csv(PROPOSALS.encode(), infer_schema=False).with_columns(
        pl.Series("requested_eur", [1_000_000.0, 1_500_000.5, 0.5, 123_456_789_012.25])
    )
    proposals.write_excel(folder / "proposals.xlsx")
    call = read_call(folder)
    assert call.proposals["requested_eur"].to_list() == [
        1_000_000.0, 1_500_000.5, 0.5, 123_456_789_012.25
    ]


@settings(max_examples=40, deadline=None)
@given(
    cents=st.integers(min_value=0, max_value=10**13),
    grouped=st.integers(min_value=1_000, max_value=10**12),
    separator=st.sampled_from([",", ".", " ", "\u00a0", "_", "'"]),
)
def test_any_plain_amount_is_read_and_any_grouped_one_refused(
    cents: int, grouped: int, separator: str
) -> None:
    plain = f"{cents // 100}.{cents % 100:02}"
    written = f"{grouped:,}".replace(",", separator)
    raw = RawTable(
        "proposals.csv", pl.DataFrame({"requested_eur": [plain, written], LINE: [2, 3]})
    )
    typed, problems = check_table(raw, (Column("requested_eur", "float", money=True),))
    assert typed["requested_eur"][0] == float(plain)
    assert [(p.line, p.column) for p in problems] == [(3, "requested_eur")]
    assert HOW in problems[0].message


def test_the_summary_counts_every_bad_cell_even_past_the_messages_built(tmp_path: Path) -> None:
    n = 1_000  # more bad cells in one column than messages are built for
    rows = "".join(f"P{i:04},L1,T,,en,0114,,,1.500\n" for i in range(n))
    partners = PARTNERS + "".join(f"P{i:04},,Org,BE,coordinator\n" for i in range(n))
    folder = write_call(tmp_path, proposals_csv=PROPOSALS + rows, partners_csv=partners)
    code, out = run("validate", str(folder))
    assert code == 2
    lines = out.splitlines()
    assert lines[0] == f"{n:,} problems in 1 file:", out
    assert lines[-1] == f"{folder}: {n:,} problems found; nothing was used"
    assert len(lines) < 12, out


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_csv_separated_otherwise_says_how_to_save_it(tmp_path: Path, separator: str) -> None:
    experts = EXPERTS.replace(",", separator)
    found = problems_of(write_call(tmp_path, experts_csv=experts))
    assert located(found, "experts.csv:1: the columns are separated by", "save the file as CSV")


@pytest.mark.parametrize("amount", ["€1500", "1500 EUR", "1500€", "15%"])
def test_an_amount_with_a_unit_says_how_to_write_it(tmp_path: Path, amount: str) -> None:
    proposals = replace_line(PROPOSALS, 4, f"P02,L1,T,,en,0114,,,{amount}")
    found = problems_of(write_call(tmp_path, proposals_csv=proposals))
    assert located(found, "proposals.csv:4: requested_eur: ", "unit or currency sign"), found
