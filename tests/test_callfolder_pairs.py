"""``read_call(..., affinity_matrix=True)`` reads an ``affinity.parquet`` batch by batch (never
more than one row group) into the (P, E) matrix: the same matrix and the same located problems
as reading the whole table, whichever row group a problem is in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from evalpanel.callfolder import CallFolderError, read_call
from evalpanel.callfolder.pairs import read_pair_matrix
from evalpanel.callfolder.problems import MAX_PER_COLUMN
from evalpanel.callfolder.schema import AFFINITY
from evalpanel.planning import affinity_of
from tests.callfolder_factory import write_call

PROPOSALS = ["P01", "P02", "P03", "P04"]
EXPERTS = ["X01", "X02", "X03", "X04"]
ROW_GROUP = 5  # 16 rows in four row groups: 1-5, 6-10, 11-15, 16


def grid(seed: int = 11) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "proposal_id": np.repeat(PROPOSALS, len(EXPERTS)).tolist(),
            "expert_id": np.tile(EXPERTS, len(PROPOSALS)).tolist(),
            "affinity": rng.random(len(PROPOSALS) * len(EXPERTS)).round(6),
        }
    )


def folder_with(tmp_path: Path, frame: pl.DataFrame, row_group: int = ROW_GROUP) -> Path:
    folder = write_call(tmp_path)
    (folder / "affinity.csv").unlink()
    frame.write_parquet(folder / "affinity.parquet", row_group_size=row_group)
    assert pq.ParquetFile(folder / "affinity.parquet").metadata.num_row_groups == -(
        -frame.height // row_group
    )
    return folder


def _set(frame: pl.DataFrame, row: int, column: str, value: object) -> pl.DataFrame:
    """``frame`` with the cell of 0-based ``row`` (file line ``row + 1``) set to ``value``."""
    dtype = frame.schema[column]
    return frame.with_row_index().with_columns(
        pl.when(pl.col("index") == row)
        .then(pl.lit(value, dtype=dtype))
        .otherwise(pl.col(column))
        .alias(column)
    ).drop("index")


def problems(folder: Path, *, matrix: bool) -> list[str]:
    with pytest.raises(CallFolderError) as info:
        read_call(folder, affinity_matrix=matrix)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(grid(), id="grid"),
        pytest.param(grid().sample(fraction=1.0, shuffle=True, seed=3), id="shuffled"),
        pytest.param(grid().filter(pl.col("affinity") > 0.4), id="sparse"),
        pytest.param(_set(grid(), 12, "expert_id", " X01 "), id="padded id"),
        pytest.param(grid().slice(7), id="starts at pair 7"),
    ],
)
def test_the_matrix_is_the_one_planned_from_the_frame(tmp_path: Path, frame: pl.DataFrame) -> None:
    rows = read_call(folder_with(tmp_path / "rows", frame))
    streamed = read_call(folder_with(tmp_path / "matrix", frame), affinity_matrix=True)
    assert streamed.affinity is None and streamed.affinity_matrix is not None
    expected, _ = affinity_of(rows)
    matrix, source = affinity_of(streamed)
    assert source == "affinity file" and matrix is streamed.affinity_matrix  # not copied
    assert matrix.dtype == np.float32 and np.array_equal(matrix, expected)
    assert streamed.affinity_count == frame.height == rows.affinity_count
    # listed pairs hold their values, the others 0
    ids = {(p, e): (i, j) for i, p in enumerate(PROPOSALS) for j, e in enumerate(EXPERTS)}
    for p, e, value in frame.iter_rows():
        assert matrix[ids[(p, e.strip())]] == pytest.approx(value, abs=1e-7)
    assert np.count_nonzero(matrix) == frame.filter(pl.col("affinity") > 0).height


def test_only_the_whole_grid_is_complete(tmp_path: Path) -> None:
    whole = read_call(folder_with(tmp_path / "a", grid()), affinity_matrix=True)
    shuffled = read_call(
        folder_with(tmp_path / "b", grid().sample(fraction=1.0, shuffle=True, seed=5)),
        affinity_matrix=True,
    )
    short = read_call(folder_with(tmp_path / "c", grid().head(15)), affinity_matrix=True)
    assert whole.affinity_grid and shuffled.affinity_grid and not short.affinity_grid


BAD_CELLS = [
    # (0-based row, column, value, the problem): rows 10 and 13 are in the third and fourth
    # row groups (of five rows), row 1 in the first
    (13, "affinity", 1.5, "affinity.parquet:14: affinity: 1.5 is above the maximum 1"),
    (10, "affinity", -0.25, "affinity.parquet:11: affinity: -0.25 is below the minimum 0"),
    (10, "affinity", float("nan"), 'affinity.parquet:11: affinity: "NaN" is not a number'),
    (13, "affinity", None, "affinity.parquet:14: affinity: is empty; a value is required"),
    (13, "expert_id", "X99", 'affinity.parquet:14: expert_id: "X99" is not in experts'),
    (13, "expert_id", None, "affinity.parquet:14: expert_id: is empty; a value is required"),
    (13, "expert_id", "", "affinity.parquet:14: expert_id: is empty; a value is required"),
    (10, "proposal_id", "P77", 'affinity.parquet:11: proposal_id: "P77" is not in proposals'),
    (
        10,
        "proposal_id",
        "P0\x001",
        "affinity.parquet:11: proposal_id: contains a NUL character: remove it",
    ),
    (1, "expert_id", "X99", 'affinity.parquet:2: expert_id: "X99" is not in experts'),
    (
        13,
        "expert_id",
        "X01",
        'affinity.parquet:14: proposal_id, expert_id: row "P04, X01" appears again '
        "(first on line 13)",
    ),
    (
        11,
        "proposal_id",
        "P01",
        'affinity.parquet:12: proposal_id, expert_id: row "P01, X04" appears again '
        "(first on line 4)",
    ),
]


@pytest.mark.parametrize(("row", "column", "value", "expected"), BAD_CELLS)
def test_a_bad_cell_in_any_row_group_is_located_as_before(
    tmp_path: Path, row: int, column: str, value: object, expected: str
) -> None:
    frame = _set(grid(), row, column, value)
    streamed = problems(folder_with(tmp_path / "matrix", frame), matrix=True)
    assert expected in streamed, streamed
    assert streamed == problems(folder_with(tmp_path / "rows", frame), matrix=False)


def test_every_problem_of_several_row_groups_at_once(tmp_path: Path) -> None:
    frame = grid()
    cells = [(2, "affinity", 1.5), (6, "affinity", -0.25), (8, "proposal_id", "P77"),
             (10, "affinity", float("nan")), (13, "expert_id", "X99"), (15, "affinity", 7.0)]
    for row, column, value in cells:
        frame = _set(frame, row, column, value)
    streamed = problems(folder_with(tmp_path / "matrix", frame), matrix=True)
    assert streamed == problems(folder_with(tmp_path / "rows", frame), matrix=False)
    assert [int(p.split(":")[1]) for p in streamed] == [3, 7, 9, 11, 14, 16], streamed
    assert "affinity.parquet:16: affinity: 7.0 is above the maximum 1" in streamed


def test_many_bad_rows_across_row_groups_are_summarised_as_before(tmp_path: Path) -> None:
    # a call of 60 experts: 240 pairs in row groups of 7; 230 values above the maximum and 220
    # unknown experts, spread over every row group
    folder = write_call(tmp_path / "base")
    experts = pl.read_csv(folder / "experts.csv", infer_schema=False)
    many = pl.concat(
        [experts]
        + [
            experts.head(1).with_columns(
                expert_id=pl.lit(f"Y{i:02d}"), email=pl.lit(f"y{i}@example.eu")
            )
            for i in range(56)
        ]
    )
    ids = many["expert_id"].sort().to_list()
    frame = pl.DataFrame(
        {
            "proposal_id": np.repeat(PROPOSALS, len(ids)).tolist(),
            "expert_id": np.tile(ids, len(PROPOSALS)).tolist(),
            "affinity": np.where(np.arange(240) % 24 < 23, 1.25, 0.5),
        }
    ).with_columns(
        expert_id=pl.when(pl.int_range(pl.len()) % 12 < 11)
        .then(pl.lit("Z") + pl.col("expert_id"))
        .otherwise(pl.col("expert_id"))
    )
    found = {}
    for matrix in (True, False):
        target = folder_with(tmp_path / str(matrix), frame, row_group=7)
        many.write_csv(target / "experts.csv")
        found[matrix] = problems(target, matrix=matrix)
    cells = [p for p in found[True] if ": affinity: " in p]
    assert cells == [p for p in found[False] if ": affinity: " in p]
    assert sum("is above the maximum 1" in p for p in cells) == MAX_PER_COLUMN
    assert cells[-1].endswith(
        "affinity: ... and 30 more rows with problems in this column (fix the ones above and "
        "validate again)"
    )
    # the whole-table reader names every unknown id; batch by batch they are capped alike
    unknown = [p for p in found[True] if ": expert_id: " in p]
    assert unknown[:MAX_PER_COLUMN] == [p for p in found[False] if ": expert_id: " in p][
        :MAX_PER_COLUMN
    ]
    assert len(unknown) == MAX_PER_COLUMN + 1 and "... and 20 more rows" in unknown[-1]


def test_header_problems_are_located(tmp_path: Path) -> None:
    missing = grid().drop("expert_id")
    streamed = problems(folder_with(tmp_path / "m", missing), matrix=True)
    assert streamed == [
        "affinity.parquet:1: expert_id: missing column (the columns are: proposal_id, "
        "expert_id, affinity)"
    ]
    assert streamed[0] in problems(folder_with(tmp_path / "r", missing), matrix=False)
    extra = grid().with_columns(afinity=pl.lit(0.5))
    call = folder_with(tmp_path / "x", _set(extra, 12, "affinity", 3.0))
    assert problems(call, matrix=True) == [
        'affinity.parquet:1: afinity: unknown column; did you mean "affinity"? the columns '
        "are: proposal_id, expert_id, affinity",
        "affinity.parquet:13: affinity: 3.0 is above the maximum 1",
    ]


def test_a_damaged_file_is_reported_not_raised(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, grid())
    data = (folder / "affinity.parquet").read_bytes()
    (folder / "affinity.parquet").write_bytes(data[: len(data) // 2])
    found = problems(folder, matrix=True)
    assert any(p.startswith("affinity.parquet: cannot be read as Parquet") for p in found), found


def test_batches_need_not_follow_row_groups(tmp_path: Path) -> None:
    frame = _set(_set(grid(), 9, "affinity", 2.0), 14, "expert_id", "X02")
    folder = folder_with(tmp_path, frame, row_group=16)
    proposals = pl.Series(PROPOSALS[::-1])  # any order: the matrix follows the sorted ids
    for batch_rows in (1, 3, 16):
        read, found = read_pair_matrix(
            folder / "affinity.parquet", AFFINITY, proposals, pl.Series(EXPERTS),
            batch_rows=batch_rows,
        )
        assert read is not None and not read.complete and read.rows == 16
        assert [str(p) for p in found] == [
            "affinity.parquet:10: affinity: 2.0 is above the maximum 1",
            'affinity.parquet:15: proposal_id, expert_id: row "P04, X02" appears again '
            "(first on line 14)",
        ]
        assert read.values[0, 1] == pytest.approx(frame["affinity"][1], abs=1e-7)
        assert read.values[2, 1] == 0.0  # the bad value


@pytest.mark.parametrize("type_", ["int8", "int32", "uint16", "int64", "float32", "float64"])
def test_arrow_numbers_read_from_their_buffers_equal_polars_conversion(type_: str) -> None:
    import pyarrow as pa

    from evalpanel.callfolder.pairs import _as_type, _numpy

    values = [3, None, 5, 0, None, 7, 1, 2, 9, None, 4]
    whole = pa.array(values, type=getattr(pa, type_)())
    for array in (whole, whole.slice(1), whole.slice(3, 6), whole.slice(11)):
        as_polars = pl.Series(pl.from_arrow(array)).fill_null(99).to_numpy()
        assert _numpy(array, fill=99).tolist() == as_polars.tolist()
        full = array.drop_null()
        assert _numpy(full).tolist() == pl.Series(pl.from_arrow(full)).to_list()
    ids = pl.Series(["P01", "é", "", "X" * 40, "P02"])
    for part in (ids, ids.slice(1, 3)):
        strings = _as_type(part.to_arrow(), pa.string())
        strings.validate(full=True)
        assert strings.type == pa.string() and strings.to_pylist() == part.to_list()


def test_a_damaged_page_inside_the_file_is_reported_not_raised(tmp_path: Path) -> None:
    """The footer is intact but a page of the third row group is overwritten: the row groups
    decoded ahead, on other threads, hand the error on, and the reader says the file cannot
    be read instead of raising (nor hanging on the groups still queued)."""
    folder = folder_with(tmp_path, grid())
    path = folder / "affinity.parquet"
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == 4
    column = meta.row_group(2).column(2)
    data = bytearray(path.read_bytes())
    start = column.data_page_offset
    data[start : start + column.total_compressed_size] = b"\xff" * column.total_compressed_size
    path.write_bytes(bytes(data))
    found = problems(folder, matrix=True)
    assert any(p.startswith("affinity.parquet: cannot be read as Parquet") for p in found), found


@pytest.mark.parametrize("seed", range(8))
def test_row_groups_in_and_out_of_pair_order_give_the_pairs_values(
    tmp_path: Path, seed: int
) -> None:
    """A sorted grid with some row groups moved, some rows dropped and one stretch shuffled,
    written in row groups of 3-19 rows: read with the row groups decoded ahead (whole groups,
    ordered ones copied without a lookup) and with one iterator (batches smaller than a
    group), every listed pair holds its value and the others 0."""
    rng = np.random.default_rng(seed)
    props = [f"P{i:02d}" for i in range(9)]
    experts = [f"X{j:02d}" for j in range(7)]
    frame = pl.DataFrame({
        "proposal_id": np.repeat(props, len(experts)).tolist(),
        "expert_id": np.tile(experts, len(props)).tolist(),
        "affinity": rng.random(len(props) * len(experts)).round(6),
    })
    cut = sorted(rng.choice(np.arange(1, frame.height), size=3, replace=False).tolist())
    a, b, c, d = (frame.slice(lo, hi - lo) for lo, hi in zip([0, *cut], [*cut, frame.height],
                                                             strict=True))
    moved = pl.concat([a, c, b.sample(fraction=1.0, shuffle=True, seed=seed), d])
    kept = moved.filter(pl.Series(rng.random(moved.height) > 0.1))
    row_group = int(rng.integers(3, 20))
    path = tmp_path / "affinity.parquet"
    kept.write_parquet(path, row_group_size=row_group)
    expected = np.zeros((len(props), len(experts)), dtype=np.float32)
    for p, e, value in kept.iter_rows():
        expected[props.index(p), experts.index(e)] = value
    for batch_rows in (1 << 22, max(1, row_group - 1)):
        read, found = read_pair_matrix(path, AFFINITY, pl.Series(props), pl.Series(experts),
                                       batch_rows=batch_rows)
        assert found == [] and read is not None and read.rows == kept.height
        assert np.array_equal(read.values, expected)
        assert read.complete == (kept.height == frame.height)


@pytest.mark.parametrize(("first", "second"), [(4, 5), (5, 9)], ids=["experts", "proposals"])
def test_two_rows_swapped_behind_run_dictionaries_are_read_pair_by_pair(
    tmp_path: Path, first: int, second: int
) -> None:
    """Swapping rows 5 and 6 (the same proposal) or rows 6 and 10 (the same expert of two
    proposals) keeps each row group's ids a run of the known ones and the proposals right where
    a cycle of experts starts: only the rows themselves show the pairs out of order."""
    frame = grid()
    order = list(range(frame.height))
    order[first], order[second] = order[second], order[first]
    swapped = frame[order]
    expected = np.zeros((len(PROPOSALS), len(EXPERTS)), dtype=np.float32)
    for p, e, value in swapped.iter_rows():
        expected[PROPOSALS.index(p), EXPERTS.index(e)] = value
    path = tmp_path / "affinity.parquet"
    swapped.write_parquet(path, row_group_size=8)  # two groups: decoded ahead, whole
    read, found = read_pair_matrix(path, AFFINITY, pl.Series(PROPOSALS), pl.Series(EXPERTS))
    assert found == [] and read is not None and read.complete
    assert np.array_equal(read.values, expected)
