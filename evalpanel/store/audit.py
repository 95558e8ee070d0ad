"""The append-only audit log: who did what to which entity, with its state before and after.

Every service records its write with :func:`record` on the connection of that write, so the
log line commits or rolls back with it. Refused accesses (decided in
:mod:`~evalpanel.store.access`, which raises :class:`PermissionDenied`) are recorded by the engine
in a transaction of their own, once the refused operation's transaction has rolled back.
:func:`audit_frame` returns the log as a polars frame with columns ``audit_id, at,
user_id, role, action, entity, entity_id, call_id, before, after`` (the last two JSON text),
sorted by ``audit_id``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import can_read_audit, require
from evalpanel.store.actors import SYSTEM, Actor
from evalpanel.store.engine import reading
from evalpanel.store.tables import audit_log

__all__ = ["AUDIT_SCHEMA", "SYSTEM", "Actor", "audit_frame", "now", "record"]


def now() -> datetime:
    return datetime.now(UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record(
    conn: sa.Connection,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    *,
    call_id: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one line to the audit log, inside the caller's transaction."""
    conn.execute(
        audit_log.insert().values(
            at=now(),
            user_id=actor.user_id,
            role=actor.role,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            call_id=call_id,
            before=_jsonable(before),
            after=_jsonable(after),
        )
    )


AUDIT_SCHEMA: dict[str, pl.DataType] = {
    "audit_id": pl.Int64(),
    "at": pl.String(),
    "user_id": pl.Int64(),
    "role": pl.String(),
    "action": pl.String(),
    "entity": pl.String(),
    "entity_id": pl.String(),
    "call_id": pl.String(),
    "before": pl.String(),
    "after": pl.String(),
}


def audit_frame(engine: sa.Engine, actor: Actor, call_id: str | None = None) -> pl.DataFrame:
    """The audit log (of one call, or all of it for the system actor), for managers only."""
    with reading(engine) as conn:
        require(can_read_audit(conn, actor, call_id), actor, "read", "audit_log", call_id or "*",
                call_id=call_id)
        stmt = sa.select(audit_log).order_by(audit_log.c.audit_id)
        if call_id is not None:
            stmt = stmt.where(audit_log.c.call_id == call_id)
        rows = [
            (
                r.audit_id,
                r.at.isoformat() if r.at else None,
                r.user_id,
                r.role,
                r.action,
                r.entity,
                r.entity_id,
                r.call_id,
                None if r.before is None else json.dumps(r.before, sort_keys=True),
                None if r.after is None else json.dumps(r.after, sort_keys=True),
            )
            for r in conn.execute(stmt)
        ]
    return pl.DataFrame(rows, schema=AUDIT_SCHEMA, orient="row")
