"""Reading stored calls back: the calls an actor may see (:func:`list_calls`) and one call as
a :class:`~evalpanel.callfolder.model.CallFolder` (:func:`call_folder`, :func:`read_call`).
Importing lives in :mod:`evalpanel.store.call_import`, one proposal in
:mod:`evalpanel.store.proposals`, recorded conflicts in :mod:`evalpanel.store.conflict_records`."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import sqlalchemy as sa

from evalpanel.callfolder.model import CallConfig, CallFolder, Lot
from evalpanel.callfolder.schema import polars_schema
from evalpanel.store.access import (
    can_manage_call,
    can_read_queue,
    require,
)
from evalpanel.store.audit import Actor
from evalpanel.store.engine import reading
from evalpanel.store.rows import require_call
from evalpanel.store.tables import (
    affinities,
    calls,
    conflicts,
    experts,
    imported_scores,
    lots,
    partners,
    proposals,
)


def list_calls(engine: sa.Engine, actor: Actor) -> pl.DataFrame:
    """``call_id, title, scheme, deadline`` of the calls the actor manages or is an expert in
    (:func:`~evalpanel.store.queue.call_info` adds the scheme overrides of one call)."""
    with reading(engine) as conn:
        rows = conn.execute(
            sa.select(calls.c.call_id, calls.c.title, calls.c.scheme, calls.c.deadline).order_by(
                calls.c.call_id
            )
        ).all()
        visible = [
            tuple(r)
            for r in rows
            if can_read_queue(conn, actor, r.call_id)
        ]
    return pl.DataFrame(
        visible,
        schema={
            "call_id": pl.String(),
            "title": pl.String(),
            "scheme": pl.String(),
            "deadline": pl.String(),
        },
        orient="row",
    )


def _table_frame(
    conn: sa.Connection,
    table: sa.Table,
    call_id: str,
    schema_name: str,
    rename: dict[str, str] | None = None,
) -> pl.DataFrame:
    schema = polars_schema(schema_name)
    back = {v: k for k, v in (rename or {}).items()}
    cols = [table.c[back.get(name, name)] for name in schema]
    key = [c for c in schema if c.endswith("_id")][:2]
    rows = conn.execute(sa.select(*cols).where(table.c.call_id == call_id)).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row").sort(key)


def call_folder(
    engine: sa.Engine, actor: Actor, call_id: str, *, proposals_only: bool = False
) -> CallFolder:
    """The stored call as a :class:`CallFolder` (managers of the call only); ``path`` is
    ``Path("store:<call_id>")``. ``proposals_only``: the configuration and the proposals alone
    (see :func:`read_call`), what a ranking and its views read."""
    with reading(engine) as conn:
        require_call(conn, call_id)
        require(can_manage_call(conn, actor, call_id), actor, "read", "call", call_id,
                call_id=call_id)
        return read_call(conn, call_id, proposals_only=proposals_only)


def read_call(
    conn: sa.Connection, call_id: str, *, with_affinity: bool = True,
    proposals_only: bool = False,
) -> CallFolder:
    """The stored call on the caller's connection (the caller checked the actor);
    ``with_affinity=False`` leaves out the affinity matrix, the one large table, for services
    that do not assign; ``proposals_only=True`` reads the configuration and the proposals
    alone (partners, experts, conflicts and imported scores are empty frames of their schemas,
    affinity none), for the ranking, which needs nothing else."""
    require_call(conn, call_id)
    c = conn.execute(sa.select(calls).where(calls.c.call_id == call_id)).mappings().one()
    lot_map = {
        r.lot_id: Lot(
            id=r.lot_id,
            budget_eur=r.budget_eur,
            title=r.title,
            one_per=r.one_per,
            experts_per_proposal=r.experts_per_proposal,
            max_grant_eur=r.max_grant_eur,
        )
        for r in conn.execute(
            sa.select(lots).where(lots.c.call_id == call_id).order_by(lots.c.lot_id)
        )
    }
    cfg = CallConfig(
        id=call_id,
        title=c["title"],
        scheme=c["scheme"],
        experts_per_proposal=c["experts_per_proposal"],
        lots=lot_map,
        deadline=c["deadline"],
        scheme_overrides=dict(c["scheme_overrides"]),
        text_model=c["text_model"],
    )
    def table(table: sa.Table, schema_name: str) -> pl.DataFrame:
        if proposals_only:
            return pl.DataFrame(schema=polars_schema(schema_name))
        return _table_frame(conn, table, call_id, schema_name)

    conflict_frame = table(conflicts, "conflicts")
    affinity = table(affinities, "affinity") if with_affinity else pl.DataFrame()
    scores = table(imported_scores, "scores")
    return CallFolder(
        path=Path(f"store:{call_id}"),
        config=cfg,
        proposals=_table_frame(conn, proposals, call_id, "proposals", {"lot_id": "lot"}),
        partners=table(partners, "partners"),
        experts=table(experts, "experts"),
        conflicts=conflict_frame,
        affinity=None if affinity.is_empty() else affinity,
        scores=None if scores.is_empty() else scores,
        content_hash=c["content_hash"],
    )


