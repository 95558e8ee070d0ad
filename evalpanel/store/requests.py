"""Requests to the call's manager about a submitted evaluation, in one vocabulary.

Two kinds (:class:`~evalpanel.store.tables.RequestKind`): a *correction* of an evaluation whose
author could already see other experts' scores, and a *conflict* of interest declared on a
submitted task. Both go ``pending`` → ``approved`` or ``refused``
(:class:`~evalpanel.store.tables.RequestState`); the manager decides with
:mod:`evalpanel.store.decisions`. A task has at most one pending request of each kind.

A correction request names the evaluation version it authorises (``version_no``): the next
version of the task's evaluation. A conflict request keeps the declaration (``kind``, ``note``,
``org_id``) in ``details`` and changes nothing until it is approved.

:func:`list_requests` returns ``request_id, kind, state, proposal_id, expert_id, task_id,
reason, version_no, decision_note`` sorted by ``request_id``: every request of the call for its
managers, an expert's own for an expert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from evalpanel.store.audit import Actor, now, record
from evalpanel.store.engine import reading
from evalpanel.store.errors import InvalidInput, InvalidState
from evalpanel.store.frames import inserted_id, query_frame
from evalpanel.store.queue import call_member
from evalpanel.store.rows import one_row
from evalpanel.store.tables import requests
from evalpanel.vocab import RequestKind, RequestState

REQUEST_SCHEMA: dict[str, pl.DataType] = {
    "request_id": pl.Int64(),
    "kind": pl.String(),
    "state": pl.String(),
    "proposal_id": pl.String(),
    "expert_id": pl.String(),
    "task_id": pl.Int64(),
    "reason": pl.String(),
    "version_no": pl.Int64(),
    "decision_note": pl.String(),
}


def open_request(
    conn: sa.Connection,
    actor: Actor,
    task: sa.RowMapping,
    kind: RequestKind,
    reason: str,
    *,
    version_no: int | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Insert a pending request on ``task`` inside the caller's transaction; returns its id.
    Refused when the reason is empty or the task already has a pending request of this kind."""
    if not reason.strip():
        raise InvalidInput(f"say why (the reason of the {kind.value} request)")
    waiting = pending_request(conn, int(task["task_id"]), kind)
    if waiting is not None:
        raise InvalidState(
            f"task {task['task_id']} already has {kind.value} request {waiting['request_id']} "
            "waiting for the manager's decision"
        )
    values = {
        "call_id": task["call_id"],
        "task_id": task["task_id"],
        "proposal_id": task["proposal_id"],
        "expert_id": task["expert_id"],
        "kind": kind.value,
        "state": RequestState.PENDING.value,
        "reason": reason,
        "version_no": version_no,
        "details": details,
    }
    rid = inserted_id(
        conn.execute(requests.insert().values(created_at=now(), created_by=actor.user_id, **values))
    )
    record(conn, actor, "create", "request", rid, call_id=task["call_id"], after=values)
    return int(rid)


def load_request(conn: sa.Connection, request_id: int) -> sa.RowMapping:
    return one_row(conn, requests, f"request {request_id}", request_id=request_id)


def _latest(conn: sa.Connection, task_id: int, kind: RequestKind) -> sa.RowMapping | None:
    return (
        conn.execute(
            sa.select(requests)
            .where(requests.c.task_id == task_id, requests.c.kind == kind.value)
            .order_by(requests.c.request_id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )


def pending_request(conn: sa.Connection, task_id: int, kind: RequestKind) -> sa.RowMapping | None:
    latest = _latest(conn, task_id, kind)
    return latest if latest is not None and latest["state"] == RequestState.PENDING else None


@dataclass(frozen=True, slots=True)
class RequestSummary:
    """One request as its expert sees it: ``version_no`` is the evaluation version a
    correction request is for (None for a conflict request); ``decision_note`` the manager's
    note with the decision (None before a decision or without a note)."""

    request_id: int
    state: RequestState
    reason: str
    version_no: int | None
    decision_note: str | None


def latest_request(conn: sa.Connection, task_id: int, kind: RequestKind) -> RequestSummary | None:
    """The task's latest request of ``kind``, None when there is none."""
    row = _latest(conn, task_id, kind)
    if row is None:
        return None
    return RequestSummary(
        request_id=int(row["request_id"]),
        state=RequestState(row["state"]),
        reason=row["reason"],
        version_no=row["version_no"],
        decision_note=row["decision_note"],
    )


def correction_approved(conn: sa.Connection, task_id: int, version_no: int) -> bool:
    """True when the manager approved a correction request for this version of the task's
    evaluation."""
    found = conn.execute(
        sa.select(requests.c.request_id).where(
            requests.c.task_id == task_id,
            requests.c.kind == RequestKind.CORRECTION.value,
            requests.c.state == RequestState.APPROVED.value,
            requests.c.version_no == version_no,
        )
    ).first()
    return found is not None


def list_requests(
    engine: sa.Engine, actor: Actor, call_id: str, *, state: RequestState | None = None
) -> pl.DataFrame:
    """The call's requests (optionally only those in ``state``): all of them for its managers,
    an expert's own for an expert; anyone else is refused."""
    stmt = sa.select(*(requests.c[c] for c in REQUEST_SCHEMA)).where(requests.c.call_id == call_id)
    if state is not None:
        stmt = stmt.where(requests.c.state == state.value)
    with reading(engine) as conn:
        expert_id = call_member(conn, actor, call_id, "list", "requests")
        if expert_id is not None:
            stmt = stmt.where(requests.c.expert_id == expert_id)
        return query_frame(conn, stmt, REQUEST_SCHEMA, ["request_id"])
