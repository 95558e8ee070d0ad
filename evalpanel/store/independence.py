"""Independence: when an expert can see the other experts' scores on a proposal, and what
may change after that.

The one rule (:func:`peers_visible`): an expert reads the panel's scores once their own
evaluation is submitted and the proposal's consolidation has started. From then on a
correction — opening, editing or submitting the next version — needs an approved correction
request for that version (:mod:`evalpanel.store.requests`); once the consolidation is final
nothing changes any more. :mod:`evalpanel.store.evaluations` calls these checks on every
write, the permission check of the peer scores calls the same rule.
"""

from __future__ import annotations

import sqlalchemy as sa

from evalpanel.store.access import panel_open_to
from evalpanel.store.errors import InvalidState
from evalpanel.store.requests import correction_approved
from evalpanel.store.tables import consolidations
from evalpanel.vocab import ConsolidationState, EvaluationStatus, TaskState


def consolidation_state(conn: sa.Connection, call_id: str, proposal_id: str) -> str | None:
    state = conn.execute(
        sa.select(consolidations.c.state).where(
            consolidations.c.call_id == call_id, consolidations.c.proposal_id == proposal_id
        )
    ).scalar()
    return None if state is None else str(state)


def peers_visible(conn: sa.Connection, task: sa.RowMapping) -> bool:
    """True when the task's expert can read the other experts' scores on its proposal."""
    return panel_open_to(conn, task["call_id"], task["proposal_id"], task["expert_id"]).allowed


def correction_refusal(conn: sa.Connection, task: sa.RowMapping, version_no: int) -> str | None:
    """Why version ``version_no`` (a correction) of the task's evaluation may not be opened,
    edited or submitted now; None when it may."""
    proposal_id = task["proposal_id"]
    if consolidation_state(conn, task["call_id"], proposal_id) == ConsolidationState.FINAL:
        return (
            f"the consolidation of {proposal_id} is final; evaluations can no longer be corrected"
        )
    if peers_visible(conn, task) and not correction_approved(conn, task["task_id"], version_no):
        return (
            f"the other experts' scores on {proposal_id} are open to you since its consolidation "
            "started, so a correction needs the call manager's approval; request one with "
            "a reason"
        )
    return None


def check_correction(conn: sa.Connection, task: sa.RowMapping, version_no: int) -> None:
    if version_no > 1 and (why := correction_refusal(conn, task, version_no)) is not None:
        raise InvalidState(f"task {task['task_id']}: {why}")


def request_refusal(
    conn: sa.Connection, task: sa.RowMapping, latest: sa.RowMapping | None
) -> tuple[str | None, int]:
    """(why a correction request on the task would be refused now or None, the evaluation
    version it would authorise)."""
    task_id = task["task_id"]
    if latest is None or task["state"] != TaskState.SUBMITTED:
        return f"task {task_id} has no submitted evaluation to correct", 0
    # An open correction draft (started before the scores became visible) is the version to
    # authorise; otherwise the next one.
    version_no = int(latest["version_no"]) + (latest["status"] == EvaluationStatus.SUBMITTED)
    if consolidation_state(conn, task["call_id"], task["proposal_id"]) == ConsolidationState.FINAL:
        return (
            f"the consolidation of {task['proposal_id']} is final; evaluations can no "
            "longer be corrected"
        ), version_no
    if not peers_visible(conn, task):
        return (
            f"the other experts' scores on {task['proposal_id']} are not open to you yet, so "
            f"task {task_id} needs no approval: start the correction yourself"
        ), version_no
    if correction_approved(conn, task_id, version_no):
        return (
            f"a correction of task {task_id} (version {version_no}) is already approved"
        ), version_no
    return None, version_no
