"""The manager's decisions on requests (:mod:`evalpanel.store.requests`).

:func:`approve_request` and :func:`refuse_request` move a pending request to ``approved`` or
``refused`` in one checked UPDATE, with the manager's note, and audit it. Refusing changes
nothing else. Approving a correction lets the author open, edit and submit the version it
names. Approving a conflict takes the evaluation out: the conflict is recorded, the task is
declined (its frozen versions are kept but no longer count), a replacement request opens so the
proposal can get another expert (the manager dismisses it when enough remain), and the
proposal's consolidation, if started, is suspended until the manager restarts it
(:func:`~evalpanel.store.consolidation.name_consolidator`).
"""

from __future__ import annotations

import sqlalchemy as sa

from evalpanel.store.access import require_manager, require_same_call
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.consolidation import suspend_consolidation
from evalpanel.store.engine import writing
from evalpanel.store.errors import InvalidState
from evalpanel.store.requests import load_request, pending_request
from evalpanel.store.tables import consolidations, requests
from evalpanel.store.tasks import _add_conflict, _open_replacement, _set_state, load_task
from evalpanel.vocab import ConsolidationState, RequestKind, RequestState, TaskState

_ACTIONS = {RequestState.APPROVED: "approve", RequestState.REFUSED: "refuse"}


def _decide(
    conn: sa.Connection,
    actor: Actor,
    request_id: int,
    state: RequestState,
    note: str,
    call_id: str | None = None,
) -> sa.RowMapping:
    req = load_request(conn, request_id)
    require_manager(conn, actor, f"{_ACTIONS[state]} requests in", req["call_id"])
    require_same_call(actor, _ACTIONS[state], "request", request_id, req["call_id"], call_id)
    done = conn.execute(
        requests.update()
        .where(
            requests.c.request_id == request_id,
            requests.c.state == RequestState.PENDING.value,
        )
        .values(state=state.value, decided_at=now(), decided_by=actor.user_id, decision_note=note)
    ).rowcount
    if not done:
        current = load_request(conn, request_id)["state"]
        raise InvalidState(f"request {request_id} is {current}, not pending; reload it")
    record(
        conn,
        actor,
        _ACTIONS[state],
        "request",
        request_id,
        call_id=req["call_id"],
        before={"state": req["state"]},
        after={
            "state": state.value,
            "kind": req["kind"],
            "task_id": req["task_id"],
            "note": note,
        },
    )
    return req


def approve_request(
    engine: sa.Engine, actor: Actor, request_id: int, *, note: str = "",
    call_id: str | None = None,
) -> None:
    """A manager of the call approves a pending request (``note``: why, kept in the audit);
    with ``call_id``, refused (:class:`CallMismatch`) unless the request is of that call."""
    with writing(engine) as conn:
        req = _decide(conn, actor, request_id, RequestState.APPROVED, note, call_id)
        task = load_task(conn, int(req["task_id"]))
        if task["state"] != TaskState.SUBMITTED:
            raise InvalidState(
                f"task {task['task_id']} is {task['state']}; its request can only be refused"
            )
        if req["kind"] == RequestKind.CORRECTION:
            final = conn.execute(
                sa.select(consolidations.c.consolidation_id).where(
                    consolidations.c.call_id == task["call_id"],
                    consolidations.c.proposal_id == task["proposal_id"],
                    consolidations.c.state == ConsolidationState.FINAL,
                )
            ).first()
            if final is not None:
                raise InvalidState(
                    f"the consolidation of {task['proposal_id']} is final; evaluations can no "
                    "longer be corrected, so refuse the request"
                )
            return
        details = dict(req["details"] or {})
        kind, declared_on_org = str(details.get("kind", "declared")), details.get("org_id")
        if declared_on_org is None:  # an organisation's conflict was recorded when declared
            _add_conflict(
                conn,
                actor,
                task["call_id"],
                task["expert_id"],
                task["proposal_id"],
                None,
                kind,
                str(details.get("note", req["reason"])),
            )
        reason = str(req["reason"])
        _set_state(
            conn, actor, task, (TaskState.SUBMITTED,), TaskState.DECLINED, decline_reason=reason
        )
        _open_replacement(conn, actor, task, reason)
        correction = pending_request(conn, int(task["task_id"]), RequestKind.CORRECTION)
        if correction is not None:
            why = f"the evaluation no longer counts (conflict request {request_id} approved)"
            _decide(conn, actor, int(correction["request_id"]), RequestState.REFUSED, why)
        suspend_consolidation(
            conn,
            actor,
            task["call_id"],
            task["proposal_id"],
            f"approved conflict request {request_id} of {task['expert_id']}",
        )


def refuse_request(
    engine: sa.Engine, actor: Actor, request_id: int, *, note: str = "",
    call_id: str | None = None,
) -> None:
    """A manager of the call refuses a pending request; nothing else changes. With
    ``call_id``, refused (:class:`CallMismatch`) unless the request is of that call."""
    with writing(engine) as conn:
        _decide(conn, actor, request_id, RequestState.REFUSED, note, call_id)
