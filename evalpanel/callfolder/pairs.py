"""Read a pair table in Parquet (``affinity.parquet``) batch by batch into a (P, E) matrix.

A dense affinity table has P × E rows (300 M at 20,000 × 15,000). Read whole, with its ids as
strings, it takes many times the memory of the float32 matrix the solvers use. Here the file
is read one batch of rows at a time (pyarrow's ``iter_batches``, never more than one row group,
with the ids as dictionary arrays: each distinct id of the batch once, and an integer per row).
Each batch is checked and written into one preallocated float32 matrix ``(P, E)``, rows and
columns in the order of the sorted proposal and expert ids (the order of the reader's frames):

- ids: the distinct ids of a batch are looked up among the call's ids; when some are not found
  as they are, the distinct ids are checked as cells by :func:`.check.check_table` (empty, NUL,
  length; surrounding spaces stripped) and looked up again. A row's position is then its
  dictionary index looked up in that small table;
- values: a batch whose values all lie in the declared range (two reductions,
  :func:`.numbers.all_valid`) is copied into the matrix; any other batch is checked by
  :func:`.check.check_table` for its located messages;
- decoding: when every row group fits in a batch, the row groups are decoded by two threads
  (:data:`DECODERS`, each with its own reader; pyarrow decodes outside the interpreter lock) a
  few groups ahead (:data:`AHEAD`), and handed on in file order; a file with larger row groups
  is read by one iterator, batch after batch;
- order: while the rows list the pairs in order (row r is the pair (r // E, r % E), as a dense
  export sorted by ids has them), a batch is a slice of the matrix. Rows out of that order are
  written pair by pair and a mask of the pairs seen finds the repeated ones. Pairs the table does
  not list keep 0, as in :func:`assignment.affinity.affinity_from_frame`.

The problems are those of the whole-table reader (same messages; a row's line is its 1-based
record number), at most ``MAX_PER_COLUMN`` of one kind per column, then one for the rest.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from evalpanel.callfolder.check import check_table, column_problems
from evalpanel.callfolder.numbers import all_valid
from evalpanel.callfolder.problems import MAX_PER_COLUMN, Problem, kind_of
from evalpanel.callfolder.schema import Column
from evalpanel.callfolder.tables import LINE, RawTable, check_header

BATCH_ROWS = 1 << 22  # at most 4 M rows at a time (a row group is often smaller): ~150 MB
PAIR_KEYS = ("proposal_id", "expert_id")
DECODERS = 2  # threads decoding row groups (the machines this runs on have 2 cores or more)
AHEAD = 3  # row groups decoded or being decoded ahead of the one being written


@dataclass(frozen=True, slots=True)
class PairMatrix:
    """A pair table read as a matrix."""

    values: np.ndarray  # (P, E) float32, rows and columns in sorted id order; unlisted pairs 0
    rows: int  # rows in the file
    complete: bool  # every (proposal, expert) pair is listed once


def read_pair_matrix(
    path: Path,
    columns: tuple[Column, ...],
    proposal_ids: pl.Series | None,
    expert_ids: pl.Series | None,
    *,
    batch_rows: int = BATCH_ROWS,
) -> tuple[PairMatrix | None, list[Problem]]:
    """The pair table at ``path`` (columns: the two ids, then one number column) as a matrix
    over the validated ids, and every problem found. No matrix when the file cannot be read,
    a required column is missing, or the ids are not known (``None``)."""
    file = path.name
    try:
        names = pq.read_schema(path).names
        # pre_buffer (the default) would keep about the whole file in memory as it is read
        ids = [name for name in PAIR_KEYS if name in names]
        parquet = pq.ParquetFile(path, read_dictionary=ids, pre_buffer=False)
    except Exception as exc:  # arrow errors for a damaged file
        return None, [Problem(file, None, "", f"cannot be read as Parquet: {exc}")]
    problems = check_header(file, names)
    if problems:
        return None, problems
    problems = column_problems(file, names, columns)
    if any(c.required and c.name not in names for c in columns):
        return None, problems
    if parquet.metadata.num_rows == 0:
        return None, [*problems, Problem(file, None, "", "has a header but no rows")]
    (value,) = [c for c in columns if c.name not in PAIR_KEYS]
    props = _Ids(file, _column(columns, "proposal_id"), proposal_ids, "proposals")
    experts = _Ids(file, _column(columns, "expert_id"), expert_ids, "experts")
    sink = _Capped()
    sink.add(problems)
    grid = _Grid(props.size, experts.size, min(batch_rows, parquet.metadata.num_rows))
    start = 0
    try:
        for batch in _batches(path, parquet, [*PAIR_KEYS, value.name], ids, batch_rows):
            n = batch.num_rows
            values, found_v = _values(file, batch.column(value.name), value, start)
            runs = props.shifted(batch.column("proposal_id")), experts.shifted(
                batch.column("expert_id"))
            if runs[0] and runs[1] and grid.ordered(runs[0], runs[1], start):
                grid.flat[start : start + n] = values  # rows in order: no row looked up
                sink.add(found_v)
            else:
                p, found_p = props.positions(batch.column("proposal_id"), start)
                e, found_e = experts.positions(batch.column("expert_id"), start)
                sink.add(found_p + found_e + found_v)
                grid.write(p, e, values, start)
            start += n
    except Exception as exc:  # a damaged page found while reading
        return None, [Problem(file, None, "", f"cannot be read as Parquet: {exc}")]
    if grid.repeated:
        sink.add(_repeats(file, parquet, grid, props, experts, batch_rows))
    if props.known is None or experts.known is None:
        return None, sink.problems()
    return PairMatrix(grid.matrix, start, grid.complete(start)), sink.problems()


def _batches(
    path: Path, parquet: pq.ParquetFile, columns: list[str], ids: list[str], batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """The record batches of ``columns``, in file order (see the module docstring)."""
    meta = parquet.metadata
    groups = meta.num_row_groups
    if groups < 2 or max(meta.row_group(i).num_rows for i in range(groups)) > batch_rows:
        yield from parquet.iter_batches(batch_size=batch_rows, columns=columns, use_threads=True)
        return
    local = threading.local()

    def decode(group: int) -> pa.Table:
        reader = getattr(local, "reader", None)
        if reader is None:
            reader = local.reader = pq.ParquetFile(path, read_dictionary=ids, pre_buffer=False)
        return reader.read_row_group(group, columns=columns, use_threads=False)

    pool = ThreadPoolExecutor(max_workers=DECODERS, thread_name_prefix="parquet")
    try:
        ahead: deque[Future[pa.Table]] = deque(
            pool.submit(decode, g) for g in range(min(groups, AHEAD))
        )
        following = len(ahead)
        while ahead:
            table = ahead.popleft().result()
            if following < groups:
                ahead.append(pool.submit(decode, following))
                following += 1
            yield from table.to_batches()
    finally:  # also when the reader stops early: what is queued is dropped
        pool.shutdown(wait=True, cancel_futures=True)


_DTYPES = {
    pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64,
    pa.uint8(): np.uint8, pa.uint16(): np.uint16, pa.uint32(): np.uint32, pa.uint64(): np.uint64,
    pa.float32(): np.float32, pa.float64(): np.float64,
}  # fmt: skip


def _numpy(array: pa.Array, fill: int | None = None) -> np.ndarray:
    """A numeric arrow array as numpy (no copy without nulls), nulls as ``fill``; read from its
    buffers: pyarrow's own conversion imports pandas, a second of start-up, and polars'
    ``from_arrow`` pyarrow.compute, 0.06 s (polars only for other types, or nulls unfilled)."""
    dtype = _DTYPES.get(array.type)
    if dtype is not None and (fill is not None or array.null_count == 0):
        n, at = len(array), array.offset
        if n == 0:
            return np.zeros(0, dtype=dtype)
        validity, data = array.buffers()[:2]
        values = np.frombuffer(data, dtype=dtype, count=n, offset=at * np.dtype(dtype).itemsize)
        if array.null_count == 0:
            return values
        bits = np.frombuffer(validity, dtype=np.uint8)
        valid = np.unpackbits(bits, count=at + n, bitorder="little")[at:].astype(bool)
        return np.where(valid, values, np.asarray(fill, dtype=dtype))
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    if fill is not None and series.null_count():
        series = series.fill_null(fill)
    return series.to_numpy()


def _as_type(array: pa.Array, to: pa.DataType) -> pa.Array:
    """``array`` as type ``to``. Polars' large strings (int64 offsets) become the file's strings
    (int32 offsets) by rewriting the offsets: ``cast`` would import pyarrow.compute, 0.06 s of
    start-up."""
    if array.type == to:
        return array
    if array.type == pa.large_string() and to == pa.string() and array.null_count == 0:
        offsets, data = array.buffers()[1:]
        n = len(array)
        at = np.frombuffer(offsets, dtype=np.int64, count=n + 1, offset=8 * array.offset)
        if at[-1] < 2**31:
            return pa.Array.from_buffers(to, n, [None, pa.py_buffer(at.astype(np.int32)), data])
    return array.cast(to)


def _column(columns: tuple[Column, ...], name: str) -> Column:
    return next(c for c in columns if c.name == name)


class _Ids:
    """One id column: the distinct ids of each batch checked and looked up once."""

    def __init__(self, file: str, col: Column, ids: pl.Series | None, where: str) -> None:
        self.file, self.col, self.where = file, col, where
        known = None if ids is None else ids.drop_nulls().filter(ids.drop_nulls() != "")
        self.known = None if known is None else known.unique().sort()
        self.size = 0 if self.known is None else self.known.len()
        self.enum = pl.Enum(self.known) if self.known is not None else None
        self._arrow: pa.Array | None = None  # the known ids as the file's string type
        self._sorted = [] if self.known is None else self.known.to_list()
        self._dictionary: pa.Array | None = None  # the last batch's, with its lookup
        self._lookup = np.zeros(0, dtype=np.int32)
        self._at: int | None = None  # the last batch's dictionary is a run from this position
        self._messages: dict[int, list[str]] = {}
        # what a null cell is told (the one row of a check), for batches of known ids only
        null = pl.DataFrame([pl.Series(col.name, [None], dtype=pl.String), pl.Series(LINE, [0])])
        self._null = [p.message for p in check_table(RawTable(file, null), (col,))[1]]

    def positions(self, column: pa.Array, start: int) -> tuple[np.ndarray, list[Problem]]:
        """Each row's position among the known ids (-1: none), and the rows' problems."""
        column = self._encoded(column)
        null = len(column.dictionary)  # a null cell's entry, after the dictionary's
        index = _numpy(column.indices, fill=null)
        pos = self._lookup[index]
        if not self._messages or pos.min() >= 0:
            return pos, []
        return pos, self._problems(index, start)

    def shifted(self, column: pa.Array) -> tuple[np.ndarray, int] | None:
        """When the batch has no null cell and its dictionary is a run of the known ids: the
        rows' dictionary indices and the run's first position ``at`` (a row's position is
        ``(index + at) % size``), without looking each row up."""
        column = self._encoded(column)
        if column.null_count or self._at is None:
            return None
        return _numpy(column.indices), self._at

    def _encoded(self, column: pa.Array) -> pa.DictionaryArray:
        """``column`` as a dictionary array whose dictionary has been checked."""
        if not isinstance(column, pa.DictionaryArray):
            column = column.dictionary_encode()
        dictionary = column.dictionary
        if self._dictionary is None or not dictionary.equals(self._dictionary):
            self._lookup, self._messages = self._check(dictionary)
            self._dictionary = dictionary
        return column

    def _run(self, dictionary: pa.Array) -> np.ndarray | None:
        """The entries' positions when the dictionary is a run of the sorted ids, from any of
        them round to the first (as a sorted table's row group has them: a run of proposals,
        every expert from the one its first row has): compared as one block, not looked up."""
        n, size = len(dictionary), self.size
        if self.known is None or n == 0 or n > size or dictionary.null_count:
            return None
        if self._arrow is None or self._arrow.type != dictionary.type:
            try:
                self._arrow = _as_type(self.known.to_arrow(), dictionary.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
        first = dictionary[0].as_py()
        at = bisect.bisect_left(self._sorted, first) if isinstance(first, str) else size
        if at >= size or self._sorted[at] != first:
            return None
        if at + n <= size:
            block, positions = self._arrow.slice(at, n), np.arange(at, at + n, dtype=np.int32)
        elif n == size:
            block = pa.concat_arrays([self._arrow.slice(at), self._arrow.slice(0, at)])
            positions = (np.arange(n, dtype=np.int32) + at) % n
        else:
            return None
        return np.append(positions, np.int32(-1)) if dictionary.equals(block) else None

    def _check(self, dictionary: pa.Array) -> tuple[np.ndarray, dict[int, list[str]]]:
        """The position of each entry (and of a null cell, last) and each bad entry's
        messages, as the whole-table reader words them."""
        null_only = {len(dictionary): self._null} if self._null else {}
        run = self._run(dictionary)
        self._at = None if run is None or len(dictionary) == 0 else int(run[0])
        if run is not None:
            return run, null_only
        values = pl.Series(self.col.name, pl.from_arrow(dictionary)).cast(pl.String)
        values = values.append(pl.Series(self.col.name, [None], dtype=pl.String))
        if self.enum is not None:
            direct = values.cast(self.enum, strict=False)
            if direct.null_count() == 1:  # every id is known as it is (only the null entry)
                lookup = direct.to_physical().cast(pl.Int32).fill_null(-1).to_numpy()
                return lookup, null_only
        lines = pl.int_range(0, len(values), eager=True, dtype=pl.Int64).alias(LINE)
        typed, found = check_table(RawTable(self.file, pl.DataFrame([values, lines])), (self.col,))
        messages: dict[int, list[str]] = {}
        for problem in found:
            if problem.line is not None:
                messages.setdefault(problem.line, []).append(problem.message)
        ids = typed[self.col.name]
        if self.enum is None:
            return np.full(len(values), -1, dtype=np.int32), messages
        found_at = ids.cast(self.enum, strict=False)
        unknown = ids.is_not_null() & (ids != "") & found_at.is_null()
        for entry in unknown.arg_true().to_list():
            messages.setdefault(entry, []).append(f'"{ids[entry]}" is not in {self.where}')
        lookup = found_at.to_physical().cast(pl.Int32).fill_null(-1).to_numpy()
        return lookup, messages

    def _problems(self, index: np.ndarray, start: int) -> list[Problem]:
        """The located problems of the rows whose entry is bad, by kind of message."""
        by_kind: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
        for entry, messages in self._messages.items():
            for message in messages:
                key = kind_of(Problem(self.file, None, self.col.name, message))
                by_kind.setdefault(key, []).append((entry, message))
        out: list[Problem] = []
        for entries in by_kind.values():
            bad = np.zeros(len(self._lookup), dtype=bool)
            bad[[entry for entry, _ in entries]] = True
            rows = np.flatnonzero(bad[index])
            if rows.size == 0:
                continue
            text = {entry: message for entry, message in entries}
            out += _located(
                self.file,
                self.col.name,
                rows + start + 1,
                [text[int(index[r])] for r in rows[: MAX_PER_COLUMN + 1]],
            )
        return out


def _is_summary(problem: Problem) -> bool:
    """Whether ``problem`` stands for the rest of a kind (see :func:`.problems.located`)."""
    return problem.message.startswith("... and ") and "more rows with problems" in problem.message


def _located(file: str, column: str, lines: np.ndarray, messages: list[str]) -> list[Problem]:
    """As :func:`.problems.located`: the first ``MAX_PER_COLUMN`` rows, then one for the rest
    (``messages`` need only cover the first ``MAX_PER_COLUMN + 1`` rows)."""
    out = [
        Problem(file, int(line), column, message)
        for line, message in zip(lines[:MAX_PER_COLUMN], messages, strict=False)
    ]
    if lines.size > MAX_PER_COLUMN:
        out.append(_summary(file, int(lines[MAX_PER_COLUMN]), column, lines.size - MAX_PER_COLUMN))
    return out


def _summary(file: str, line: int, column: str, rows: int) -> Problem:
    return Problem(
        file,
        line,
        column,
        f"... and {rows:,} more rows with problems in this column (fix the ones above and "
        "validate again)",
        rows=rows,
    )


def _values(
    file: str, column: pa.Array, col: Column, start: int
) -> tuple[np.ndarray, list[Problem]]:
    """The batch's numbers (bad cells 0) and their problems."""
    if column.null_count == 0 and (
        pa.types.is_floating(column.type) or pa.types.is_integer(column.type)
    ):
        values = _numpy(column)
        if all_valid(values, col):
            return values, []
    series = pl.Series(col.name, pl.from_arrow(column))
    if not series.dtype.is_numeric() and series.dtype != pl.String:
        series = series.cast(pl.String)  # as the whole-table reader casts it
    lines = pl.int_range(start + 1, start + len(series) + 1, eager=True, dtype=pl.Int64)
    typed, found = check_table(RawTable(file, pl.DataFrame([series, lines.alias(LINE)])), (col,))
    return typed[col.name].cast(pl.Float64).fill_null(0.0).to_numpy(), found


