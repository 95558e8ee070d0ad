"""A small call on which every reason of the conflict rule occurs, for the store's rule tests.

Built from :func:`tests.store_fixtures.make_call` (4 proposals, 6 experts, k = 2):

- P04 is written in French; only E05 and E06 read French (``language`` for E01–E04);
- E04 has no organisation id and works at "Universidad de Sevilla", a partner of P03
  (``organisation_name``);
- E01 works at P01's coordinator (``organisation``), E02 helped write P02 (``preparation``);
- E03 takes at most 1 task, the others 2 (capacity 11 for 8 panel places).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import sqlalchemy as sa

import assignment
from evalpanel.callfolder.model import CallFolder
from evalpanel.store import ACTIVE_STATES, SYSTEM, call_folder, list_tasks
from evalpanel.store.tables import tasks
from tests.store_fixtures import make_call

KEYS = ["proposal_id", "expert_id"]
SEVILLA = "Universidad de Sevilla"


def rule_call() -> CallFolder:
    call = make_call()
    proposals = call.proposals.with_columns(
        language=pl.when(pl.col("proposal_id") == "P04").then(pl.lit("fr")).otherwise("language")
    )
    partners = call.partners.with_columns(
        org_name=pl.when((pl.col("proposal_id") == "P03") & (pl.col("role") == "partner"))
        .then(pl.lit(SEVILLA))
        .otherwise("org_name")
    )
    is_ = pl.col("expert_id").is_in
    experts = call.experts.with_columns(
        languages=pl.when(is_(["E05", "E06"]))
        .then(pl.lit(["en", "fr"], dtype=pl.List(pl.String)))
        .otherwise("languages"),
        org_id=pl.when(pl.col("expert_id") == "E04").then(None).otherwise("org_id"),
        org_name=pl.when(pl.col("expert_id") == "E04").then(pl.lit(SEVILLA)).otherwise("org_name"),
        max_load=pl.when(pl.col("expert_id") == "E03").then(1).otherwise(2).cast(pl.Int64),
    )
    return dataclasses.replace(
        call, proposals=proposals, partners=partners, experts=experts, affinity=None
    )


def violations(engine: sa.Engine, call_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(active tasks whose pair :func:`assignment.find_conflicts` excludes on the whole stored
    call — the planner's view, not the store's pair check — with their state and reason;
    experts with more active tasks than their ``max_load``, with that load)."""
    call = call_folder(engine, SYSTEM, call_id)
    found = assignment.find_conflicts(
        call.proposals, call.partners, call.experts, call.conflicts, today=dt.date.today()
    )
    active = list_tasks(engine, SYSTEM, call_id).filter(pl.col("state").is_in(ACTIVE_STATES))
    over = (
        active.group_by("expert_id")
        .len("load")
        .join(call.experts.select("expert_id", "max_load"), on="expert_id")
        .filter(pl.col("load") > pl.col("max_load"))
    )
    return active.join(found, on=KEYS).select(*KEYS, "state", "reason"), over


def rule_violations(engine: sa.Engine, call_id: str) -> pl.DataFrame:
    return violations(engine, call_id)[0]


def overloads(engine: sa.Engine, call_id: str) -> pl.DataFrame:
    return violations(engine, call_id)[1]


def force_task(engine: sa.Engine, call_id: str, proposal_id: str, expert_id: str,
               state: str) -> int:
    """A task written straight into the table, as one made before the rule covered every reason
    (e.g. a language mismatch) would be."""
    from evalpanel.store.audit import now

    with engine.begin() as conn:
        result = conn.execute(
            tasks.insert().values(
                call_id=call_id,
                proposal_id=proposal_id,
                expert_id=expert_id,
                state=state,
                origin="batch",
                created_at=now(),
                updated_at=now(),
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])
