"""``evalpanel conflicts``, ``batch run|show|publish`` and ``task add|remove`` through the real
CLI on a real database (SQLite; the batch cycle on PostgreSQL too when
``EVALPANEL_TEST_PG_URL`` is set), each effect checked through the store."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

import assignment
from evalpanel.callfolder import read_call
from evalpanel.callfolder.formulas import FORMULA_STARTS
from evalpanel.cli import cli
from evalpanel.store import (
    SYSTEM,
    Actor,
    accept_task,
    audit_frame,
    batch_changes,
    create_user,
    declare_conflict,
    link_expert,
    list_tasks,
    make_engine,
    save_draft,
    submit_evaluation,
)
from tests.callfolder_factory import write_call
from tests.store_fixtures import backend_url, scores

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "fixtures" / "tiny"
CALL = "ERASMUS-EDU-2026-PI-ALL-INNO-TINY"
PAIR = ["proposal_id", "expert_id"]


def evalpanel(*args: str) -> Result:
    """``evalpanel ARGS``: never an uncaught exception, never a traceback."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def imported(url: str) -> sa.Engine:
    result = evalpanel("import", str(TINY), "--db", url)
    assert result.exit_code == 0, result.output
    return make_engine(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return backend_url("sqlite", tmp_path)


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_conflicts_of_a_folder_are_the_conflict_rule_s_exclusions(tmp_path: Path) -> None:
    result = evalpanel("conflicts", str(TINY))
    assert result.exit_code == 0, result.output
    rows = _csv(result.stdout)
    call = read_call(TINY)
    expected = assignment.find_conflicts(call.proposals, call.partners, call.experts,
                                         call.conflicts, today=dt.date.today())
    assert [(r["proposal_id"], r["expert_id"], r["reason"], r["detail"]) for r in rows] == (
        expected.select(*PAIR, "reason", "detail").rows())
    assert {r["potential"] for r in rows} == {"false"}  # no potential matches in tiny
    assert f"{expected.select(PAIR).unique().height} excluded pairs" in result.stderr

    out = tmp_path / "conflicts.xlsx"
    assert evalpanel("conflicts", str(TINY), "-o", str(out)).exit_code == 0
    back = pl.read_excel(out)
    assert back.select(*PAIR, "reason", "detail").rows() == expected.select(
        *PAIR, "reason", "detail").rows()
    assert back["potential"].to_list() == [False] * expected.height


def test_conflict_rows_from_outside_are_neutralised(tmp_path: Path) -> None:
    from tests import callfolder_factory as f

    hostile = {name.replace(".", "_"): text.replace("X02", "@X02")
               for name, text in f.FILES.items() if name.endswith(".csv")}
    folder = write_call(tmp_path / "call", **hostile)
    result = evalpanel("conflicts", str(folder))
    assert result.exit_code == 0, result.output
    cells = list(csv.reader(io.StringIO(result.stdout, newline="")))
    assert not [c for row in cells for c in row if c.startswith(FORMULA_STARTS)]
    assert ["P03", "'@X02", "declared"] in [row[:3] for row in cells]
    # an invalid folder: every problem located, exit 2
    broken = write_call(tmp_path / "broken", experts_csv=None)
    result = evalpanel("conflicts", str(broken))
    assert result.exit_code == 2 and "experts.csv" in result.output


def test_conflicts_of_a_stored_call_count_later_declarations_and_are_audited(
    sqlite_url: str,
) -> None:
    engine = imported(sqlite_url)
    before = _csv(evalpanel("conflicts", CALL, "--db", sqlite_url).stdout)
    assert ("AFI-2026-0001", "X001") not in {(r["proposal_id"], r["expert_id"]) for r in before}
    declare_conflict(engine, SYSTEM, CALL, "X001", kind="family", note="sister",
                     proposal_id="AFI-2026-0001")
    result = evalpanel("conflicts", CALL, "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    after = _csv(result.stdout)
    assert len(after) == len(before) + 1
    assert {"proposal_id": "AFI-2026-0001", "expert_id": "X001", "reason": "family",
            "potential": "false"}.items() <= next(
        r for r in after if r["expert_id"] == "X001" and r["proposal_id"] == "AFI-2026-0001"
    ).items()
    log = audit_frame(engine, SYSTEM, CALL).filter(pl.col("action") == "export")
    assert log["entity_id"].to_list() == ["conflict_report", "conflict_report"]
    assert set(log["role"].to_list()) == {"system"}
    unknown = evalpanel("conflicts", "NO-SUCH-CALL", "--db", sqlite_url)
    assert unknown.exit_code == 2 and "no call 'NO-SUCH-CALL'" in unknown.output


def test_a_batch_is_run_shown_and_published_as_the_operator(db_url: str) -> None:
    engine = imported(db_url)
    run = evalpanel("batch", "run", CALL, "--db", db_url, "--json", "--seed", "3")
    assert run.exit_code == 0, run.output
    made = json.loads(run.stdout)
    batch_id = made["batch_id"]
    changes = batch_changes(engine, SYSTEM, batch_id)
    assert made["status"] == "complete" and made["batch_status"] == "preview"
    assert made["changes"] == {"added": changes.height, "kept": 0, "removed": 0}
    assert made["slots_filled"] == made["slots_demanded"] == changes.height

    shown = evalpanel("batch", "show", str(batch_id), "--db", db_url, "--json")
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.stdout)
    assert record["status"] == "preview" and record["seed"] == 3
    assert record["change_set"] == changes.to_dicts()
    assert record["diagnostics"]["status"] == "complete"
    text = evalpanel("batch", "show", str(batch_id), "--db", db_url)
    assert f"batch {batch_id} of {CALL}: preview" in text.stdout
    assert text.stdout.count("  added ") == changes.height

    published = evalpanel("batch", "publish", str(batch_id), "--db", db_url)
    assert published.exit_code == 0, published.output
    assert f"{changes.height} added" in published.stdout
    tasks = list_tasks(engine, SYSTEM, CALL)
    assert tasks.select(PAIR).sort(PAIR).equals(changes.select(PAIR).sort(PAIR))
    again = evalpanel("batch", "publish", str(batch_id), "--db", db_url)
    assert again.exit_code == 2
    assert "is published; only a preview is published" in again.output
    log = audit_frame(engine, SYSTEM, CALL).filter(pl.col("entity") == "batch")
    assert log.select("action", "role").rows() == [("create", "system"), ("publish", "system")]
    engine.dispose()


def test_a_stale_batch_is_refused_and_changes_nothing(sqlite_url: str) -> None:
    engine = imported(sqlite_url)
    first = json.loads(evalpanel("batch", "run", CALL, "--db", sqlite_url, "--json").stdout)
    second = json.loads(evalpanel("batch", "run", CALL, "--db", sqlite_url, "--json",
                                  "--mode", "fair").stdout)
    assert evalpanel("batch", "publish", str(first["batch_id"]), "--db", sqlite_url
                     ).exit_code == 0
    before = list_tasks(engine, SYSTEM, CALL)
    stale = evalpanel("batch", "publish", str(second["batch_id"]), "--db", sqlite_url)
    assert stale.exit_code == 2
    assert "changed after batch" in stale.output and "create a new batch" in stale.output
    assert list_tasks(engine, SYSTEM, CALL).equals(before)
    # a new batch from the current assignment keeps every published pair
    third = json.loads(evalpanel("batch", "run", CALL, "--db", sqlite_url, "--json").stdout)
    assert third["changes"]["kept"] == before.height and third["changes"]["added"] == 0


def test_a_batch_that_cannot_cover_every_proposal_exits_3(sqlite_url: str) -> None:
    imported(sqlite_url)
    result = evalpanel("batch", "run", CALL, "-k", "8", "--db", sqlite_url, "--json")
    assert result.exit_code == 3, result.output
    made = json.loads(result.stdout)
    assert made["status"] == "partial" and made["shortfalls"]
    assert made["changes"]["added"] == made["slots_filled"] < made["slots_demanded"]
    text = evalpanel("batch", "show", str(made["batch_id"]), "--db", sqlite_url)
    assert "shortfall:" in text.stdout
    assert evalpanel("batch", "show", "999", "--db", sqlite_url).exit_code == 2
    assert evalpanel("batch", "run", "NO-SUCH-CALL", "--db", sqlite_url).exit_code == 2


def test_task_add_and_remove_are_checked_like_a_batch(sqlite_url: str) -> None:
    engine = imported(sqlite_url)
    # a declared conflict (conflicts.csv of tiny) is refused, and nothing is written
    conflicted = evalpanel("task", "add", CALL, "AFI-2026-0009", "X002", "--db", sqlite_url)
    assert conflicted.exit_code == 2
    assert "adding X002 to AFI-2026-0009" in conflicted.output
    assert "excluded by a conflict of interest" in conflicted.output
    assert list_tasks(engine, SYSTEM, CALL).is_empty()

    added = evalpanel("task", "add", CALL, "AFI-2026-0001", "X003", "--db", sqlite_url)
    assert added.exit_code == 0, added.output
    task_id = int(added.stdout.strip())
    tasks = list_tasks(engine, SYSTEM, CALL)
    assert tasks.select("task_id", *PAIR, "state", "origin").rows() == [
        (task_id, "AFI-2026-0001", "X003", "assigned", "manual")]
    twice = evalpanel("task", "add", CALL, "AFI-2026-0001", "X003", "--db", sqlite_url)
    assert twice.exit_code == 2 and "already has task" in twice.output

    # an expert at their maximum load (X002: 4) is refused
    max_load = read_call(TINY).experts.filter(pl.col("expert_id") == "X002")["max_load"].item()
    free = [p for p in read_call(TINY).proposals["proposal_id"].to_list()
            if p not in ("AFI-2026-0009",)]
    excluded = {(r["proposal_id"], r["expert_id"])
                for r in _csv(evalpanel("conflicts", str(TINY)).stdout)}
    free = [p for p in free if (p, "X002") not in excluded]
    for proposal_id in free[:max_load]:
        assert evalpanel("task", "add", CALL, proposal_id, "X002", "--db", sqlite_url
                         ).exit_code == 0
    full = evalpanel("task", "add", CALL, free[max_load], "X002", "--db", sqlite_url)
    assert full.exit_code == 2 and f"(max_load {max_load})" in full.output
    assert list_tasks(engine, SYSTEM, CALL).filter(pl.col("expert_id") == "X002"
                                                    ).height == max_load

    removed = evalpanel("task", "remove", CALL, "AFI-2026-0001", "X003", "--db", sqlite_url)
    assert removed.exit_code == 0, removed.output
    state = list_tasks(engine, SYSTEM, CALL).filter(pl.col("task_id") == task_id)["state"]
    assert state.to_list() == ["withdrawn"]
    gone = evalpanel("task", "remove", CALL, "AFI-2026-0001", "X003", "--db", sqlite_url)
    assert gone.exit_code == 2 and "no active task" in gone.output
    log = audit_frame(engine, SYSTEM, CALL).filter(pl.col("entity") == "task")
    assert log.filter(pl.col("entity_id") == str(task_id))["action"].to_list() == [
        "create", "withdrawn"]

    # a submitted evaluation is frozen: its task cannot be withdrawn
    uid = create_user(engine, SYSTEM, "x003", "expert")
    link_expert(engine, SYSTEM, uid, CALL, "X003")
    expert = Actor(uid, "expert")
    readded = int(evalpanel("task", "add", CALL, "AFI-2026-0001", "X003", "--db", sqlite_url
                            ).stdout.strip())
    accept_task(engine, expert, readded)
    marks = {"relevance": 20, "quality": 25, "partnership": 20, "impact": 15}
    save_draft(engine, expert, readded, scores(marks), expected_version=0)
    submit_evaluation(engine, expert, readded, expected_version=1)
    frozen = evalpanel("task", "remove", CALL, "AFI-2026-0001", "X003", "--db", sqlite_url)
    assert frozen.exit_code == 2 and "is submitted" in frozen.output


def test_no_command_shows_a_database_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://panel:s3cret-pw@127.0.0.1:1/nowhere"
    for args in (["batch", "run", CALL], ["batch", "show", "1"], ["batch", "publish", "1"],
                 ["task", "add", CALL, "P", "E"], ["task", "remove", CALL, "P", "E"],
                 ["export", CALL, "proposals"], ["conflicts", CALL]):
        result = evalpanel(*args, "--db", url)
        assert result.exit_code == 2, (args, result.output)
        assert "s3cret-pw" not in result.output and "panel:***@" in result.output, args


def test_commands_are_listed_and_load_lazily() -> None:
    result = evalpanel("--help")
    for name in ("batch", "conflicts", "export", "task"):
        assert f"  {name}" in result.stdout


def test_a_batch_with_a_pair_conflicted_since_the_preview_is_refused(sqlite_url: str) -> None:
    engine = imported(sqlite_url)
    made = json.loads(evalpanel("batch", "run", CALL, "--db", sqlite_url, "--json").stdout)
    proposal_id, expert_id = batch_changes(engine, SYSTEM, made["batch_id"]).row(0)[:2]
    declare_conflict(engine, SYSTEM, CALL, expert_id, kind="family", note="declared late",
                     proposal_id=proposal_id)
    refused = evalpanel("batch", "publish", str(made["batch_id"]), "--db", sqlite_url)
    assert refused.exit_code == 2, refused.output
    assert list_tasks(engine, SYSTEM, CALL).is_empty()
