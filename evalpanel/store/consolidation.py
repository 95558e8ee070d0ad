"""Consolidation: one of a proposal's experts drafts the consensus, the others approve.

A manager starts it once every active task of the proposal is submitted, naming the
consolidator (one of those experts). The consolidator saves the consensus (``criterion, score,
comment`` frame and an overall comment) with the same optimistic versioning as drafts, then
submits it for approval; each other expert approves the version they saw. When all have
approved the current version it is ``final``. Editing after submission goes back to
``drafting`` and earlier approvals no longer count (they name an older version).

When the panel changes under a consolidation (an approved conflict takes an evaluation out),
it is ``suspended`` (:func:`suspend_consolidation`): nobody drafts or approves until the
manager restarts it with :func:`name_consolidator`, which also names another consolidator at
any time before it is final. Both are audited.
:func:`consolidated_frame` returns ``proposal_id, criterion, score, comment, state`` sorted by
``proposal_id, criterion``; :func:`list_consolidations` returns ``consolidation_id,
proposal_id, consolidator, state, version`` sorted by ``proposal_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import (
    can_lead_consolidation,
    can_take_part,
    manages,
    require,
    require_manager,
    require_same_call,
)
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, InvalidState, NotFound, StaleWrite
from evalpanel.store.evaluations import CRITERION_SCHEMA, score_rows
from evalpanel.store.frames import inserted_id, query_frame
from evalpanel.store.queue import call_member
from evalpanel.store.rows import one_row, replace_scores
from evalpanel.store.tables import (
    consolidation_approvals,
    consolidation_scores,
    consolidations,
    tasks,
)
from evalpanel.vocab import ACTIVE_STATES, RUNNING_CONSOLIDATION, ConsolidationState, TaskState

CONSOLIDATED_SCHEMA: dict[str, pl.DataType] = {
    "proposal_id": pl.String(),
    "criterion": pl.String(),
    "score": pl.Float64(),
    "comment": pl.String(),
    "state": pl.String(),
}


def _panel(conn: sa.Connection, call_id: str, proposal_id: str) -> tuple[list[str], list[str]]:
    """(experts with a submitted task, experts with an active task not yet submitted)."""
    rows = conn.execute(
        sa.select(tasks.c.expert_id, tasks.c.state).where(
            tasks.c.call_id == call_id,
            tasks.c.proposal_id == proposal_id,
            tasks.c.state.in_(ACTIVE_STATES),
        )
    ).all()
    done = sorted(r.expert_id for r in rows if r.state == TaskState.SUBMITTED)
    return done, sorted(r.expert_id for r in rows if r.state != TaskState.SUBMITTED)


def _load(conn: sa.Connection, consolidation_id: int) -> sa.RowMapping:
    return one_row(conn, consolidations, f"consolidation {consolidation_id}",
                   consolidation_id=consolidation_id)


def start_consolidation(
    engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str, consolidator: str
) -> int:
    """Open the consolidation of a fully evaluated proposal; returns its id."""
    with writing(engine) as conn:
        require_manager(conn, actor, "start consolidations in", call_id)
        done, waiting = _panel(conn, call_id, proposal_id)
        if waiting or not done:
            raise InvalidState(
                f"{proposal_id} still waits for the evaluations of "
                f"{', '.join(waiting) or 'its experts'}"
            )
        if consolidator not in done:
            raise InvalidInput(
                f"the consolidator must be one of {proposal_id}'s experts "
                f"({', '.join(done)}); got {consolidator!r}"
            )
        if (
            conn.execute(
                sa.select(consolidations.c.consolidation_id).where(
                    consolidations.c.call_id == call_id, consolidations.c.proposal_id == proposal_id
                )
            ).first()
            is not None
        ):
            raise InvalidState(
                f"{proposal_id} is already in consolidation; name another consolidator to "
                "restart it"
            )
        cid = inserted_id(
            conn.execute(
                consolidations.insert().values(
                    call_id=call_id,
                    proposal_id=proposal_id,
                    consolidator=consolidator,
                    state=ConsolidationState.DRAFTING,
                    comment="",
                    row_version=0,
                    created_at=now(),
                )
            )
        )
        record(
            conn,
            actor,
            "start",
            "consolidation",
            cid,
            call_id=call_id,
            after={"proposal_id": proposal_id, "consolidator": consolidator},
        )
        return int(cid)


def _require_running(row: sa.RowMapping) -> None:
    if row["state"] == ConsolidationState.SUSPENDED:
        raise InvalidState(
            f"the consolidation of {row['proposal_id']} is suspended (its panel changed); "
            "it waits for the call manager to restart it"
        )
    if row["state"] == ConsolidationState.FINAL:
        raise InvalidState(f"consolidation {row['consolidation_id']} is final")


def _participant(conn: sa.Connection, actor: Actor, row: sa.RowMapping, action: str) -> str:
    verdict, expert_id = can_take_part(conn, actor, row["call_id"], row["proposal_id"])
    require(verdict, actor, action, "consolidation", row["consolidation_id"],
            call_id=row["call_id"])
    assert expert_id is not None  # allowed only for an expert of the call
    return expert_id


def _consolidator(conn: sa.Connection, actor: Actor, row: sa.RowMapping, action: str) -> None:
    verdict = can_lead_consolidation(
        conn, actor, row["call_id"], row["proposal_id"], row["consolidator"]
    )
    require(verdict, actor, action, "consolidation", row["consolidation_id"],
            call_id=row["call_id"])


def save_consensus(
    engine: sa.Engine,
    actor: Actor,
    consolidation_id: int,
    scores: pl.DataFrame,
    comment: str,
    *,
    expected_version: int,
    call_id: str | None = None,
) -> int:
    """The consolidator saves the consensus draft; returns its new version. With ``call_id``,
    refused (:class:`CallMismatch`) unless the consolidation is of that call."""
    rows = score_rows(scores, f"consensus of consolidation {consolidation_id}")
    with writing(engine) as conn:
        row = _load(conn, consolidation_id)
        require_same_call(actor, "draft", "consolidation", consolidation_id, row["call_id"],
                          call_id)
        _consolidator(conn, actor, row, "draft")
        _require_running(row)
        done = conn.execute(
            consolidations.update()
            .where(
                consolidations.c.consolidation_id == consolidation_id,
                consolidations.c.state.in_(RUNNING_CONSOLIDATION),
                consolidations.c.row_version == expected_version,
            )
            .values(
                row_version=consolidations.c.row_version + 1,
                comment=comment,
                state=ConsolidationState.DRAFTING,
            )
        ).rowcount
        if not done:
            if row["state"] == ConsolidationState.FINAL:
                raise InvalidState(f"consolidation {consolidation_id} is final")
            raise StaleWrite(
                f"consolidation {consolidation_id} changed since version "
                f"{expected_version}; reload it"
            )
        replace_scores(conn, consolidation_scores, rows, consolidation_id=consolidation_id)
        record(
            conn,
            actor,
            "save",
            "consolidation",
            consolidation_id,
            call_id=row["call_id"],
            before={"version": expected_version, "state": row["state"]},
            after={"version": expected_version + 1, "scores": rows, "comment": comment},
        )
        return expected_version + 1


def submit_consensus(
    engine: sa.Engine,
    actor: Actor,
    consolidation_id: int,
    *,
    expected_version: int,
    call_id: str | None = None,
) -> str:
    """The consolidator asks the others to approve; returns the new state (``final`` at once
    when the consolidator is the only expert). With ``call_id``, refused
    (:class:`CallMismatch`) unless the consolidation is of that call."""
    with writing(engine) as conn:
        row = _load(conn, consolidation_id)
        require_same_call(actor, "submit", "consolidation", consolidation_id, row["call_id"],
                          call_id)
        _consolidator(conn, actor, row, "submit")
        _require_running(row)
        if row["row_version"] == 0:
            raise InvalidState("save the consensus scores before submitting them")
        done = conn.execute(
            consolidations.update()
            .where(
                consolidations.c.consolidation_id == consolidation_id,
                consolidations.c.state == ConsolidationState.DRAFTING,
                consolidations.c.row_version == expected_version,
            )
            .values(state=ConsolidationState.APPROVAL)
        ).rowcount
        if not done:
            raise StaleWrite(
                f"consolidation {consolidation_id} changed since version "
                f"{expected_version} (or is not a draft); reload it"
            )
        record(
            conn,
            actor,
            "submit",
            "consolidation",
            consolidation_id,
            call_id=row["call_id"],
            before={"state": ConsolidationState.DRAFTING},
            after={"state": ConsolidationState.APPROVAL},
        )
        return _finalise_if_approved(conn, actor, row)


def approve_consensus(
    engine: sa.Engine,
    actor: Actor,
    consolidation_id: int,
    *,
    expected_version: int,
    call_id: str | None = None,
) -> str:
    """Another expert approves the consensus version they read; returns the new state. With
    ``call_id``, refused (:class:`CallMismatch`) unless the consolidation is of that call."""
    with writing(engine) as conn:
        row = _load(conn, consolidation_id)
        expert_id = _participant(conn, actor, row, "approve")
        require_same_call(actor, "approve", "consolidation", consolidation_id, row["call_id"],
                          call_id)
        if expert_id == row["consolidator"]:
            raise InvalidInput("the consolidator's own approval is implied; others approve")
        _require_running(row)
        if row["state"] != ConsolidationState.APPROVAL or row["row_version"] != expected_version:
            raise StaleWrite(
                f"consolidation {consolidation_id} is {row['state']} at version "
                f"{row['row_version']}, not the version {expected_version} you "
                "read; reload it"
            )
        conn.execute(
            consolidation_approvals.delete().where(
                consolidation_approvals.c.consolidation_id == consolidation_id,
                consolidation_approvals.c.expert_id == expert_id,
            )
        )
        conn.execute(
            consolidation_approvals.insert().values(
                consolidation_id=consolidation_id,
                expert_id=expert_id,
                row_version=expected_version,
                approved_at=now(),
            )
        )
        record(
            conn,
            actor,
            "approve",
            "consolidation",
            consolidation_id,
            call_id=row["call_id"],
            after={"expert_id": expert_id, "version": expected_version},
        )
        return _finalise_if_approved(conn, actor, row)


def _finalise_if_approved(conn: sa.Connection, actor: Actor, row: sa.RowMapping) -> str:
    cid = row["consolidation_id"]
    current = _load(conn, cid)
    done, _ = _panel(conn, row["call_id"], row["proposal_id"])
    approved = set(
        conn.execute(
            sa.select(consolidation_approvals.c.expert_id).where(
                consolidation_approvals.c.consolidation_id == cid,
                consolidation_approvals.c.row_version == current["row_version"],
            )
        ).scalars()
    )
    approving = current["state"] == ConsolidationState.APPROVAL
    if approving and set(done) - {row["consolidator"]} <= approved:
        conn.execute(
            consolidations.update()
            .where(
                consolidations.c.consolidation_id == cid,
                consolidations.c.state == ConsolidationState.APPROVAL,
                consolidations.c.row_version == current["row_version"],
            )
            .values(state=ConsolidationState.FINAL, finalised_at=now())
        )
        record(
            conn,
            actor,
            "finalise",
            "consolidation",
            cid,
            call_id=row["call_id"],
            before={"state": ConsolidationState.APPROVAL},
            after={"state": ConsolidationState.FINAL},
        )
        return ConsolidationState.FINAL
    return str(current["state"])


def _of_proposal(conn: sa.Connection, call_id: str, proposal_id: str) -> sa.RowMapping | None:
    """The proposal's consolidation row, or None."""
    return (
        conn.execute(
            sa.select(consolidations).where(
                consolidations.c.call_id == call_id, consolidations.c.proposal_id == proposal_id
            )
        )
        .mappings()
        .first()
    )


