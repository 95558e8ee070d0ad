"""The fast paths taken by ``evalpanel assign`` on a dense, sorted ``affinity.parquet``.

A numeric Parquet column is checked natively (no round trip through strings) with the same located
messages; a table already in key order skips the duplicate search and the sort, and a table that
is not still gets both. Speed itself is measured in ``benchmarks/assign_process.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from evalpanel.callfolder import CallFolderError, read_call
from evalpanel.cli import cli
from tests.callfolder_factory import write_call


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(CallFolderError) as info:
        read_call(folder)
    return [str(p) for p in info.value.problems]


def dense_affinity(folder: Path) -> pl.DataFrame:
    """Every (proposal, expert) pair of the call, sorted by ids, with distinct affinities."""
    call = read_call(folder)
    pids, eids = call.proposals["proposal_id"], call.experts["expert_id"]
    n_p, n_e = pids.len(), eids.len()
    rows = np.repeat(np.arange(n_p), n_e)
    cols = np.tile(np.arange(n_e), n_p)
    return pl.DataFrame(
        {
            "proposal_id": pids.gather(rows),
            "expert_id": eids.gather(cols),
            "affinity": np.linspace(0.05, 0.95, n_p * n_e),
        }
    )


def with_parquet(folder: Path, frame: pl.DataFrame) -> Path:
    (folder / "affinity.csv").unlink(missing_ok=True)
    frame.write_parquet(folder / "affinity.parquet")
    return folder


def test_numeric_parquet_values_are_checked_with_located_messages(tmp_path: Path) -> None:
    folder = write_call(tmp_path)
    frame = dense_affinity(folder)
    values = frame["affinity"].to_list()
    values[1], values[4], values[6], values[9] = 1.5, float("nan"), None, -0.25
    found = problems_of(with_parquet(folder, frame.with_columns(affinity=pl.Series(values))))
    assert "affinity.parquet:2: affinity: 1.5 is above the maximum 1" in found
    assert 'affinity.parquet:5: affinity: "NaN" is not a number' in found
    assert "affinity.parquet:7: affinity: is empty; a value is required" in found
    assert "affinity.parquet:10: affinity: -0.25 is below the minimum 0" in found
    assert len(found) == 4


@pytest.mark.parametrize(
    ("dtype", "bad", "expected"),
    [
        (pl.Int32, -3, "experts.parquet:3: max_load: -3 is below the minimum 0"),
        (pl.Float64, 2.5, 'experts.parquet:3: max_load: "2.5" is not a whole number'),
    ],
)
def test_numeric_parquet_integers(
    tmp_path: Path, dtype: pl.DataType, bad: float, expected: str
) -> None:
    folder = write_call(tmp_path)
    experts = pl.read_csv(folder / "experts.csv", infer_schema=False).with_columns(
        pl.col("max_load").cast(pl.Float64).cast(dtype), pl.col("min_load").cast(pl.Int64)
    )
    experts = experts.with_columns(
        max_load=pl.when(pl.col("expert_id") == "X03")
        .then(pl.lit(bad, dtype=dtype))
        .otherwise(pl.col("max_load"))
    )
    (folder / "experts.csv").unlink()
    experts.write_parquet(folder / "experts.parquet")
    assert expected in problems_of(folder)


def test_numeric_parquet_reads_like_csv(tmp_path: Path) -> None:
    csv_folder = write_call(tmp_path / "csv")
    frame = dense_affinity(csv_folder)
    frame.write_csv(csv_folder / "affinity.csv")
    parquet_folder = with_parquet(write_call(tmp_path / "parquet"), frame)
    a, b = read_call(csv_folder).affinity, read_call(parquet_folder).affinity
    assert a is not None and b is not None
    assert a.equals(b) and a.schema == b.schema


def test_a_repeated_row_in_a_sorted_table_is_still_found(tmp_path: Path) -> None:
    folder = write_call(tmp_path)
    frame = dense_affinity(folder)
    repeated = pl.concat([frame.head(3), frame.slice(2, 1), frame.slice(3)])
    found = problems_of(with_parquet(folder, repeated))
    row = frame.row(2)
    assert found == [
        f'affinity.parquet:4: proposal_id, expert_id: row "{row[0]}, {row[1]}" appears again '
        "(first on line 3)"
    ]


def test_an_unsorted_table_is_returned_sorted(tmp_path: Path) -> None:
    folder = write_call(tmp_path)
    frame = dense_affinity(folder)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=3)
    affinity = read_call(with_parquet(folder, shuffled)).affinity
    assert affinity is not None
    assert affinity.equals(frame.sort("proposal_id", "expert_id"))


def test_assign_with_a_dense_parquet_affinity_is_optimal(tmp_path: Path) -> None:
    folder = with_parquet(write_call(tmp_path), dense_affinity(write_call(tmp_path / "ids")))
    out = tmp_path / "pairs.csv"
    result = CliRunner().invoke(cli, ["assign", str(folder), "-k", "2", "--json", "-o", str(out)])
    summary = json.loads(result.output)
    assert summary["affinity_source"] == "affinity file"
    assert summary["certificate"]["violations"] == 0
    pairs = pl.read_csv(out)
    given = dense_affinity(folder).join(pairs, on=["proposal_id", "expert_id"])
    assert 0 < given.height == pairs.height == summary["pairs"]
    assert given["affinity"].to_numpy() == pytest.approx(
        given["affinity_right"].to_numpy(), abs=1e-6
    )
    assert summary["objective"] == pytest.approx(float(pairs["affinity"].sum()), abs=1e-4)


def _bad_parquet(tmp_path: Path) -> Path:
    """A call whose dense affinity.parquet has a value out of range and an unknown expert."""
    folder = write_call(tmp_path)
    frame = dense_affinity(write_call(tmp_path / "ids"))
    values = frame["affinity"].to_list()
    values[3] = 1.5
    experts = frame["expert_id"].to_list()
    experts[5] = "X-NOBODY"
    return with_parquet(folder, frame.with_columns(
        affinity=pl.Series(values), expert_id=pl.Series(experts)
    ))


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_a_bad_parquet_read_in_the_background_is_reported_as_by_validate(tmp_path: Path) -> None:
    # assign decodes the matrix while it finds the conflicts; its problems are the same lines
    # (and exit status) as when the whole folder is read first
    folder = _bad_parquet(tmp_path)
    code, text = _run("assign", str(folder), "--json")
    assert code == 2 and "Traceback" not in text
    assert "affinity.parquet:4: affinity: 1.5 is above the maximum 1" in text
    assert 'affinity.parquet:6: expert_id: "X-NOBODY" is not in experts' in text
    assert text.rstrip().endswith("2 problems found; nothing was used")
    assert (code, text) == _run("validate", str(folder))


def test_a_bad_parquet_comes_before_a_bad_pinned_file(tmp_path: Path) -> None:
    folder = _bad_parquet(tmp_path)
    pinned = tmp_path / "pinned.csv"
    pinned.write_text("proposal_id\nP1\n")
    code, text = _run("assign", str(folder), "--pinned", str(pinned))
    assert code == 2 and "affinity.parquet:4: affinity: 1.5 is above the maximum 1" in text
    assert "pinned.csv" not in text
    # with a good parquet, the pinned file's own problem is the one told
    good = with_parquet(write_call(tmp_path / "good"), dense_affinity(write_call(tmp_path / "i")))
    code, text = _run("assign", str(good), "--pinned", str(pinned))
    assert code == 2 and "pinned.csv:1: header: needs the column(s) expert_id" in text


def test_a_bad_parquet_is_listed_with_the_other_files_problems(tmp_path: Path) -> None:
    folder = _bad_parquet(tmp_path)
    experts = pl.read_csv(folder / "experts.csv", infer_schema=False)
    experts.with_columns(max_load=pl.lit("-1")).write_csv(folder / "experts.csv")
    code, text = _run("assign", str(folder))
    assert code == 2
    assert "experts.csv:2: max_load: -1 is below the minimum 0" in text
    assert "affinity.parquet:4: affinity: 1.5 is above the maximum 1" in text
    assert (code, text) == _run("validate", str(folder))


def test_a_damaged_parquet_exits_2_without_a_traceback(tmp_path: Path) -> None:
    folder = with_parquet(write_call(tmp_path), dense_affinity(write_call(tmp_path / "ids")))
    data = (folder / "affinity.parquet").read_bytes()
    (folder / "affinity.parquet").write_bytes(data[: len(data) // 2] + data[-8:])
    code, text = _run("assign", str(folder), "--json")
    assert code == 2 and "affinity.parquet: cannot be read as Parquet" in text


def test_the_matrix_read_in_the_background_is_the_one_waited_for(tmp_path: Path) -> None:
    folder = with_parquet(write_call(tmp_path), dense_affinity(write_call(tmp_path / "ids")))
    waited = read_call(folder, affinity_matrix=True)
    pending = read_call(folder, affinity_matrix=True, wait=False)
    assert pending.has_affinity and pending.affinity is None
    assert waited.affinity_matrix is not None and pending.affinity_matrix is not None
    assert np.array_equal(pending.affinity_matrix, waited.affinity_matrix)
    assert pending.affinity_grid and pending.affinity_count == waited.affinity_count
    with pytest.raises(CallFolderError) as info:
        read_call(_bad_parquet(tmp_path / "bad"), affinity_matrix=True, wait=False).check_affinity()
    assert "affinity.parquet:4: affinity: 1.5 is above the maximum 1" in map(
        str, info.value.problems
    )
