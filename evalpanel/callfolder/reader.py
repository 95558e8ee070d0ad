"""Read a call folder, check all of it, and return a :class:`CallFolder` or every problem.

Nothing is returned until the whole folder has been checked: single cells first (types,
vocabularies, ranges), then the references between tables. All problems come in one
:class:`CallFolderError`, each as ``file:line: column: problem``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import polars as pl

from evalpanel.callfolder.check import check_table, max_grant_problems
from evalpanel.callfolder.config import FILE as CONFIG_FILE
from evalpanel.callfolder.config import parse_call_toml
from evalpanel.callfolder.grid import is_grid
from evalpanel.callfolder.model import CallConfig, CallFolder
from evalpanel.callfolder.pairs import PairMatrix, read_pair_matrix
from evalpanel.callfolder.problems import CallFolderError, Problem
from evalpanel.callfolder.schema import REQUIRED_TABLES, TABLES, Column, polars_schema
from evalpanel.callfolder.scheme import check_score_rows, scheme_for
from evalpanel.callfolder.tables import FORMATS, LINE, RawTable, find_table, read_table

# the order the tables are read in: the matrix needs only the proposals' and experts' ids, so it
# is decoded in the background while the partners and conflicts are read and checked
READ_ORDER = ("proposals", "experts", "affinity", "partners", "conflicts", "scores")
SORT_KEYS = {
    "proposals": ["proposal_id"],
    "partners": ["proposal_id", "org_id", "org_name"],
    "experts": ["expert_id"],
    "conflicts": ["expert_id", "proposal_id", "org_id"],
    "affinity": ["proposal_id", "expert_id"],
    "scores": ["proposal_id", "expert_id", "criterion"],
}


def read_call(
    folder: str | Path, *, affinity_matrix: bool = False, wait: bool = True,
    hash_inputs: bool = True,
) -> CallFolder:
    """Read and check ``folder``; raise :class:`CallFolderError` listing every problem.

    ``affinity_matrix``: read an ``affinity.parquet`` batch by batch straight into the (P, E)
    float32 matrix (:mod:`.pairs`; ``CallFolder.affinity_matrix``, no ``affinity`` frame), as
    ``evalpanel assign`` does: a dense table of P × E rows then needs little more memory than
    the matrix. Without it every table is returned as a frame (for the store's import).

    The matrix is decoded in a background thread (pyarrow, mostly outside the interpreter lock)
    while the other tables are checked. ``wait=False``: when the rest of the folder is valid,
    the call is returned without waiting for it; ``CallFolder.affinity_matrix`` (or
    ``check_affinity``) then waits and raises the table's :class:`CallFolderError` if it has
    problems (so ``evalpanel assign`` finds the conflicts meanwhile). When another file has
    problems, the table's are always waited for and listed with them, in the usual order.

    ``hash_inputs=False``: the input files are not hashed (``CallFolder.content_hash`` stays
    empty), for a run that records no batch; sha256 over a dense affinity.parquet of gigabytes
    costs seconds of a core."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CallFolderError([Problem(str(folder), None, "", "is not a folder")])
    problems: list[Problem] = []
    config: CallConfig | None = None
    config_text = ""
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        problems.append(
            Problem(CONFIG_FILE, None, "", "missing: every call folder needs call.toml")
        )
    else:
        try:
            text = config_path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            problems.append(Problem(CONFIG_FILE, None, "", "not UTF-8: save the file as UTF-8"))
        else:
            config, found = parse_call_toml(text)
            problems += found
            config_text = text

    frames: dict[str, pl.DataFrame] = {}
    files: dict[str, str] = {}
    grid: set[str] = set()  # pair tables proven to list every pair once, in id order
    matrix: Future[PairMatrix] | None = None
    found_in: dict[str, list[Problem]] = {table: [] for table in TABLES}
    located = {table: find_table(folder, table) for table in TABLES}
    used = [config_path] if config_path.is_file() else []
    used += [path for path, _ in located.values() if path is not None]
    # Parquet files (polars reads them without holding the GIL) are read, and every file
    # hashed, in the background while the CSV files are parsed and checked
    with ThreadPoolExecutor(max_workers=1) as pool:
        early = {
            table: pool.submit(read_table, path)
            for table, (path, _) in located.items()
            if path is not None and path.suffix == ".parquet"
            and not (affinity_matrix and table == "affinity")
        }
        hashing = pool.submit(_hash_files, used) if hash_inputs else None
        for table in READ_ORDER:
            columns = TABLES[table]
            path, found = located[table]
            found_in[table] += found
            if path is None:
                if table in REQUIRED_TABLES and not found:
                    found_in[table].append(
                        Problem(
                            table + ".csv",
                            None,
                            "",
                            f"missing: the call needs {table}.csv (or .xlsx, .parquet)",
                        )
                    )
                continue
            if affinity_matrix and table == "affinity" and path.suffix == ".parquet":
                matrix = _in_background(
                    _matrix, path, columns, _ids(frames, "proposals"), _ids(frames, "experts")
                )
                files[table] = path.name
                continue
            raw, found = early[table].result() if table in early else read_table(path)
            found_in[table] += found
            if raw is None:
                continue
            if table == "affinity" and _grid_of(raw, columns, frames):
                grid.add(table)
                typed, found = _check_grid(raw, columns)
            else:
                typed, found = check_table(raw, columns)
            found_in[table] += found
            frames[table] = typed
            files[table] = raw.file
        content_hash = hashing.result() if hashing is not None else ""
    # each file's problems in the order of TABLES, whatever the order the files were read in
    matrix_at = 0  # where the matrix's problems go among the others
    for table in TABLES:
        problems += found_in[table]
        if table == "affinity":
            matrix_at = len(problems)

    # tables already in strictly increasing key order (e.g. an affinity.parquet of millions of
    # rows written sorted by ids) need neither a duplicate search on those keys nor a sort
    ordered = grid | {
        table
        for table, frame in frames.items()
        if table not in grid
        and _in_order(frame.select(SORT_KEYS[table]), SORT_KEYS[table], strict=True)
    }
    problems += _cross_checks(frames, files, config, ordered, grid)
    scheme = None
    if config is not None:
        scheme, found = scheme_for(config, config_text)
        problems += found
        if scheme is not None and "scores" in frames:
            problems += check_score_rows(files["scores"], frames["scores"], scheme)
    invalid = bool(problems) or config is None or scheme is None
    if matrix is not None and (invalid or wait):
        try:
            matrix.result()
        except CallFolderError as exc:
            problems[matrix_at:matrix_at] = exc.problems
    if problems or config is None or scheme is None:
        raise CallFolderError(problems)

    def final(table: str) -> pl.DataFrame:
        frame = _columns(frames[table], exclude=[LINE])
        return frame if table in ordered else frame.sort(SORT_KEYS[table], nulls_last=True)

    conflicts = (
        final("conflicts")
        if "conflicts" in frames
        else pl.DataFrame(schema=polars_schema("conflicts"))
    )
    return CallFolder(
        path=folder,
        config=config,
        proposals=final("proposals"),
        partners=final("partners"),
        experts=final("experts"),
        conflicts=conflicts,
        affinity=final("affinity") if "affinity" in frames else None,
        frame_grid="affinity" in grid,
        pair_matrix=matrix,
        scores=final("scores") if "scores" in frames else None,
        content_hash=content_hash,
        scheme=scheme,
    )


def _matrix(
    path: Path, columns: tuple[Column, ...], proposal_ids: pl.Series | None,
    expert_ids: pl.Series | None,
) -> PairMatrix:
    """:func:`.pairs.read_pair_matrix`, its problems raised."""
    matrix, problems = read_pair_matrix(path, columns, proposal_ids, expert_ids)
    if problems or matrix is None:
        raise CallFolderError(problems)
    return matrix


def _in_background(
    function: Callable[..., PairMatrix], *args: object
) -> Future[PairMatrix]:
    """``function(*args)`` running in a thread of its own, which ends when it returns (the
    pool is shut down at once: nothing is left open for the caller to close)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="affinity")
    try:
        return pool.submit(function, *args)
    finally:
        pool.shutdown(wait=False)


def _ids(frames: dict[str, pl.DataFrame], table: str) -> pl.Series | None:
    """The id column of the ``proposals`` or ``experts`` frame read so far."""
    key = SORT_KEYS[table][0]
    return frames[table][key] if table in frames else None


def _grid_of(
    raw: RawTable, columns: tuple[Column, ...], frames: dict[str, pl.DataFrame]
) -> bool:
    """Whether the pair table ``raw`` has its columns and is the full grid of the proposals ×
    experts read so far (see :mod:`evalpanel.callfolder.grid`)."""
    if "proposals" not in frames or "experts" not in frames:
        return False
    if any(c.required and c.name not in raw.frame.columns for c in columns):
        return False
    return is_grid(raw.frame, frames["proposals"]["proposal_id"], frames["experts"]["expert_id"])


def _check_grid(raw: RawTable, columns: tuple[Column, ...]) -> tuple[pl.DataFrame, list[Problem]]:
    """A grid's cells: its id columns are proven by :func:`_grid_of`; the rest are checked."""
    ids = [c.name for c in columns if c.kind == "id"]
    rest = tuple(c for c in columns if c.kind != "id")
    typed, found = check_table(RawTable(raw.file, _columns(raw.frame, exclude=ids)), rest)
    return pl.DataFrame([raw.frame[c] for c in ids] + typed.get_columns()), found


def _columns(frame: pl.DataFrame, *, exclude: list[str]) -> pl.DataFrame:
    """``frame`` without the ``exclude`` columns, sharing its memory (an eager ``drop`` or
    ``select`` first copies a many-chunk frame, as read from a large Parquet file, into one)."""
    return pl.DataFrame([s for s in frame.get_columns() if s.name not in exclude])


def _hash_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as file:  # in pieces: an affinity.parquet may be gigabytes
            digest.update(hashlib.file_digest(file, "sha256").digest())
    return digest.hexdigest()


def _problems(file: str, column: str, bad: pl.DataFrame, message: pl.Expr) -> list[Problem]:
    rows = bad.select(pl.col(LINE), message.alias("__msg__")).sort(LINE)
    return [Problem(file, int(line), column, str(msg)) for line, msg in rows.iter_rows()]


def _in_order(frame: pl.DataFrame, keys: list[str], *, strict: bool = False) -> bool:
    """True when no key is null and the rows are in increasing order of ``keys``; with
    ``strict``, also no two rows have the same keys. One pass comparing each row with the one
    before it."""
    if frame.select(pl.any_horizontal(pl.col(keys).is_null().any())).item():
        return False
    if frame.height < 2:
        return True
    earlier, same = pl.lit(False), pl.lit(True)
    for key in keys:
        before = pl.col(key).shift(1)
        earlier = earlier | (same & (before < pl.col(key)))
        same = same & (before == pl.col(key))
    ok = earlier if strict else earlier | same
    return bool(frame.select(ok.slice(1).all()).item())


def _duplicates(file: str, frame: pl.DataFrame, keys: list[str], what: str) -> list[Problem]:
    present = frame.drop_nulls(keys)
    if not present.select(keys).is_duplicated().any():  # the usual case: one hash pass
        return []
    first = present.group_by(keys).agg(pl.col(LINE).min().alias("__first__"))
    dup = present.join(first, on=keys).filter(pl.col(LINE) != pl.col("__first__"))
    label = pl.concat_str([pl.col(k) for k in keys], separator=", ")
    return _problems(
        file,
        keys[-1] if len(keys) == 1 else ", ".join(keys),
        dup,
        pl.format(
            '{} "{}" appears again (first on line {})', pl.lit(what), label, pl.col("__first__")
        ),
    )


def _unknown(
    file: str, frame: pl.DataFrame, column: str, known: pl.Series, where: str
) -> list[Problem]:
    bad = frame.filter(
        pl.col(column).is_not_null()
        & (pl.col(column) != "")
        & ~pl.col(column).is_in(known.implode())
    )
    return _problems(
        file, column, bad, pl.format('"{}" is not in {}', pl.col(column), pl.lit(where))
    )


def _cross_checks(
    frames: dict[str, pl.DataFrame],
    files: dict[str, str],
    config: CallConfig | None,
    ordered: set[str],
    grid: set[str],
) -> list[Problem]:
    """References between tables and repeated keys; tables in ``ordered`` are known to have
    no repeated key (see :func:`_in_order`), tables in ``grid`` only known ids."""
    problems: list[Problem] = []
    proposals = frames.get("proposals")
    experts = frames.get("experts")
    partners = frames.get("partners")
    if proposals is not None:
        if "proposals" not in ordered:
            problems += _duplicates(files["proposals"], proposals, ["proposal_id"], "proposal")
        if config is not None:
            lots = pl.Series(list(config.lots), dtype=pl.String)
            problems += _unknown(
                files["proposals"],
                proposals,
                "lot",
                lots,
                f"{CONFIG_FILE} (lots: {', '.join(config.lots)})",
            )
            problems += max_grant_problems(
                files["proposals"],
                proposals,
                {
                    lot.id: lot.max_grant_eur
                    for lot in config.lots.values()
                    if lot.max_grant_eur is not None
                },
            )
            per_ecosystem = [lot.id for lot in config.lots.values() if lot.one_per == "ecosystem"]
            bad = proposals.filter(
                pl.col("lot").is_in(per_ecosystem) & (pl.col("ecosystems").list.len() == 0)
            )
            problems += _problems(
                files["proposals"],
                "ecosystems",
                bad,
                pl.format(
                    'names no valid ecosystem, but lot "{}" funds one proposal per ecosystem',
                    pl.col("lot"),
                ),
            )
    if experts is not None:
        if "experts" not in ordered:
            problems += _duplicates(files["experts"], experts, ["expert_id"], "expert")
        bad = experts.filter(pl.col("min_load") > pl.col("max_load"))
        problems += _problems(
            files["experts"],
            "min_load",
            bad,
            pl.format("{} is above max_load {}", pl.col("min_load"), pl.col("max_load")),
        )
    proposal_ids = proposals["proposal_id"] if proposals is not None else None
    expert_ids = experts["expert_id"] if experts is not None else None
    if partners is not None:
        file = files["partners"]
        if proposal_ids is not None:
            problems += _unknown(file, partners, "proposal_id", proposal_ids, "proposals")
        problems += _duplicates(file, partners, ["proposal_id", "org_id"], "partner")
        coordinators = partners.filter(pl.col("role") == "coordinator")
        first = coordinators.group_by("proposal_id").agg(pl.col(LINE).min().alias("__first__"))
        extra = coordinators.join(first, on="proposal_id").filter(
            pl.col(LINE) != pl.col("__first__")
        )
        problems += _problems(
            file,
            "role",
            extra,
            pl.format(
                'a second coordinator for proposal "{}" (the first is on line {})',
                pl.col("proposal_id"),
                pl.col("__first__"),
            ),
        )
        if proposals is not None:
            lacking = proposals.filter(
                ~pl.col("proposal_id").is_in(coordinators["proposal_id"].implode())
            )
            problems += _problems(
                files["proposals"],
                "proposal_id",
                lacking,
                pl.format('"{}" has no coordinator in {}', pl.col("proposal_id"), pl.lit(file)),
            )
    conflicts = frames.get("conflicts")
    if conflicts is not None:
        file = files["conflicts"]
        if expert_ids is not None:
            problems += _unknown(file, conflicts, "expert_id", expert_ids, "experts")
        if proposal_ids is not None:
            problems += _unknown(file, conflicts, "proposal_id", proposal_ids, "proposals")
        orgs = [f["org_id"] for f in (partners, experts) if f is not None]
        if orgs:
            known = pl.concat(orgs).drop_nulls().unique()
            problems += _unknown(
                file,
                conflicts,
                "org_id",
                known,
                "partners or experts (no organisation has that id)",
            )
        neither = conflicts.filter(pl.col("proposal_id").is_null() == pl.col("org_id").is_null())
        problems += _problems(
            file,
            "proposal_id",
            neither,
            pl.lit(
                "set exactly one of proposal_id (a conflict with one proposal) or org_id "
                "(with every proposal of that organisation)"
            ),
        )
    for table in ("affinity", "scores"):
        frame = frames.get(table)
        if frame is None or table in grid:
            continue
        if proposal_ids is not None:
            problems += _unknown(files[table], frame, "proposal_id", proposal_ids, "proposals")
        if expert_ids is not None:
            problems += _unknown(files[table], frame, "expert_id", expert_ids, "experts")
        if table not in ordered:
            problems += _duplicates(files[table], frame, SORT_KEYS[table], "row")
    return problems


__all__ = ["FORMATS", "CallFolderError", "read_call"]
