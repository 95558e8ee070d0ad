"""The append-only audit log: who did what to which entity, with its state before and after.

Every service records its write with :func:`record` on the connection of that write, so the
log line commits or rolls back with it. Refused accesses are recorded with :func:`deny` in a
transaction of their own (the refused operation's transaction is rolled back) and raise
:class:`PermissionDenied`. :func:`audit_frame` returns the log as a polars frame with columns
``audit_id, at, user_id, role, action, entity, entity_id, call_id, before, after`` (the last two
JSON text), sorted by ``audit_id``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, NoReturn

import polars as pl
import sqlalchemy as sa

from evalpanel.store.engine import reading
from evalpanel.store.errors import PermissionDenied
from evalpanel.store.tables import audit_log, call_managers

Role = Literal["manager", "expert", "applicant", "system"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who calls a service: a user id and role. ``SYSTEM`` is the local operator (the CLI)."""

    user_id: int | None
    role: Role

    def __str__(self) -> str:
        return "system" if self.user_id is None else f"{self.role} #{self.user_id}"


SYSTEM = Actor(None, "system")


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


def deny(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    why: str,
    *,
    call_id: str | None = None,
) -> NoReturn:
    """Raise :class:`PermissionDenied`; :func:`~evalpanel.store.engine.writing` and
    :func:`~evalpanel.store.engine.reading` log it once their transaction has rolled back."""
    raise PermissionDenied(
        f"{actor} may not {action} {entity} {entity_id}: {why}",
        audit={
            "user_id": actor.user_id,
            "role": actor.role,
            "action": "denied:" + action,
            "entity": entity,
            "entity_id": str(entity_id),
            "call_id": call_id,
            "after": {"reason": why},
        },
    )


def manages(conn: sa.Connection, actor: Actor, call_id: str) -> bool:
    """True for the system actor and for managers of ``call_id``."""
    if actor.role == "system":
        return True
    if actor.role != "manager" or actor.user_id is None:
        return False
    found = conn.execute(
        sa.select(call_managers.c.user_id).where(
            call_managers.c.call_id == call_id, call_managers.c.user_id == actor.user_id
        )
    ).first()
    return found is not None


def require_manager(conn: sa.Connection, actor: Actor, action: str, call_id: str) -> None:
    if not manages(conn, actor, call_id):
        deny(
            actor,
            action,
            "call",
            call_id,
            "only a manager of this call may do this",
            call_id=call_id,
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
        allowed = actor.role == "system" if call_id is None else manages(conn, actor, call_id)
        if not allowed:
            deny(
                actor,
                "read",
                "audit_log",
                call_id or "*",
                "only the call's managers may read its audit log",
                call_id=call_id,
            )
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
