"""The demo database and its accounts (``manager``, ``expert1``…``expertN``, ``applicant``, all
with the password ``demo``), refused on any database not flagged as the demo one."""

from __future__ import annotations

import sqlalchemy as sa

from evalpanel.store.accounts import _insert_user, _link
from evalpanel.store.audit import SYSTEM, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, InvalidState
from evalpanel.store.logins import hasher
from evalpanel.store.tables import call_managers, calls, experts, settings, users

DEMO_FLAG = "demo_database"
DEMO_PASSWORD = "demo"


def is_demo_database(engine: sa.Engine) -> bool:
    with reading(engine) as conn:
        return (
            conn.execute(sa.select(settings.c.value).where(settings.c.key == DEMO_FLAG)).scalar()
            == "1"
        )


def mark_demo_database(engine: sa.Engine) -> None:
    """Flag a database as the demo database; refused once any user exists."""
    with writing(engine) as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(users)).scalar():
            raise InvalidState(
                "only a database without users can become the demo database; "
                "use a new database file for the demo"
            )
        conn.execute(settings.insert().values(key=DEMO_FLAG, value="1"))
        record(conn, SYSTEM, "mark_demo", "database", "demo")


def create_demo_accounts(
    engine: sa.Engine, n_experts: int, *, call_id: str | None = None
) -> dict[str, int]:
    """Create ``manager``, ``expert1``…``expertN`` (linked to the call's first N experts by
    id) and ``applicant``, all with the password ``demo``; returns username → user id.
    Only on a database flagged by :func:`mark_demo_database`."""
    if not is_demo_database(engine):
        raise InvalidState(
            "demo accounts (password 'demo') can only be created in the demo "
            "database; this database is not flagged as one"
        )
    with writing(engine) as conn:
        if call_id is None:
            ids = conn.execute(sa.select(calls.c.call_id)).scalars().all()
            if len(ids) != 1:
                raise InvalidInput(f"name the call for the demo accounts ({len(ids)} calls here)")
            call_id = str(ids[0])
        pool = (
            conn.execute(
                sa.select(experts.c.expert_id)
                .where(experts.c.call_id == call_id)
                .order_by(experts.c.expert_id)
                .limit(n_experts)
            )
            .scalars()
            .all()
        )
        if len(pool) < n_experts:
            raise InvalidInput(
                f"the call {call_id!r} has {len(pool)} experts; "
                f"ask for at most that many demo experts, not {n_experts}"
            )
        hashed = hasher.hash(DEMO_PASSWORD)
        made = {"manager": _insert_user(conn, SYSTEM, "manager", "manager", hashed, "Demo manager")}
        conn.execute(call_managers.insert().values(call_id=call_id, user_id=made["manager"]))
        for i, expert_id in enumerate(pool, start=1):
            name = f"expert{i}"
            made[name] = _insert_user(conn, SYSTEM, name, "expert", hashed, name)
            _link(conn, SYSTEM, made[name], call_id, str(expert_id))
        made["applicant"] = _insert_user(
            conn, SYSTEM, "applicant", "applicant", hashed, "Demo applicant"
        )
        return made