def suspend_consolidation(
    conn: sa.Connection, actor: Actor, call_id: str, proposal_id: str, why: str
) -> int | None:
    """Suspend the proposal's consolidation (a final one too) inside the caller's transaction,
    because its panel changed; approvals lapse. Returns its id, None when there is none."""
    row = _of_proposal(conn, call_id, proposal_id)
    if row is None:
        return None
    cid = int(row["consolidation_id"])
    conn.execute(
        consolidations.update()
        .where(consolidations.c.consolidation_id == cid)
        .values(
            state=ConsolidationState.SUSPENDED,
            row_version=row["row_version"] + 1,
            finalised_at=None,
        )
    )
    record(
        conn,
        actor,
        "suspend",
        "consolidation",
        cid,
        call_id=call_id,
        before={"state": row["state"], "version": row["row_version"]},
        after={
            "state": ConsolidationState.SUSPENDED,
            "version": row["row_version"] + 1,
            "why": why,
        },
    )
    return cid


def name_consolidator(
    engine: sa.Engine,
    actor: Actor,
    consolidation_id: int,
    consolidator: str,
    reason: str,
    *,
    call_id: str | None = None,
) -> None:
    """A manager names the consolidator of a consolidation that is not final (the same one
    again restarts a suspended consolidation) and says why. The consolidation goes back to
    drafting from the saved consensus; approvals given so far lapse. Refused while one of the
    proposal's experts has not submitted. With ``call_id``, refused (:class:`CallMismatch`)
    unless the consolidation is of that call."""
    if not reason.strip():
        raise InvalidInput("say why the consolidator changes (the reason)")
    named = call_id
    with writing(engine) as conn:
        row = _load(conn, consolidation_id)
        call_id, proposal_id = row["call_id"], row["proposal_id"]
        require_manager(conn, actor, "name consolidators in", call_id)
        require_same_call(actor, "name_consolidator", "consolidation", consolidation_id, call_id,
                          named)
        if row["state"] == ConsolidationState.FINAL:
            raise InvalidState(f"the consolidation of {proposal_id} is final")
        done, waiting = _panel(conn, call_id, proposal_id)
        if waiting or not done:
            raise InvalidState(
                f"{proposal_id} still waits for the evaluations of "
                f"{', '.join(waiting) or 'its experts'}"
            )
        if consolidator not in done:
            raise InvalidInput(
                f"the consolidator must be one of {proposal_id}'s experts "
                f"({', '.join(done)}); got {consolidator!r}"
            )
        changed = conn.execute(
            consolidations.update()
            .where(
                consolidations.c.consolidation_id == consolidation_id,
                consolidations.c.row_version == row["row_version"],
                consolidations.c.state != ConsolidationState.FINAL,
            )
            .values(
                consolidator=consolidator,
                state=ConsolidationState.DRAFTING,
                row_version=consolidations.c.row_version + 1,
            )
        ).rowcount
        if not changed:
            raise StaleWrite(f"consolidation {consolidation_id} changed meanwhile; reload it")
        record(
            conn,
            actor,
            "name_consolidator",
            "consolidation",
            consolidation_id,
            call_id=call_id,
            before={
                "consolidator": row["consolidator"],
                "state": row["state"],
                "version": row["row_version"],
            },
            after={
                "consolidator": consolidator,
                "state": ConsolidationState.DRAFTING,
                "version": row["row_version"] + 1,
                "reason": reason,
            },
        )


