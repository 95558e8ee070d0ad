from __future__ import annotations

import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalpanel.store import (
    InvalidInput,
    accept_task,
    audit_frame,
    consolidated_frame,
    internal_comments,
    list_tasks,
    save_draft,
    scores_frame,
    start_consolidation,
    submit_evaluation,
)
from evalpanel.store.consolidation import approve_consensus, save_consensus, submit_consensus
from evalpanel.store.explanations import published_with_explanations
from evalpanel.store.exports import (
    CALL_TABLES,
    DANGEROUS,
    call_table,
    export_assignment,
    export_audit,
    export_call_table,
    export_consolidated,
    export_internal_comments,
    export_queues,
    export_ranking,
    export_scores,
    neutralise,
    write_frame,
)
from evalpanel.store.names import call_names, named_audit_frame, with_names
from tests.export_support import assert_inert_and_equal
from tests.store_fixtures import World, complete, publish, scores, task_of

EVIL = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", '=HYPERLINK("http://x")']


@settings(deadline=None)  # polars' first regex compilation can be slow on a loaded machine
@given(st.lists(st.text(max_size=12), max_size=20))
def test_neutralise_prefixes_exactly_the_dangerous_cells(texts: list[str]) -> None:
    out = neutralise(pl.DataFrame({"t": texts}, schema={"t": pl.String})).get_column("t")
    for before, after in zip(texts, out.to_list(), strict=True):
        # quotes followed by a formula start get one more quote, so the reader can undo it
        if before.lstrip("'").startswith(DANGEROUS):
            assert after == "'" + before
        else:
            assert after == before
        assert not after.startswith(DANGEROUS)


def test_numbers_and_nulls_are_left_alone() -> None:
    frame = pl.DataFrame({"n": [-1.5, 2.0], "s": [None, "-x"]})
    out = neutralise(frame)
    assert out["n"].to_list() == [-1.5, 2.0]
    assert out["s"].to_list() == [None, "'-x"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_written_files_hold_no_formula(tmp_path: Path, suffix: str) -> None:
    frame = pl.DataFrame({"comment": EVIL, "score": list(range(len(EVIL)))})
    path = write_frame(frame, tmp_path / f"out{suffix}")
    if suffix == ".csv":
        back = pl.read_csv(path)
        assert back["comment"].to_list() == ["'" + t for t in EVIL]
    else:
        with zipfile.ZipFile(path) as z:
            sheet = z.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet and "<f " not in sheet
        back = pl.read_excel(path)
        # string cells: no formula can arise, so no apostrophe is added
        assert back["comment"].to_list() == EVIL
    assert back["score"].to_list() == list(range(len(EVIL)))


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"\.csv or \.xlsx"):
        write_frame(pl.DataFrame({"a": [1]}), tmp_path / "x.ods")


