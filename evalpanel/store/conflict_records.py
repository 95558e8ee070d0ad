"""The recorded conflicts of interest of a call, and removing a declared one.

:func:`list_conflicts` returns ``conflict_id, expert_id, proposal_id, org_id, kind, since,
note, source`` sorted by ``conflict_id`` (``since`` an ISO date text or null; ``source``
``import`` from ``conflicts.csv`` or ``declared`` later). Only declared rows can be removed:
imported ones change by re-importing the call folder. Removing lifts the exclusion for future
assignments; tasks already declined stay declined (their replacements are not undone).
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import require_manager, require_same_call
from evalpanel.store.audit import Actor, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidState, NotFound
from evalpanel.store.rows import one_row
from evalpanel.store.tables import conflicts

CONFLICT_SCHEMA: dict[str, pl.DataType] = {
    "conflict_id": pl.Int64(),
    "expert_id": pl.String(),
    "proposal_id": pl.String(),
    "org_id": pl.String(),
    "kind": pl.String(),
    "since": pl.String(),
    "note": pl.String(),
    "source": pl.String(),
}


def list_conflicts(
    engine: sa.Engine, actor: Actor, call_id: str, *, source: str | None = None
) -> pl.DataFrame:
    """Every recorded conflict of the call (imported and declared), for its managers; only
    those of ``source`` (``"declared"``, say) when given."""
    stmt = sa.select(
        conflicts.c.conflict_id,
        conflicts.c.expert_id,
        conflicts.c.proposal_id,
        conflicts.c.org_id,
        conflicts.c.kind,
        conflicts.c.since,
        conflicts.c.note,
        conflicts.c.source,
    ).where(conflicts.c.call_id == call_id)
    if source is not None:
        stmt = stmt.where(conflicts.c.source == source)
    with reading(engine) as conn:
        require_manager(conn, actor, "read the conflicts of", call_id)
        rows = [
            (*r[:5], None if r.since is None else r.since.isoformat(), *r[6:])
            for r in conn.execute(stmt)
        ]
    return pl.DataFrame(rows, schema=CONFLICT_SCHEMA, orient="row").sort("conflict_id")


def remove_conflict(
    engine: sa.Engine, actor: Actor, conflict_id: int, *, call_id: str | None = None
) -> None:
    """A manager of the call removes a declared conflict (e.g. declared by mistake); the row
    is deleted and the audit log keeps it. Imported conflicts are refused, and with
    ``call_id`` (:class:`CallMismatch`) a conflict of another call."""
    with writing(engine) as conn:
        row = one_row(conn, conflicts, f"conflict {conflict_id}", conflict_id=conflict_id)
        require_manager(conn, actor, "remove conflicts in", row["call_id"])
        require_same_call(actor, "remove", "conflict", conflict_id, row["call_id"], call_id)
        if row["source"] != "declared":
            raise InvalidState(
                f"conflict {conflict_id} comes from the call folder's conflicts.csv; "
                "change the folder and re-import the call to remove it"
            )
        done = conn.execute(
            conflicts.delete().where(
                conflicts.c.conflict_id == conflict_id, conflicts.c.source == "declared"
            )
        ).rowcount
        if not done:
            raise NotFound(f"conflict {conflict_id} was removed meanwhile")
        record(
            conn,
            actor,
            "remove",
            "conflict",
            conflict_id,
            call_id=row["call_id"],
            before={k: row[k] for k in CONFLICT_SCHEMA if k != "conflict_id"},
        )
