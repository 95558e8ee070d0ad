"""Looking up user ids by username, for inviting colleagues to a rehearsal.

A stop-gap: ``evalpanel.store`` has no service for this yet (it should move there as
``user_ids(engine, actor, usernames) -> dict[str, int]``). It returns only the ids of exactly
named accounts, nothing else about them.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from evalpanel.store import reading
from evalpanel.store.tables import users


def user_ids(engine: sa.Engine, usernames: Iterable[str]) -> dict[str, int]:
    """username -> user id of the named accounts that exist."""
    names = sorted({n.strip() for n in usernames if n.strip()})
    if not names:
        return {}
    with reading(engine) as conn:
        rows = conn.execute(sa.select(users.c.username, users.c.user_id).where(
            users.c.username.in_(names))).all()
    return {str(n): int(u) for n, u in rows}
