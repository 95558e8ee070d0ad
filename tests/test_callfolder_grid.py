"""A dense affinity table (every proposal × expert pair once, in id order) is proven by whole-column
comparisons instead of cell-by-cell id checks; anything short of that grid is checked cell by cell,
with the same located messages as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from evalpanel.callfolder import CallFolderError, read_call
from evalpanel.callfolder.grid import is_grid
from evalpanel.planning import affinity_of
from tests.callfolder_factory import write_call

PROPOSALS = ["P01", "P02", "P03", "P04"]
EXPERTS = ["X01", "X02", "X03", "X04"]


def grid_frame(seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "proposal_id": np.repeat(PROPOSALS, len(EXPERTS)).tolist(),
            "expert_id": np.tile(EXPERTS, len(PROPOSALS)).tolist(),
            "affinity": rng.random(len(PROPOSALS) * len(EXPERTS)).round(6),
        }
    )


def folder_with(tmp_path: Path, affinity: pl.DataFrame, name: str = "affinity.parquet") -> Path:
    folder = write_call(tmp_path)
    (folder / "affinity.csv").unlink()
    if name.endswith(".csv"):
        affinity.write_csv(folder / name)
    else:
        affinity.write_parquet(folder / name)
    return folder


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(CallFolderError) as info:
        read_call(folder)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("name", ["affinity.parquet", "affinity.csv"])
def test_grid_reads_like_the_same_rows_in_any_order(tmp_path: Path, name: str) -> None:
    grid = grid_frame()
    in_order = read_call(folder_with(tmp_path / "grid", grid, name))
    shuffled = read_call(folder_with(tmp_path / "shuffled", grid.sample(fraction=1.0, shuffle=True, seed=3)))
    assert in_order.affinity_grid and not shuffled.affinity_grid
    assert in_order.affinity is not None and shuffled.affinity is not None
    assert in_order.affinity.equals(shuffled.affinity)
    matrix, _ = affinity_of(in_order)
    assert np.array_equal(matrix, affinity_of(shuffled)[0])
    assert np.allclose(matrix.reshape(-1), grid["affinity"].to_numpy(), atol=1e-7)


def test_a_bad_value_in_a_grid_is_located(tmp_path: Path) -> None:
    grid = grid_frame().with_row_index().with_columns(
        affinity=pl.when(pl.col("index") == 9).then(1.5).otherwise(pl.col("affinity"))
    )
    found = problems_of(folder_with(tmp_path, grid.drop("index")))
    # Parquet rows are numbered from 1: the 10th row is line 10
    assert [p for p in found if "affinity" in p] == [
        "affinity.parquet:10: affinity: 1.5 is above the maximum 1"
    ], found


def _set(frame: pl.DataFrame, row: int, column: str, value: str | None) -> pl.DataFrame:
    return frame.with_row_index().with_columns(
        pl.when(pl.col("index") == row).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    ).drop("index")


@pytest.mark.parametrize(
    ("row", "column", "value", "expected"),
    [
        (13, "expert_id", "X99", 'affinity.parquet:14: expert_id: "X99" is not in experts'),
        (13, "expert_id", None, "affinity.parquet:14: expert_id: is empty; a value is required"),
        (6, "proposal_id", "P77", 'affinity.parquet:7: proposal_id: "P77" is not in proposals'),
        (
            13,
            "expert_id",
            "X01",
            'affinity.parquet:14: proposal_id, expert_id: row "P04, X01" appears again '
            "(first on line 13)",
        ),
    ],
)
def test_a_table_short_of_the_grid_is_checked_cell_by_cell(
    tmp_path: Path, row: int, column: str, value: str | None, expected: str
) -> None:
    frame = _set(grid_frame(), row, column, value)
    assert not is_grid(frame, pl.Series(PROPOSALS), pl.Series(EXPERTS))
    found = problems_of(folder_with(tmp_path, frame))
    assert expected in found, found


def test_padded_ids_are_stripped_on_the_cell_by_cell_path(tmp_path: Path) -> None:
    grid = grid_frame()
    call = read_call(folder_with(tmp_path, _set(grid, 5, "expert_id", " X02 ")))
    assert not call.affinity_grid
    assert np.allclose(affinity_of(call)[0].reshape(-1), grid["affinity"].to_numpy(), atol=1e-7)


def test_is_grid_needs_exactly_the_ids_of_the_call() -> None:
    grid = grid_frame()
    assert is_grid(grid, pl.Series(PROPOSALS[::-1]), pl.Series(EXPERTS))  # any order of ids
    assert not is_grid(grid, pl.Series(PROPOSALS[:3]), pl.Series(EXPERTS))
    assert not is_grid(grid, pl.Series(PROPOSALS), pl.Series([*EXPERTS, "X05"]))
    assert not is_grid(grid, pl.Series([*PROPOSALS, "P01"]), pl.Series(EXPERTS))  # repeated id
    assert not is_grid(grid.head(15), pl.Series(PROPOSALS), pl.Series(EXPERTS))
