"""Building polars frames from query rows with declared schemas (empty results keep dtypes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa


def rows_frame(
    rows: Iterable[Sequence[Any]], schema: dict[str, pl.DataType], sort: Sequence[str] = ()
) -> pl.DataFrame:
    """A frame of ``rows`` (tuples in ``schema`` order), sorted by ``sort`` columns."""
    frame = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    return frame.sort(list(sort)) if sort else frame


def query_frame(
    conn: sa.Connection, stmt: sa.Select[Any], schema: dict[str, pl.DataType],
    sort: Sequence[str] = (),
) -> pl.DataFrame:
    """Run ``stmt`` (its columns in ``schema`` order) and return the rows as a frame."""
    return rows_frame(conn.execute(stmt), schema, sort)


def require_columns(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    from evalpanel.store.errors import InvalidInput

    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInput(f"{what} needs the columns {', '.join(columns)}; "
                           f"missing {', '.join(missing)} (got {', '.join(frame.columns)})")


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The integer primary key of a single-row INSERT."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])