class _Grid:
    """The matrix being filled, and whether the rows so far list the pairs in order."""

    def __init__(self, n_p: int, n_e: int, batch_rows: int) -> None:
        self.n_p, self.n_e = n_p, n_e
        self.matrix = np.zeros((n_p, n_e), dtype=np.float32)
        self.flat = self.matrix.reshape(-1)  # a view: writing it fills the matrix
        self.in_order = n_p > 0 and n_e > 0
        self.seen: np.ndarray | None = None  # pairs listed, once a row is out of order
        self.repeated = 0  # rows listing a pair again
        self.first_repeats: list[tuple[int, int]] = []  # (line, pair) of the first of them
        # (r % E) for r in a batch, from any offset: the expert of each row of an ordered batch
        cycles = batch_rows // max(n_e, 1) + 2
        self._experts = np.tile(np.arange(max(n_e, 1), dtype=np.int32), cycles)

    def write(self, p: np.ndarray, e: np.ndarray, values: np.ndarray, start: int) -> None:
        n = p.size
        if self.ordered((p, 0), (e, 0), start):
            self.flat[start : start + n] = values
            return
        if self.seen is None:
            self.seen = np.zeros(self.flat.size, dtype=bool)
            if self.in_order:
                self.seen[:start] = True  # the rows before listed exactly pairs 0 .. start - 1
            self.in_order = False
        rows = np.flatnonzero((p >= 0) & (e >= 0))
        codes = p[rows].astype(np.int64) * self.n_e + e[rows]
        if codes.size == 0:
            return
        order = np.argsort(codes, kind="stable")
        again = self.seen[codes]  # listed in an earlier batch
        ordered = codes[order]
        again[order[1:]] |= ordered[1:] == ordered[:-1]  # or earlier in this one
        if again.any():
            repeats = np.flatnonzero(again)
            self.repeated += repeats.size
            room = MAX_PER_COLUMN + 1 - len(self.first_repeats)
            self.first_repeats += [
                (start + int(rows[i]) + 1, int(codes[i])) for i in repeats[:room]
            ]
        self.seen[codes] = True
        self.flat[codes] = values[rows]

    def ordered(
        self, proposals: tuple[np.ndarray, int], experts: tuple[np.ndarray, int], start: int
    ) -> bool:
        """Whether row ``start + i`` of the batch is pair ``start + i``: the experts cycle
        through 0 .. E - 1, and the proposal changes exactly where a cycle starts, by one.

        Each side is ``(index, at)``: row ``i`` is id ``(index[i] + at) % size`` (positions
        with ``at = 0``, or the dictionary indices of a run, see :meth:`_Ids.shifted`). So
        row ``i`` is expert ``(start + i) % E`` exactly when its index is ``(start + i - at) %
        E``, and the proposals are shifted only where a cycle starts."""
        (p_index, p_at), (e_index, e_at) = proposals, experts
        n = p_index.size
        if not (self.in_order and start + n <= self.flat.size and e_index.size == n):
            return False
        offset = start % self.n_e
        shift = (offset - e_at) % self.n_e
        if not np.array_equal(e_index, self._experts[shift : shift + n]):
            return False
        firsts = np.arange(self.n_e - offset, n, self.n_e)
        runs = np.concatenate(([0], firsts))
        at_runs = p_index[runs].astype(np.int64) + p_at
        at_runs[at_runs >= self.n_p] -= self.n_p  # a run that wraps round; -1 (unknown) stays
        if not np.array_equal(at_runs, start // self.n_e + np.arange(runs.size)):
            return False
        return np.array_equal(np.flatnonzero(p_index[1:] != p_index[:-1]) + 1, firsts)

    def complete(self, rows: int) -> bool:
        if self.in_order:
            return rows == self.flat.size
        return self.seen is not None and self.repeated == 0 and bool(self.seen.all())


def _repeats(
    file: str,
    parquet: pq.ParquetFile,
    grid: _Grid,
    props: _Ids,
    experts: _Ids,
    batch_rows: int,
) -> list[Problem]:
    """The rows that list a pair again, each with the line of the pair's first row (a second
    pass over the ids, for the repeats shown only)."""
    assert props.known is not None and experts.known is not None
    shown = grid.first_repeats[:MAX_PER_COLUMN]
    wanted = np.unique(np.array([code for _, code in shown], dtype=np.int64))
    last = max(line for line, _ in shown)
    first: dict[int, int] = {}
    start = 0
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=list(PAIR_KEYS)):
        if start >= last:
            break
        p, _ = props.positions(batch.column("proposal_id"), start)
        e, _ = experts.positions(batch.column("expert_id"), start)
        rows = np.flatnonzero((p >= 0) & (e >= 0))
        codes = p[rows].astype(np.int64) * grid.n_e + e[rows]
        for i in np.flatnonzero(np.isin(codes, wanted)):
            first.setdefault(int(codes[i]), start + int(rows[i]) + 1)
        start += batch.num_rows
    column = ", ".join(PAIR_KEYS)
    out = [
        Problem(
            file,
            line,
            column,
            f'row "{props.known[code // grid.n_e]}, {experts.known[code % grid.n_e]}" appears '
            f"again (first on line {first[code]})",
        )
        for line, code in shown
    ]
    if grid.repeated > MAX_PER_COLUMN:
        line = grid.first_repeats[MAX_PER_COLUMN][0]
        out.append(_summary(file, line, column, grid.repeated - MAX_PER_COLUMN))
    return out


