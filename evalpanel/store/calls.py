"""Importing a call folder into the store, and reading the call back.

:func:`import_call` writes the call, lots, proposals, partners, experts, conflicts and the
optional affinity (``proposal_id, expert_id, affinity``) and scores in one transaction. Scores
from ``scores.csv`` are kept as an import table (``imported_scores``), never mixed with the
workflow's evaluations. Re-importing an existing call id is refused unless ``replace=True``;
replacing updates rows in place (no duplicates), drops imported rows the new folder no longer
has, and is refused when that would drop a proposal or expert that already has tasks.
:func:`call_folder` rebuilds a :class:`CallFolder` (same frames and dtypes) from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from evalpanel.callfolder.model import CallConfig, CallFolder, Lot
from evalpanel.callfolder.schema import polars_schema
from evalpanel.store.access import (
    can_import_call,
    can_manage_call,
    can_read_proposal,
    can_read_queue,
    require,
)
from evalpanel.store.audit import SYSTEM, Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import AlreadyImported, InvalidState, NotFound
from evalpanel.store.frames import bulk_insert
from evalpanel.store.rows import require_call
from evalpanel.store.tables import (
    affinities,
    call_managers,
    calls,
    conflicts,
    experts,
    imported_scores,
    lots,
    partners,
    proposals,
    tasks,
)

_LISTS = ("fields", "ecosystems", "keywords", "languages")


def _records(
    frame: pl.DataFrame | None, call_id: str, rename: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    if frame is None or frame.is_empty():
        return []
    out = []
    for row in frame.rename(rename or {}).to_dicts():
        for key in _LISTS:
            if key in row:
                row[key] = list(row[key] or [])
        row["call_id"] = call_id
        out.append(row)
    return out


def _clean(
    rows: list[dict[str, Any]], table: sa.Table, defaults: dict[str, Any]
) -> list[dict[str, Any]]:
    names = set(table.c.keys())
    cleaned = []
    for row in rows:
        item = {k: v for k, v in row.items() if k in names}
        for key, value in defaults.items():
            if item.get(key) is None:
                item[key] = value
        cleaned.append(item)
    return cleaned


def _sync(
    conn: sa.Connection,
    table: sa.Table,
    key: Sequence[str],
    rows: list[dict[str, Any]],
    call_id: str,
    *,
    delete: bool = True,
) -> None:
    """Make the call's rows of ``table`` equal ``rows``: update by key, insert, delete."""
    key_cols = [table.c[k] for k in key]
    existing = {
        tuple(r) for r in conn.execute(sa.select(*key_cols).where(table.c.call_id == call_id))
    }
    wanted = {tuple(r[k] for k in key): r for r in rows}
    gone = existing - wanted.keys() if delete else set()
    for gone_key in gone:
        conn.execute(
            table.delete().where(
                table.c.call_id == call_id,
                *(c == v for c, v in zip(key_cols, gone_key, strict=True)),
            )
        )
    updates = [r for k, r in wanted.items() if k in existing]
    inserts = [r for k, r in wanted.items() if k not in existing]
    if updates:
        params = [{**{f"k_{c}": r[c] for c in ("call_id", *key)}, **r} for r in updates]
        value_cols = [c for c in updates[0] if c not in ("call_id", *key)]
        stmt = (
            table.update()
            .where(*(table.c[c] == sa.bindparam(f"k_{c}") for c in ("call_id", *key)))
            .values({c: sa.bindparam(c) for c in value_cols})
        )
        conn.execute(stmt, params)
    if inserts:
        conn.execute(table.insert(), inserts)


def _with_tasks(conn: sa.Connection, call_id: str, column: str, keep: set[str]) -> list[str]:
    used = (
        conn.execute(sa.select(tasks.c[column]).distinct().where(tasks.c.call_id == call_id))
        .scalars()
        .all()
    )
    return sorted(str(u) for u in used if u not in keep)