@dataclass(frozen=True, slots=True)
class Consolidation:
    """One proposal's consolidation as stored now: ``version`` is the optimistic version a
    write names; ``scores`` the consensus, a ``criterion`` (String), ``score`` (Float64),
    ``comment`` (String) frame sorted by criterion; ``approved`` the experts approving the
    current version, sorted."""

    consolidation_id: int
    state: ConsolidationState
    consolidator: str
    version: int
    comment: str
    scores: pl.DataFrame
    approved: list[str]


def get_consolidation(
    engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str
) -> Consolidation:
    """The proposal's consolidation (:class:`Consolidation`); for participants and managers."""
    with reading(engine) as conn:
        row = _of_proposal(conn, call_id, proposal_id)
        if row is None:
            raise NotFound(f"{proposal_id} has no consolidation yet")
        if not manages(conn, actor, call_id):
            _participant(conn, actor, row, "read")
        cid = row["consolidation_id"]
        scores = query_frame(
            conn,
            sa.select(
                consolidation_scores.c.criterion,
                consolidation_scores.c.score,
                consolidation_scores.c.comment,
            ).where(consolidation_scores.c.consolidation_id == cid),
            CRITERION_SCHEMA,
            ["criterion"],
        )
        approved = sorted(
            conn.execute(
                sa.select(consolidation_approvals.c.expert_id).where(
                    consolidation_approvals.c.consolidation_id == cid,
                    consolidation_approvals.c.row_version == row["row_version"],
                )
            ).scalars()
        )
        return Consolidation(
            consolidation_id=int(cid),
            state=ConsolidationState(row["state"]),
            consolidator=row["consolidator"],
            version=int(row["row_version"]),
            comment=row["comment"],
            scores=scores,
            approved=approved,
        )


