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
    conn: sa.Connection,
    stmt: sa.Select[Any],
    schema: dict[str, pl.DataType],
    sort: Sequence[str] = (),
) -> pl.DataFrame:
    """Run ``stmt`` (its columns in ``schema`` order) and return the rows as a frame."""
    return rows_frame(conn.execute(stmt), schema, sort)


def require_columns(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    from evalpanel.store.errors import InvalidInput

    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInput(
            f"{what} needs the columns {', '.join(columns)}; "
            f"missing {', '.join(missing)} (got {', '.join(frame.columns)})"
        )


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The integer primary key of a single-row INSERT."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])


_SCALARS = (str, int, float, type(None))


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows inside the caller's transaction. Rows of plain scalars (str, int,
    float, None) go straight to the driver — ``COPY`` on PostgreSQL, ``executemany`` on
    SQLite — since SQLAlchemy's per-row parameter handling dominates otherwise; other rows
    (JSON, dates) take SQLAlchemy's executemany."""
    if not rows:
        return
    names = list(rows[0])
    plain = all(isinstance(v, _SCALARS) for v in rows[0].values()) and not any(
        isinstance(table.c[n].type, sa.JSON | sa.DateTime | sa.Date) for n in names
    )
    dialect = conn.dialect.name
    if not plain or dialect not in ("postgresql", "sqlite"):
        conn.execute(table.insert(), list(rows))
        return
    values = [tuple(row[n] for n in names) for row in rows]
    cols = ", ".join(f'"{n}"' for n in names)
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    if dialect == "postgresql":
        statement = f'COPY "{table.name}" ({cols}) FROM STDIN'
    else:
        marks = ", ".join("?" for _ in names)
        statement = f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks})'
    error = conn.dialect.loaded_dbapi.Error
    cur = dbapi.cursor()
    try:
        if dialect == "postgresql":
            with cur.copy(statement) as copy:
                for value in values:
                    copy.write_row(value)
        else:
            cur.executemany(statement, values)
    except error as exc:  # the same exception classes as SQLAlchemy's own executions
        raise sa.exc.DBAPIError.instance(statement, None, exc, error) from exc
    finally:
        cur.close()