def import_call(
    engine: sa.Engine, call: CallFolder, *, replace: bool = False, actor: Actor = SYSTEM
) -> None:
    """Store ``call`` in one transaction (all or nothing). A manager actor becomes a manager
    of a newly imported call; replacing needs a manager of the call (or the system actor)."""
    cfg = call.config
    call_id = cfg.id
    with writing(engine) as conn:
        old = conn.execute(sa.select(calls).where(calls.c.call_id == call_id)).mappings().first()
        require(can_import_call(conn, actor, call_id, exists=False), actor, "import", "call",
                call_id, call_id=call_id)
        if old is not None and not replace:
            raise AlreadyImported(
                f"the call {call_id!r} is already in the database (imported {old['imported_at']}); "
                "pass replace=True (--replace) to update it, or change the id in call.toml"
            )
        if old is not None:
            require(can_import_call(conn, actor, call_id, exists=True), actor, "replace", "call",
                    call_id, call_id=call_id)
        call_row = {
            "title": cfg.title,
            "scheme": cfg.scheme,
            "experts_per_proposal": cfg.experts_per_proposal,
            "deadline": cfg.deadline,
            "scheme_overrides": dict(cfg.scheme_overrides),
            "text_model": cfg.text_model,
            "content_hash": call.content_hash,
            "imported_at": now(),
        }
        proposal_rows = _clean(
            _records(call.proposals, call_id, {"lot": "lot_id"}),
            proposals,
            {"abstract": "", "ecosystems": [], "keywords": []},
        )
        expert_rows = _clean(
            _records(call.experts, call_id),
            experts,
            {"org_name": "", "profile": "", "min_load": 0, "ecosystems": [], "keywords": []},
        )
        if old is None:
            conn.execute(calls.insert().values(call_id=call_id, **call_row))
            if actor.role == "manager" and actor.user_id is not None:
                conn.execute(call_managers.insert().values(call_id=call_id, user_id=actor.user_id))
        else:
            dropped_p = _with_tasks(
                conn, call_id, "proposal_id", {r["proposal_id"] for r in proposal_rows}
            )
            dropped_e = _with_tasks(
                conn, call_id, "expert_id", {r["expert_id"] for r in expert_rows}
            )
            if dropped_p or dropped_e:
                raise InvalidState(
                    f"the new folder of call {call_id!r} drops proposals {dropped_p} and experts "
                    f"{dropped_e} that already have tasks; keep them in the folder"
                )
            conn.execute(calls.update().where(calls.c.call_id == call_id).values(**call_row))
            for table in (imported_scores, affinities, partners):
                conn.execute(table.delete().where(table.c.call_id == call_id))
            conn.execute(
                conflicts.delete().where(
                    conflicts.c.call_id == call_id, conflicts.c.source == "import"
                )
            )
        lot_rows = [
            {
                "call_id": call_id,
                "lot_id": lot.id,
                "title": lot.title,
                "budget_eur": lot.budget_eur,
                "one_per": lot.one_per,
                "experts_per_proposal": lot.experts_per_proposal,
                "max_grant_eur": lot.max_grant_eur,
            }
            for lot in cfg.lots.values()
        ]
        # Foreign keys: new lots before the proposals move into them, old lots after.
        _sync(conn, lots, ["lot_id"], lot_rows, call_id, delete=False)
        _sync(conn, proposals, ["proposal_id"], proposal_rows, call_id)
        conn.execute(
            lots.delete().where(
                lots.c.call_id == call_id, lots.c.lot_id.not_in([r["lot_id"] for r in lot_rows])
            )
        )
        _sync(conn, experts, ["expert_id"], expert_rows, call_id)
        partner_rows = _clean(_records(call.partners, call_id), partners, {})
        if partner_rows:
            bulk_insert(conn, partners, partner_rows)
        conflict_rows = _clean(_records(call.conflicts, call_id), conflicts, {"note": ""})
        for row in conflict_rows:
            row.update(source="import", created_at=now())
        if conflict_rows:
            conn.execute(conflicts.insert(), conflict_rows)
        if call.affinity is not None and not call.affinity.is_empty():
            bulk_insert(conn, affinities, _records(call.affinity, call_id))
        if call.scores is not None and not call.scores.is_empty():
            bulk_insert(
                conn,
                imported_scores,
                _clean(_records(call.scores, call_id), imported_scores, {"comment": ""}),
            )
        counts = {
            "proposals": len(proposal_rows),
            "experts": len(expert_rows),
            "partners": call.partners.height,
            "conflicts": len(conflict_rows),
            "affinity": 0 if call.affinity is None else call.affinity.height,
            "scores": 0 if call.scores is None else call.scores.height,
            "content_hash": call.content_hash,
        }
        record(
            conn,
            actor,
            "replace" if old is not None else "import",
            "call",
            call_id,
            call_id=call_id,
            before=None if old is None else dict(old),
            after=counts,
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


def call_folder(engine: sa.Engine, actor: Actor, call_id: str) -> CallFolder:
    """The stored call as a :class:`CallFolder` (managers of the call only); ``path`` is
    ``Path("store:<call_id>")``."""
    with reading(engine) as conn:
        require_call(conn, call_id)
        require(can_manage_call(conn, actor, call_id), actor, "read", "call", call_id,
                call_id=call_id)
        return read_call(conn, call_id)


def read_call(conn: sa.Connection, call_id: str, *, with_affinity: bool = True) -> CallFolder:
    """The stored call on the caller's connection (the caller checked the actor);
    ``with_affinity=False`` leaves out the affinity matrix, the one large table, for services
    that do not assign."""
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
    conflict_frame = _table_frame(conn, conflicts, call_id, "conflicts")
    affinity = (
        _table_frame(conn, affinities, call_id, "affinity") if with_affinity else pl.DataFrame()
    )
    scores = _table_frame(conn, imported_scores, call_id, "scores")
    return CallFolder(
        path=Path(f"store:{call_id}"),
        config=cfg,
        proposals=_table_frame(conn, proposals, call_id, "proposals", {"lot_id": "lot"}),
        partners=_table_frame(conn, partners, call_id, "partners"),
        experts=_table_frame(conn, experts, call_id, "experts"),
        conflicts=conflict_frame,
        affinity=None if affinity.is_empty() else affinity,
        scores=None if scores.is_empty() else scores,
        content_hash=c["content_hash"],
    )


def task_state(
    conn: sa.Connection, call_id: str, proposal_id: str, expert_id: str | None
) -> str | None:
    """The state of the expert's task on the proposal, None when there is none."""
    state = conn.execute(
        sa.select(tasks.c.state).where(
            tasks.c.call_id == call_id,
            tasks.c.proposal_id == proposal_id,
            tasks.c.expert_id == expert_id,
        )
    ).scalar()
    return None if state is None else str(state)


def get_proposal(engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str) -> dict[str, Any]:
    """One proposal with its partners (``partners``: list of dicts). Managers of the call see
    every proposal; an expert only one they accepted without conflict; nobody else."""
    with reading(engine) as conn:
        require_call(conn, call_id)
        require(can_read_proposal(conn, actor, call_id, proposal_id), actor, "read", "proposal",
                proposal_id, call_id=call_id)
        row = (
            conn.execute(
                sa.select(proposals).where(
                    proposals.c.call_id == call_id, proposals.c.proposal_id == proposal_id
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"no proposal {proposal_id!r} in call {call_id!r}")
        found = dict(row)
        found["partners"] = [
            dict(r)
            for r in conn.execute(
                sa.select(
                    partners.c.org_id, partners.c.org_name, partners.c.country, partners.c.role
                )
                .where(partners.c.call_id == call_id, partners.c.proposal_id == proposal_id)
                .order_by(partners.c.partner_row)
            ).mappings()
        ]
        return found
