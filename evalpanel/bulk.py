"""Actions a call manager takes on many rows at once: confirm every proposed replacement and
remind every overdue expert. Each goes through the single-row service (so every rule and audit
entry of that service applies to each row) and reports, in words, what it did and what it could
not do and why. Further experts for every divergent proposal are one change-set already:
:func:`evalpanel.workflow.preview_extra_experts`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from evalpanel.store import Actor, StoreError, confirm_replacement, list_replacements
from evalpanel.store.deadlines import overdue_tasks
from evalpanel.store.notifications import list_notifications, plan_notifications
from evalpanel.vocab import ReplacementState


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """``done``: the ids acted on; ``refused``: ``(id, why)`` of those the service refused;
    ``summary``: both in words."""

    done: tuple[int, ...]
    refused: tuple[tuple[int, str], ...]
    summary: str


def confirm_all_replacements(engine: sa.Engine, actor: Actor, call_id: str) -> BulkOutcome:
    """Confirm every replacement request of the call in state ``proposed``, one transaction
    each (a request refused, e.g. because its expert reached their maximum load meanwhile,
    stays proposed and is reported with the reason; the others go through)."""
    proposed = list_replacements(engine, actor, call_id, state=ReplacementState.PROPOSED)
    done: list[int] = []
    refused: list[tuple[int, str]] = []
    for rid in proposed["replacement_id"].to_list():
        try:
            confirm_replacement(engine, actor, int(rid))
        except StoreError as exc:
            refused.append((int(rid), str(exc)))
        else:
            done.append(int(rid))
    if not done and not refused:
        return BulkOutcome((), (), "No replacement is proposed: nothing to confirm.")
    summary = f"{len(done)} replacement(s) confirmed"
    if refused:
        summary += f"; {len(refused)} refused: " + "; ".join(f"request {r}: {why}"
                                                              for r, why in refused)
    return BulkOutcome(tuple(done), tuple(refused), summary + ".")


def remind_overdue(
    engine: sa.Engine, actor: Actor, call_id: str, *, today: dt.date | None = None,
    dashboard_url: str = "",
) -> BulkOutcome:
    """Queue an overdue reminder to the expert of every open task of the call whose deadline
    has passed, through the notification outbox (:func:`plan_notifications`, which also queues
    any other message the call's state calls for, and never queues one twice: a task already
    reminded for its current deadline is not reminded again). ``done``: the overdue task ids
    reminded now; ``refused``: those already reminded."""
    overdue = overdue_tasks(engine, actor, call_id, today)
    if overdue.is_empty():
        return BulkOutcome((), (), "No open task is past its deadline: nobody to remind.")

    def reminded() -> set[str]:
        sent = list_notifications(engine, actor, call_id=call_id)
        return set(sent.filter(pl.col("kind") == "overdue")["dedupe_key"].to_list())

    before = reminded()
    queued = plan_notifications(engine, actor, call_id=call_id, today=today,
                                dashboard_url=dashboard_url)
    new = reminded() - before
    done: list[int] = []
    again: list[int] = []
    for task_id, due in overdue.select("task_id", "due_on").iter_rows():
        (done if f"overdue:{task_id}:{due}" in new else again).append(int(task_id))
    experts = overdue.filter(pl.col("task_id").is_in(done))["expert_id"].n_unique()
    summary = f"{len(done)} overdue reminder(s) queued for {experts} expert(s)"
    if again:
        summary += (f"; {len(again)} task(s) were already reminded for their current deadline "
                    "(a new deadline makes a new reminder)")
    if queued > len(done):
        summary += f"; the outbox also queued {queued - len(done)} other message(s) due now"
    return BulkOutcome(tuple(done), tuple((t, "already reminded") for t in again), summary + ".")
