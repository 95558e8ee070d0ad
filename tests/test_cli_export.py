"""``evalpanel export CALL_ID TABLE``: every table, CSV and XLSX, inert (no formula cell, no CSV
cell starting like a formula) and equal to what the store holds; the call tables in the
call-folder format, read back by the call-folder reader as stored."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from evalpanel.callfolder import read_call
from evalpanel.cli import cli
from evalpanel.store import (
    SYSTEM,
    Actor,
    accept_task,
    audit_frame,
    create_user,
    link_expert,
    list_tasks,
    make_engine,
    save_draft,
    submit_evaluation,
)
from evalpanel.store.exports import CALL_TABLES, table_frame
from evalpanel.workflow import rank_call
from tests.export_support import assert_inert_and_equal
from tests.store_fixtures import backend_url, scores

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "fixtures" / "tiny"
CALL = "ERASMUS-EDU-2026-PI-ALL-INNO-TINY"
TABLES = ("proposals", "partners", "experts", "conflicts", "assignment", "queues", "scores",
          "consolidated", "ranking", "audit")
HOSTILE = '=HYPERLINK("http://x","y")'


def evalpanel(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def scored(tmp_path: Path) -> tuple[str, sa.Engine]:
    """tiny imported, a batch published, two experts' evaluations of one proposal submitted
    with hostile comments."""
    url = backend_url("sqlite", tmp_path)
    assert evalpanel("import", str(TINY), "--db", url).exit_code == 0
    assert evalpanel("batch", "run", CALL, "--db", url).exit_code == 0
    assert evalpanel("batch", "publish", "1", "--db", url).exit_code == 0
    engine = make_engine(url)
    tasks = list_tasks(engine, SYSTEM, CALL)
    first = tasks.filter(pl.col("proposal_id") == tasks["proposal_id"][0])
    for i, (task_id, expert_id) in enumerate(first.select("task_id", "expert_id").rows()):
        uid = create_user(engine, SYSTEM, f"u{expert_id}", "expert")
        link_expert(engine, SYSTEM, uid, CALL, expert_id)
        expert = Actor(uid, "expert")
        accept_task(engine, expert, task_id)
        marks = {"relevance": 20 + i, "quality": 25, "partnership": 20, "impact": 15}
        comment = HOSTILE if i == 0 else "＠SUM(A1) and -1"
        save_draft(engine, expert, task_id, scores(marks, comment), expected_version=0)
        submit_evaluation(engine, expert, task_id, expected_version=1)
    return url, engine


def _stored(engine: sa.Engine, table: str) -> pl.DataFrame:
    if table == "ranking":
        return rank_call(engine, SYSTEM, CALL).proposals
    return table_frame(engine, SYSTEM, CALL, table)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_every_table_is_inert_and_equal_to_the_store(
    scored: tuple[str, sa.Engine], tmp_path: Path, suffix: str
) -> None:
    url, engine = scored
    for table in TABLES:
        before = _stored(engine, table)
        path = tmp_path / f"{table}{suffix}"
        result = evalpanel("export", CALL, table, "-o", str(path), "--db", url)
        assert result.exit_code == 0, result.output
        assert f"{before.height} rows of {table}" in result.stderr
        assert_inert_and_equal(path, before)
    assert _stored(engine, "scores")["comment"].to_list().count(HOSTILE) == 4
    log = audit_frame(engine, SYSTEM, CALL).filter(pl.col("action") == "export")
    assert log["entity_id"].to_list() == list(TABLES)
    assert set(log["after"].str.json_decode().struct.field("format").to_list()) == {suffix[1:]}


def test_standard_output_is_the_csv_export(scored: tuple[str, sa.Engine], tmp_path: Path) -> None:
    url, _ = scored
    for table in ("scores", "proposals"):
        shown = evalpanel("export", CALL, table, "--db", url)
        assert shown.exit_code == 0, shown.output
        path = tmp_path / f"{table}.csv"
        assert evalpanel("export", CALL, table, "-o", str(path), "--db", url).exit_code == 0
        assert shown.stdout.encode("utf-8") == path.read_bytes()
    assert "'=HYPERLINK" in evalpanel("export", CALL, "scores", "--db", url).stdout


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_call_tables_and_scores_read_back_through_the_call_folder_reader(
    scored: tuple[str, sa.Engine], tmp_path: Path, suffix: str
) -> None:
    url, engine = scored
    folder = tmp_path / "again"
    folder.mkdir()
    shutil.copy(TINY / "call.toml", folder / "call.toml")
    for table in (*CALL_TABLES, "scores"):
        out = folder / f"{table}{suffix}"
        assert evalpanel("export", CALL, table, "-o", str(out), "--db", url).exit_code == 0
    again = read_call(folder)
    original = read_call(TINY)
    for table in CALL_TABLES:
        assert getattr(again, table).equals(getattr(original, table)), table
    assert again.scores is not None
    assert again.scores.equals(_stored(engine, "scores"))


def test_bad_tables_files_and_calls_exit_2(scored: tuple[str, sa.Engine], tmp_path: Path) -> None:
    url, _ = scored
    assert evalpanel("export", CALL, "secrets", "--db", url).exit_code == 2
    wrong = evalpanel("export", CALL, "scores", "-o", str(tmp_path / "x.ods"), "--db", url)
    assert wrong.exit_code == 2 and ".csv or .xlsx" in wrong.output
    unknown = evalpanel("export", "NO-SUCH-CALL", "audit", "--db", url)
    assert unknown.exit_code == 2 and "NO-SUCH-CALL" in unknown.output


def test_assign_and_score_outputs_are_neutralised_too(tmp_path: Path) -> None:
    import csv
    import io

    import openpyxl

    from evalpanel.callfolder.formulas import FORMULA_STARTS
    from tests import callfolder_factory as f

    hostile = {name.replace(".", "_"): text.replace("P01", "=P01")
               for name, text in f.FILES.items() if name.endswith(".csv")}
    folder = f.write_call(tmp_path / "call", **hostile)
    for args in (["assign", str(folder)], ["score", str(folder / "scores.csv")]):
        shown = evalpanel(*args)
        assert shown.exit_code in (0, 3), shown.output  # 3: this small call is not covered
        cells = [c for row in csv.reader(io.StringIO(shown.stdout, newline="")) for c in row]
        assert "'=P01" in cells and not [c for c in cells if c.startswith(FORMULA_STARTS)]
        out = tmp_path / f"{args[0]}.xlsx"
        assert evalpanel(*args, "-o", str(out)).exit_code == shown.exit_code
        sheet = openpyxl.load_workbook(out).active
        assert sheet is not None
        values = [c for row in sheet.iter_rows() for c in row]
        assert not [c for c in values if c.data_type == "f"]
        assert "=P01" in [c.value for c in values]
