"""Cheap reads of a call for pages that show it at a glance: the call's data version (what a
cache of its reads is keyed by), its configuration without its tables, counts per lot, and the
evaluation's progress. Each is a few aggregate queries, whatever the call's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from evalpanel.callfolder.model import CallConfig, Lot
from evalpanel.store.access import deny, manages
from evalpanel.store.audit import Actor
from evalpanel.store.engine import reading
from evalpanel.store.queue import call_member
from evalpanel.store.tables import (
    audit_log,
    calls,
    experts,
    lots,
    proposals,
    replacements,
    tasks,
)
from evalpanel.vocab import TaskState

# A declined task still needs another expert while its replacement request is open; once the
# replacement is applied (a new task carries the slot) or dismissed, the slot is not expected.
OPEN_REPLACEMENT = ("pending", "proposed")
STARTED = ("assigned", "accepted", "draft", "submitted")
# Audit lines that record a read, not a change: building reports, an export, opening a document;
# and refused attempts ("denied:" + the action), which change nothing either.
READ_ACTIONS = ("build_reports", "export", "open_document")
DENIED = "denied:"
# The audit entities of the writes that change the call's own tables (what ``call_folder``
# reads: the call, its lots, proposals, partners, experts and recorded conflicts) or the
# decisions on its potential conflicts: an import, a conflict declared or removed, a potential
# conflict confirmed or dismissed. Evaluations, tasks and consolidations leave them as they are.
CALL_TABLE_ENTITIES = ("call", "conflict", "potential_conflict")


def call_data_version(
    engine: sa.Engine, actor: Actor, call_id: str, *, tables_only: bool = False
) -> str:
    """A token that changes whenever the call's stored data change. Every write of the store's
    services appends an audit line with the call's id in its own transaction, so the id of the
    call's last such line moves with them (lines that record a read or a refusal are skipped,
    ``READ_ACTIONS``); the call's import stamp and content hash are added so that a call deleted
    and imported again never repeats a token. Same token, same data. For the call's managers
    and experts. One walk of the index on (call_id, audit_id), backwards: well under a
    millisecond whatever the log's size.

    ``tables_only``: the version of the call's tables and conflict decisions only
    (``CALL_TABLE_ENTITIES``), for reads that depend on nothing else (the excluded pairs): an
    evaluation submitted leaves it as it is (the walk then passes over the lines of other
    entities, a few milliseconds for tens of thousands)."""
    with reading(engine) as conn:
        call_member(conn, actor, call_id, "read", "call")
        stmt = sa.select(audit_log.c.audit_id).where(
            audit_log.c.call_id == call_id, audit_log.c.action.not_in(READ_ACTIONS),
            audit_log.c.action.not_like(f"{DENIED}%"))
        if tables_only:
            stmt = stmt.where(audit_log.c.entity.in_(CALL_TABLE_ENTITIES))
        last = conn.execute(
            stmt.order_by(audit_log.c.call_id.desc(), audit_log.c.audit_id.desc()).limit(1)
        ).scalar()
        stamp, content = conn.execute(
            sa.select(calls.c.imported_at, calls.c.content_hash).where(calls.c.call_id == call_id)
        ).one()
    return f"{last}/{stamp}/{content}"


def call_config(engine: sa.Engine, actor: Actor, call_id: str) -> CallConfig:
    """The call's configuration and lots (``call_folder(...).config`` without reading the
    call's tables); for the call's managers."""
    with reading(engine) as conn:
        if not manages(conn, actor, call_id):
            call_member(conn, actor, call_id, "read", "call")  # NotFound for an unknown call
            deny(actor, "read", "call", call_id, "only a manager of this call", call_id=call_id)
        c = conn.execute(sa.select(calls).where(calls.c.call_id == call_id)).mappings().one()
        lot_map = {
            r.lot_id: Lot(id=r.lot_id, budget_eur=r.budget_eur, title=r.title, one_per=r.one_per,
                          experts_per_proposal=r.experts_per_proposal,
                          max_grant_eur=r.max_grant_eur)
            for r in conn.execute(
                sa.select(lots).where(lots.c.call_id == call_id).order_by(lots.c.lot_id))
        }
    return CallConfig(
        id=call_id, title=c["title"], scheme=c["scheme"],
        experts_per_proposal=c["experts_per_proposal"], lots=lot_map, deadline=c["deadline"],
        scheme_overrides=dict(c["scheme_overrides"]), text_model=c["text_model"],
    )


@dataclass(frozen=True, slots=True)
class Progress:
    """How far the individual evaluation is. ``expected`` counts the evaluations the call
    waits for: every task that is not withdrawn or declined, plus each declined task whose
    replacement is still open (an applied replacement's new task is counted itself).
    ``by_state`` counts every task by its state."""

    proposals: int
    experts: int
    expected: int
    submitted: int
    by_state: dict[str, int]

    @property
    def share(self) -> float:
        """Submitted of expected, in [0, 1]; 1.0 when nothing is expected."""
        return self.submitted / self.expected if self.expected else 1.0


def evaluation_progress(engine: sa.Engine, actor: Actor, call_id: str) -> Progress:
    """The call's :class:`Progress`, aggregated in the database (managers of the call)."""
    with reading(engine) as conn:
        if not manages(conn, actor, call_id):
            call_member(conn, actor, call_id, "read", "call")
            deny(actor, "read", "call", call_id, "only a manager of this call", call_id=call_id)
        by_state = {
            str(s): int(n)
            for s, n in conn.execute(
                sa.select(tasks.c.state, sa.func.count()).where(tasks.c.call_id == call_id)
                .group_by(tasks.c.state))
        }
        waiting = conn.execute(
            sa.select(sa.func.count(sa.distinct(replacements.c.task_id)))
            .select_from(replacements.join(tasks, tasks.c.task_id == replacements.c.task_id))
            .where(replacements.c.call_id == call_id, tasks.c.state == TaskState.DECLINED,
                   replacements.c.state.in_(OPEN_REPLACEMENT))
        ).scalar() or 0
        n_p = conn.execute(sa.select(sa.func.count()).where(
            proposals.c.call_id == call_id)).scalar() or 0
        n_e = conn.execute(sa.select(sa.func.count()).where(
            experts.c.call_id == call_id)).scalar() or 0
    expected = sum(by_state.get(s, 0) for s in STARTED) + int(waiting)
    return Progress(int(n_p), int(n_e), expected, by_state.get("submitted", 0), by_state)


def lot_summary(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """``lot, title, budget_eur, one_per, proposals, requested_eur`` per lot (managers)."""
    config = call_config(engine, actor, call_id)
    with reading(engine) as conn:
        per_lot: dict[str, tuple[Any, Any]] = {
            str(lot): (n, eur)
            for lot, n, eur in conn.execute(
                sa.select(proposals.c.lot_id, sa.func.count(),
                          sa.func.sum(proposals.c.requested_eur))
                .where(proposals.c.call_id == call_id).group_by(proposals.c.lot_id))
        }
    rows = [(lot.id, lot.title, lot.budget_eur, lot.one_per or "",
             per_lot.get(lot.id, (0, 0.0))[0], float(per_lot.get(lot.id, (0, 0.0))[1] or 0.0))
            for lot in config.lots.values()]
    return pl.DataFrame(rows, schema={"lot": pl.String, "title": pl.String,
                                      "budget_eur": pl.Float64, "one_per": pl.String,
                                      "proposals": pl.Int64, "requested_eur": pl.Float64},
                        orient="row").sort("lot")
