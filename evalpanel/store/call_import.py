"""Importing a call folder into the store.

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
from typing import Any

import polars as pl
import sqlalchemy as sa

from evalpanel.callfolder.model import CallFolder
from evalpanel.store.access import (
    can_import_call,
    require,
)
from evalpanel.store.audit import SYSTEM, Actor, now, record
from evalpanel.store.engine import writing
from evalpanel.store.errors import AlreadyImported, InvalidState
from evalpanel.store.frames import bulk_insert
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
        require(
            can_import_call(conn, actor, call_id, exists=False),
            actor,
            "import",
            "call",
            call_id,
            call_id=call_id,
        )
        if old is not None and not replace:
            raise AlreadyImported(
                f"the call {call_id!r} is already in the database (imported {old['imported_at']}); "
                "pass replace=True (--replace) to update it, or change the id in call.toml"
            )
        if old is not None:
            require(
                can_import_call(conn, actor, call_id, exists=True),
                actor,
                "replace",
                "call",
                call_id,
                call_id=call_id,
            )
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