def consolidated_frame(
    engine: sa.Engine, actor: Actor, call_id: str, *, final_only: bool = True
) -> pl.DataFrame:
    """Consensus scores of the call's proposals (only final ones unless ``final_only`` is
    false), for managers."""
    with reading(engine) as conn:
        require_manager(conn, actor, "read consolidated scores of", call_id)
        return consolidated_in(conn, call_id, final_only=final_only)


def consolidated_in(conn: sa.Connection, call_id: str, *, final_only: bool) -> pl.DataFrame:
    """:func:`consolidated_frame` on the caller's connection (the caller checked the actor)."""
    stmt = (
        sa.select(
            consolidations.c.proposal_id,
            consolidation_scores.c.criterion,
            consolidation_scores.c.score,
            consolidation_scores.c.comment,
            consolidations.c.state,
        )
        .join(consolidation_scores)
        .where(consolidations.c.call_id == call_id)
    )
    if final_only:
        stmt = stmt.where(consolidations.c.state == ConsolidationState.FINAL)
    return query_frame(conn, stmt, CONSOLIDATED_SCHEMA, ["proposal_id", "criterion"])


LIST_SCHEMA: dict[str, pl.DataType] = {
    "consolidation_id": pl.Int64(),
    "proposal_id": pl.String(),
    "consolidator": pl.String(),
    "state": pl.String(),
    "version": pl.Int64(),
}


def list_consolidations(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """The call's consolidations for its managers; for an expert, those of the proposals on
    whose panel they submitted an evaluation. Anyone else is refused."""
    stmt = sa.select(
        consolidations.c.consolidation_id,
        consolidations.c.proposal_id,
        consolidations.c.consolidator,
        consolidations.c.state,
        consolidations.c.row_version,
    ).where(consolidations.c.call_id == call_id)
    with reading(engine) as conn:
        expert_id = call_member(conn, actor, call_id, "list", "consolidations")
        if expert_id is not None:
            stmt = stmt.where(
                consolidations.c.proposal_id.in_(
                    sa.select(tasks.c.proposal_id).where(
                        tasks.c.call_id == call_id,
                        tasks.c.expert_id == expert_id,
                        tasks.c.state == TaskState.SUBMITTED,
                    )
                )
            )
        return query_frame(conn, stmt, LIST_SCHEMA, ["proposal_id"])
