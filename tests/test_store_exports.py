from __future__ import annotations

import zipfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evalpanel.store import (
    InvalidInput,
    accept_task,
    save_draft,
    start_consolidation,
    submit_evaluation,
)
from evalpanel.store.consolidation import approve_consensus, save_consensus, submit_consensus
from evalpanel.store.exports import (
    DANGEROUS,
    export_assignment,
    export_audit,
    export_consolidated,
    export_queues,
    export_ranking,
    export_scores,
    neutralise,
    write_frame,
)
from tests.store_fixtures import World, publish, scores, task_of

EVIL = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", '=HYPERLINK("http://x")']


@given(st.lists(st.text(max_size=12), max_size=20))
def test_neutralise_prefixes_exactly_the_dangerous_cells(texts: list[str]) -> None:
    out = neutralise(pl.DataFrame({"t": texts}, schema={"t": pl.String})).get_column("t")
    for before, after in zip(texts, out.to_list(), strict=True):
        if before.startswith(DANGEROUS):
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
    else:
        with zipfile.ZipFile(path) as z:
            sheet = z.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet and "<f " not in sheet
        back = pl.read_excel(path)
    assert back["comment"].to_list() == ["'" + t for t in EVIL]
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
            scores({"relevance": 20}, "=cmd|' /C calc'!A0"),
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
    for suffix in (".csv", ".xlsx"):
        m, call = world.manager, world.call_id
        paths = {
            "assignment": export_assignment(world.engine, m, call, tmp_path / f"a{suffix}"),
            "queues": export_queues(
                world.engine, world.experts["E03"], call, tmp_path / f"q{suffix}"
            ),
            "scores": export_scores(world.engine, m, call, tmp_path / f"s{suffix}"),
            "consolidated": export_consolidated(world.engine, m, call, tmp_path / f"c{suffix}"),
            "ranking": export_ranking(
                pl.DataFrame({"proposal_id": ["P03"], "rank": [1]}), tmp_path / f"r{suffix}"
            ),
            "audit": export_audit(world.engine, m, call, tmp_path / f"l{suffix}"),
        }
        read = pl.read_csv if suffix == ".csv" else pl.read_excel
        frames = {
            k: read(p, infer_schema_length=0) if suffix == ".csv" else read(p)
            for k, p in paths.items()
        }
        assert frames["assignment"].height == 2
        assert frames["queues"]["expert_id"].to_list() == ["E03"]
        assert frames["scores"]["comment"].to_list() == ["'=cmd|' /C calc'!A0"] * 2
        assert frames["consolidated"]["comment"].to_list() == ["'+1"]
        assert frames["ranking"]["proposal_id"].to_list() == ["P03"]
        for name, frame in frames.items():
            for col in frame.select(pl.col(pl.String)).columns:
                bad = frame.filter(pl.col(col).str.contains(r"^[=+\-@\t\r]"))
                assert bad.is_empty(), (name, col, bad)