class _Capped:
    """Problems gathered batch by batch, at most ``MAX_PER_COLUMN`` of one kind per column
    over the whole file (each batch's own are capped the same way), then one for the rest."""

    def __init__(self) -> None:
        self._kept: list[Problem] = []
        self._shown: dict[tuple[str, str, str], int] = {}
        self._rest: dict[tuple[str, str, str], Problem] = {}  # the summary of each kind

    def add(self, problems: list[Problem]) -> None:
        kind: tuple[str, str, str] | None = None
        for problem in problems:
            if _is_summary(problem) and kind is not None and kind[1] == problem.column:
                self._more(kind, problem.line, problem.rows)  # the batch's summary of a kind
                continue
            kind = kind_of(problem)
            if self._shown.get(kind, 0) < MAX_PER_COLUMN:
                self._shown[kind] = self._shown.get(kind, 0) + 1
                self._kept.append(problem)
            else:
                self._more(kind, problem.line, 1)

    def _more(self, kind: tuple[str, str, str], line: int | None, rows: int) -> None:
        earlier = self._rest.get(kind)
        file, column = kind[0], kind[1]
        if earlier is None:
            self._rest[kind] = _summary(file, line or 0, column, rows)
        else:
            self._rest[kind] = _summary(file, earlier.line or 0, column, earlier.rows + rows)

    def problems(self) -> list[Problem]:
        return [*self._kept, *self._rest.values()]