def test_every_export_of_a_call(world: World, tmp_path: Path) -> None:
    publish(world, [("P03", "E03"), ("P03", "E04")])
    for e in ("E03", "E04"):
        t = task_of(world, "P03", e)
        accept_task(world.engine, world.experts[e], t)
        save_draft(
            world.engine,
            world.experts[e],
            t,
            scores(complete({"relevance": 20}), "=cmd|' /C calc'!A0"),
            expected_version=0,
        )
        submit_evaluation(world.engine, world.experts[e], t, expected_version=1)
    cid = start_consolidation(world.engine, world.manager, world.call_id, "P03", "E03")
    v = save_consensus(
        world.engine,
        world.experts["E03"],
        cid,
        scores({"relevance": 20}, "+1"),
        "-ok",
        expected_version=0,
    )
    submit_consensus(world.engine, world.experts["E03"], cid, expected_version=v)
    approve_consensus(world.engine, world.experts["E04"], cid, expected_version=v)
    m, call, eng = world.manager, world.call_id, world.engine
    e03 = world.experts["E03"]
    ranking = pl.DataFrame({"proposal_id": ["P03"], "rank": [1], "title": ["=x"]})
    names = call_names(eng, m, call)
    exports: dict[str, tuple[Callable[[], pl.DataFrame], Callable[[Path], Path]]] = {
        # the assignment, internal comments and audit log carry names beside ids
        "assignment": (lambda: with_names(published_with_explanations(eng, m, call), names),
                       lambda p: export_assignment(eng, m, call, p)),
        "queues": (lambda: list_tasks(eng, e03, call).sort("expert_id", "proposal_id"),
                   lambda p: export_queues(eng, e03, call, p)),
        "scores": (lambda: scores_frame(eng, m, call), lambda p: export_scores(eng, m, call, p)),
        "internal": (lambda: with_names(internal_comments(eng, m, call), names),
                     lambda p: export_internal_comments(eng, m, call, p)),
        "consolidated": (lambda: consolidated_frame(eng, m, call),
                         lambda p: export_consolidated(eng, m, call, p)),
        "ranking": (lambda: ranking, lambda p: export_ranking(ranking, p)),
        "audit": (lambda: named_audit_frame(eng, m, call),
                  lambda p: export_audit(eng, m, call, p)),
        **{
            table: (partial(call_table, eng, m, call, table),
                    partial(export_call_table, eng, m, call, table))
            for table in CALL_TABLES
        },
    }
    for suffix in (".csv", ".xlsx"):
        for name, (stored, export) in exports.items():
            before = stored()
            path = export(tmp_path / f"{name}{suffix}")
            assert_inert_and_equal(path, before)
    assert scores_frame(eng, m, call)["comment"].to_list() == ["=cmd|' /C calc'!A0"] * 2 * 4
    log = audit_frame(eng, m, call).filter(pl.col("action") == "export")
    assert log["entity_id"].to_list().count("scores") == 2  # one audit line per export


def _call_toml(world: World) -> str:
    cfg = world.call.config
    lines = ["[call]", f'id = "{cfg.id}"', f'title = "{cfg.title}"', f'scheme = "{cfg.scheme}"',
             f"experts_per_proposal = {cfg.experts_per_proposal}"]
    for lot in cfg.lots.values():
        lines += [f"[lots.{lot.id}]", f'title = "{lot.title}"', f"budget_eur = {lot.budget_eur}"]
        if lot.one_per:
            lines.append(f'one_per = "{lot.one_per}"')
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_call_tables_and_scores_read_back_through_the_call_folder_reader(
    world: World, tmp_path: Path, suffix: str
) -> None:
    from evalpanel.callfolder import read_call
    from evalpanel.store import declare_conflict

    m, call, eng = world.manager, world.call_id, world.engine
    declare_conflict(eng, m, call, "E05", kind="other", note="=HYPERLINK(\"http://x\",\"y\")",
                     proposal_id="P04")
    publish(world, [("P03", "E03"), ("P03", "E04")])
    comments = {"E03": '=HYPERLINK("http://x","y")', "E04": "＠SUM(A1)"}
    for e, comment in comments.items():
        t = task_of(world, "P03", e)
        accept_task(eng, world.experts[e], t)
        marks = {"relevance": 20, "quality": 25, "partnership": 20, "impact": 15}
        save_draft(eng, world.experts[e], t, scores(marks, comment), expected_version=0)
        submit_evaluation(eng, world.experts[e], t, expected_version=1)
    folder = tmp_path / "again"
    folder.mkdir()
    (folder / "call.toml").write_text(_call_toml(world), encoding="utf-8")
    for table in CALL_TABLES:
        export_call_table(eng, m, call, table, folder / f"{table}{suffix}")
    export_scores(eng, m, call, folder / f"scores{suffix}")
    again = read_call(folder)
    for table in CALL_TABLES:
        assert getattr(again, table).equals(call_table(eng, m, call, table)), table
    assert again.scores is not None
    assert again.scores.equals(scores_frame(eng, m, call))
    assert sorted(again.scores["comment"].unique().to_list()) == sorted(comments.values())
    assert again.proposals.filter(pl.col("proposal_id") == "P01")["abstract"].item() == (
        '=HYPERLINK("x")')
