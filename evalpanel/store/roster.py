"""The local operator's view of the accounts (the ``evalpanel user`` command): a user by name,
and every user with their logins, managed calls and expert links. The system actor only.

:func:`list_users` returns one row per user (see its docstring for the columns); no password
hash ever leaves the store.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import can_operate, require
from evalpanel.store.audit import Actor
from evalpanel.store.engine import reading
from evalpanel.store.errors import NotFound
from evalpanel.store.frames import rows_frame
from evalpanel.store.logins import LOCAL
from evalpanel.store.tables import call_managers, expert_links, identities, users


def find_user(engine: sa.Engine, actor: Actor, username: str) -> Actor:
    """The user id and role of the account ``username`` (the local operator only)."""
    with reading(engine) as conn:
        require(can_operate(actor), actor, "look up", "user", username)
        row = conn.execute(
            sa.select(users.c.user_id, users.c.role).where(users.c.username == username)
        ).first()
    if row is None:
        raise NotFound(f"no user is named {username!r}")
    return Actor(int(row.user_id), row.role)


def list_users(engine: sa.Engine, actor: Actor) -> pl.DataFrame:
    """Every account, for the local operator, one row per user sorted by ``user_id``:
    ``user_id, username, role, display_name, local_password`` (bool: a local login with a
    password), ``identities`` (list of structs ``provider, subject``: the external logins),
    ``calls`` (list of the call ids a manager manages) and ``experts`` (list of structs
    ``call_id, expert_id``: an expert account's links); each list sorted; ``disabled`` (bool:
    `evalpanel user disable`). No password hash."""
    with reading(engine) as conn:
        require(can_operate(actor), actor, "list", "users", "-")
        base = conn.execute(
            sa.select(
                users.c.user_id,
                users.c.username,
                users.c.role,
                users.c.display_name,
                users.c.disabled_at.is_not(None),
            )
        ).all()
        logins = conn.execute(
            sa.select(
                identities.c.user_id,
                identities.c.provider,
                identities.c.subject,
                identities.c.password_hash.is_not(None),
            )
        ).all()
        granted = conn.execute(sa.select(call_managers.c.user_id, call_managers.c.call_id)).all()
        linked = conn.execute(
            sa.select(expert_links.c.user_id, expert_links.c.call_id, expert_links.c.expert_id)
        ).all()
    local = {int(u) for u, provider, _, has_hash in logins if provider == LOCAL and has_hash}
    external: dict[int, list[tuple[str, str]]] = {}
    for u, provider, subject, _ in logins:
        if provider != LOCAL:
            external.setdefault(int(u), []).append((str(provider), str(subject)))
    managed: dict[int, list[str]] = {}
    for u, call_id in granted:
        managed.setdefault(int(u), []).append(str(call_id))
    links: dict[int, list[tuple[str, str]]] = {}
    for u, call_id, expert_id in linked:
        links.setdefault(int(u), []).append((str(call_id), str(expert_id)))
    rows = [
        (
            int(u),
            name,
            role,
            display,
            int(u) in local,
            [{"provider": p, "subject": s} for p, s in sorted(external.get(int(u), []))],
            sorted(managed.get(int(u), [])),
            [{"call_id": c, "expert_id": e} for c, e in sorted(links.get(int(u), []))],
            bool(disabled),
        )
        for u, name, role, display, disabled in base
    ]
    schema: dict[str, pl.DataType] = {
        "user_id": pl.Int64(), "username": pl.String(), "role": pl.String(),
        "display_name": pl.String(), "local_password": pl.Boolean(),
        "identities": pl.List(pl.Struct({"provider": pl.String(), "subject": pl.String()})),
        "calls": pl.List(pl.String()),
        "experts": pl.List(pl.Struct({"call_id": pl.String(), "expert_id": pl.String()})),
        "disabled": pl.Boolean(),
    }  # fmt: skip
    return rows_frame(rows, schema, sort=["user_id"])
