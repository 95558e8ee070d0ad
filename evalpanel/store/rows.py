"""One stored record by its key (or the :class:`NotFound` that says it does not exist), and the
one writer of the three criterion score tables."""

from __future__ import annotations

import sqlalchemy as sa

from evalpanel.store.errors import NotFound
from evalpanel.store.tables import calls

__all__ = ["one_row", "replace_scores", "require_call"]


def one_row(conn: sa.Connection, table: sa.Table, what: str, **key: object) -> sa.RowMapping:
    """The row of ``table`` whose columns equal ``key``; :class:`NotFound` ("no {what}")
    when there is none. ``what`` names the record as a user reads it, e.g. ``"task 12"``."""
    stmt = sa.select(table).where(*(table.c[column] == value for column, value in key.items()))
    row = conn.execute(stmt).mappings().first()
    if row is None:
        raise NotFound(f"no {what}")
    return row


def require_call(conn: sa.Connection, call_id: str) -> None:
    """:class:`NotFound` unless the call ``call_id`` is stored."""
    if conn.execute(sa.select(calls.c.call_id).where(calls.c.call_id == call_id)).first() is None:
        raise NotFound(f"no call {call_id!r} in this database; import it first")


def replace_scores(
    conn: sa.Connection, table: sa.Table, rows: list[dict[str, object]], **owner: object
) -> None:
    """Replace the ``criterion, score, comment`` rows of one owner (an evaluation version, a
    consolidation, one scorer of a rehearsal) in ``table``: the one writer of the three score
    tables. ``rows`` come checked from :func:`evalpanel.store.evaluations.score_rows`."""
    match = [table.c[column] == value for column, value in owner.items()]
    conn.execute(table.delete().where(*match))
    if rows:
        conn.execute(table.insert(), [{**row, **owner} for row in rows])
