"""What an expert needs to see before and while working: the call's facts and their queue.

:func:`call_info` returns a :class:`CallInfo` (``call_id, title, scheme, scheme_overrides``:
the call's own scheme numbers over the preset, ``deadline``: ISO date text or None, and
``experts_per_proposal``) to its managers and experts. :func:`task_queue` returns
``task_id, proposal_id, expert_id, title, lot, state, origin, deadline`` sorted by
``proposal_id, expert_id``: the call's tasks for a manager, an expert's own for an expert. The
queue shows only a proposal's title and lot. :func:`declaration` gives an expert what a
conflict-of-interest declaration needs before accepting (title, abstract, lot, coordinator and
partners with their countries, and the declaration's text naming them); the full proposal and
its documents open through :func:`~evalpanel.store.proposals.get_proposal` only once the task is
accepted without a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from assignment.conflicts import WINDOW_YEARS
from evalpanel.store.access import can_read_queue, expert_of, manages, require
from evalpanel.store.audit import Actor
from evalpanel.store.engine import reading
from evalpanel.store.frames import query_frame
from evalpanel.store.rows import require_call
from evalpanel.store.tables import calls, partners, proposals, tasks

QUEUE_SCHEMA: dict[str, pl.DataType] = {
    "task_id": pl.Int64(),
    "proposal_id": pl.String(),
    "expert_id": pl.String(),
    "title": pl.String(),
    "lot": pl.String(),
    "state": pl.String(),
    "origin": pl.String(),
    "deadline": pl.String(),
}


def call_member(
    conn: sa.Connection, actor: Actor, call_id: str, action: str, entity: str
) -> str | None:
    """None for a manager of the call, the expert id for one of its experts; refused (and
    audit-logged) for anyone else. Raises :class:`NotFound` for an unknown call."""
    require_call(conn, call_id)
    require(can_read_queue(conn, actor, call_id), actor, action, entity, call_id, call_id=call_id)
    return None if manages(conn, actor, call_id) else expert_of(conn, actor, call_id)


@dataclass(frozen=True, slots=True)
class CallInfo:
    """The call's facts an expert scores by: ``scheme`` (the preset's id) with the call's
    ``scheme_overrides`` (``call.toml [scheme]``), the ``deadline`` as written in the call
    folder (ISO date text, None when unset) and the panel size."""

    call_id: str
    title: str
    scheme: str
    scheme_overrides: dict[str, Any]
    deadline: str | None  # ISO date text
    experts_per_proposal: int


def call_info(engine: sa.Engine, actor: Actor, call_id: str) -> CallInfo:
    """The call's facts an expert scores by (:class:`CallInfo`). For the call's managers and
    experts."""
    with reading(engine) as conn:
        call_member(conn, actor, call_id, "read", "call")
        row = conn.execute(sa.select(calls).where(calls.c.call_id == call_id)).mappings().one()
        return CallInfo(
            call_id=row["call_id"],
            title=row["title"],
            scheme=row["scheme"],
            scheme_overrides=dict(row["scheme_overrides"] or {}),
            deadline=row["deadline"],
            experts_per_proposal=int(row["experts_per_proposal"]),
        )


def task_queue(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """Tasks with what an expert may know before accepting: the proposal's title and lot and
    the call's deadline. An expert gets only their own tasks; a manager all of the call's."""
    stmt = (
        sa.select(
            tasks.c.task_id,
            tasks.c.proposal_id,
            tasks.c.expert_id,
            proposals.c.title,
            proposals.c.lot_id,
            tasks.c.state,
            tasks.c.origin,
            calls.c.deadline,
        )
        .select_from(
            tasks.join(
                proposals,
                sa.and_(
                    proposals.c.call_id == tasks.c.call_id,
                    proposals.c.proposal_id == tasks.c.proposal_id,
                ),
            ).join(calls, calls.c.call_id == tasks.c.call_id)
        )
        .where(tasks.c.call_id == call_id)
    )
    with reading(engine) as conn:
        expert_id = call_member(conn, actor, call_id, "list", "tasks")
        if expert_id is not None:
            stmt = stmt.where(tasks.c.expert_id == expert_id)
        return query_frame(conn, stmt, QUEUE_SCHEMA, ["proposal_id", "expert_id"])


DECLARATION_YEARS = WINDOW_YEARS  # the conflict rule's window for past links
_ROLE_ORDER = {"coordinator": 0, "partner": 1, "associated": 2}


@dataclass(frozen=True, slots=True)
class Participant:
    """One organisation taking part in a proposal, as the declaration names it."""

    org_name: str
    country: str
    role: str  # coordinator, partner or associated


@dataclass(frozen=True, slots=True)
class Declaration:
    """What an expert sees before declaring no conflict of interest with a task's proposal."""

    task_id: int
    call_id: str
    proposal_id: str
    title: str
    abstract: str
    lot: str
    state: str  # the task's state
    participants: tuple[Participant, ...]  # coordinator first, then partners, then associated

    def named(self, role: str) -> str:
        """The organisations of one role in words: ``"Alpha (DE) and Beta (FR)"``."""
        names = [f"{p.org_name} ({p.country})" for p in self.participants if p.role == role]
        if len(names) <= 1:
            return "".join(names)
        return ", ".join(names[:-1]) + " and " + names[-1]

    @property
    def text(self) -> str:
        """The declaration the expert makes by accepting, naming the proposal, its lot and
        every organisation taking part."""
        parts = [f"its coordinator {self.named('coordinator')}" if self.named("coordinator")
                 else ""]
        for role, word in (("partner", "partners"), ("associated", "associated partners")):
            if self.named(role):
                parts.append(f"its {word} {self.named(role)}")
        who = "; ".join(p for p in parts if p) or "the organisations taking part"
        return (f"I declare that I have no conflict of interest with the proposal "
                f"{self.proposal_id} \u201c{self.title}\u201d (lot {self.lot}). Neither I nor "
                f"my organisation take part in it or helped to prepare it, and in the last "
                f"{DECLARATION_YEARS} years I have not been employed by, or worked with, any "
                f"organisation taking part: {who}.")


def declaration(engine: sa.Engine, actor: Actor, task_id: int) -> Declaration:
    """The facts of a task's proposal that a conflict-of-interest declaration needs: for the
    task's own expert (in any state, so before accepting) or a manager of the call. Nothing
    else of the proposal (its fields, keywords, budget, documents) opens here."""
    from evalpanel.store.tasks import own_task  # tasks imports this module (via requests)

    with reading(engine) as conn:
        task = own_task(conn, actor, task_id, "read the declaration of", manager_too=True)
        row = conn.execute(sa.select(proposals.c.title, proposals.c.abstract, proposals.c.lot_id)
                           .where(proposals.c.call_id == task["call_id"],
                                  proposals.c.proposal_id == task["proposal_id"])).one()
        found = conn.execute(
            sa.select(partners.c.org_name, partners.c.country, partners.c.role)
            .where(partners.c.call_id == task["call_id"],
                   partners.c.proposal_id == task["proposal_id"])
            .order_by(partners.c.partner_row)).all()
    people = sorted((Participant(str(n), str(c or ""), str(r)) for n, c, r in found),
                    key=lambda p: _ROLE_ORDER.get(p.role, 3))
    return Declaration(int(task_id), str(task["call_id"]), str(task["proposal_id"]),
                       str(row.title), str(row.abstract or ""), str(row.lot_id),
                       str(task["state"]), tuple(people))
