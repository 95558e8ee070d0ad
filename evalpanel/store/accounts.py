"""Users, login identities and the demo accounts.

A user has one role (manager, expert, applicant). Logins are rows of ``identities`` keyed by
``(provider, subject)``: provider ``"local"`` with the username as subject and an argon2 hash of
the password; other providers (OIDC later) store no secret. Experts are linked per call to an
expert row of the call folder (``expert_links``); managers are granted calls (``call_managers``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from evalpanel.store.audit import SYSTEM, Actor, Role, deny, manages, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, InvalidState, NotFound
from evalpanel.store.frames import inserted_id
from evalpanel.store.tables import (
    ROLES,
    call_managers,
    calls,
    expert_links,
    experts,
    identities,
    settings,
    users,
)

LOCAL = "local"
SECRET_KEY = "dashboard_session_secret"
DEMO_FLAG = "demo_database"
DEMO_PASSWORD = "demo"
_hasher = PasswordHasher()


def _insert_user(
    conn: sa.Connection,
    actor: Actor,
    username: str,
    role: str,
    password_hash: str | None,
    display_name: str,
) -> int:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if not username.strip():
        raise InvalidInput("a username must not be empty")
    taken = conn.execute(sa.select(users.c.user_id).where(users.c.username == username)).first()
    if taken is not None:
        raise InvalidInput(f"the username {username!r} is taken; choose another one")
    user_id = inserted_id(
        conn.execute(
            users.insert().values(
                username=username,
                display_name=display_name or username,
                role=role,
                created_at=now(),
            )
        )
    )
    if password_hash is not None:
        conn.execute(
            identities.insert().values(
                provider=LOCAL,
                subject=username,
                user_id=user_id,
                password_hash=password_hash,
                created_at=now(),
            )
        )
    record(
        conn,
        actor,
        "create",
        "user",
        user_id,
        after={"username": username, "role": role, "local_login": password_hash is not None},
    )
    return int(user_id)


def create_user(
    engine: sa.Engine,
    actor: Actor,
    username: str,
    role: Role,
    *,
    password: str | None = None,
    display_name: str = "",
) -> int:
    """Create a user (system actor or any manager; only the system creates managers) and return
    its id. Without ``password`` the user has no local login (e.g. an OIDC identity later)."""
    with writing(engine) as conn:
        if actor.role != "system" and not (actor.role == "manager" and role != "manager"):
            deny(
                actor,
                "create",
                "user",
                username,
                "only managers create expert and applicant "
                "accounts, and only the local operator creates managers",
            )
        hashed = None if password is None else _hasher.hash(password)
        return _insert_user(conn, actor, username, role, hashed, display_name)


def add_identity(
    engine: sa.Engine, actor: Actor, user_id: int, provider: str, subject: str
) -> None:
    """Link an external login (``provider`` e.g. ``"oidc:https://issuer"``, ``subject``)."""
    with writing(engine) as conn:
        if actor.role != "system":
            deny(actor, "link", "identity", f"{provider}:{subject}", "only the local operator")
        conn.execute(
            identities.insert().values(
                provider=provider, subject=subject, user_id=user_id, created_at=now()
            )
        )
        record(
            conn, actor, "create", "identity", f"{provider}:{subject}", after={"user_id": user_id}
        )


def actor_for_identity(engine: sa.Engine, provider: str, subject: str) -> Actor:
    """The actor of an already verified external identity (the OIDC callback's job)."""
    with reading(engine) as conn:
        row = conn.execute(
            sa.select(users.c.user_id, users.c.role)
            .join(identities)
            .where(identities.c.provider == provider, identities.c.subject == subject)
        ).first()
    if row is None:
        raise NotFound(f"no user has the identity {provider}:{subject}")
    return Actor(int(row.user_id), row.role)


def authenticate(engine: sa.Engine, username: str, password: str) -> Actor:
    """The actor of a local login; a wrong username or password raises ``PermissionDenied``
    (logged) with the same message either way."""
    with reading(engine) as conn:
        row = conn.execute(
            sa.select(users.c.user_id, users.c.role, identities.c.password_hash)
            .join(identities, identities.c.user_id == users.c.user_id)
            .where(identities.c.provider == LOCAL, identities.c.subject == username)
        ).first()
        ok = False
        if row is not None and row.password_hash:
            try:
                ok = _hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                ok = False
        if not ok or row is None:
            deny(
                Actor(None, "applicant"),
                "log in as",
                "user",
                username,
                "unknown username or wrong password",
            )
    return Actor(int(row.user_id), row.role)


def set_password(engine: sa.Engine, actor: Actor, user_id: int, password: str) -> None:
    """Set a user's local password (the user themself or the system actor)."""
    with writing(engine) as conn:
        if actor.role != "system" and actor.user_id != user_id:
            deny(actor, "set the password of", "user", user_id, "only the user themself")
        name = conn.execute(sa.select(users.c.username).where(users.c.user_id == user_id)).scalar()
        if name is None:
            raise NotFound(f"no user {user_id}")
        hashed = _hasher.hash(password)
        updated = conn.execute(
            identities.update()
            .where(identities.c.provider == LOCAL, identities.c.user_id == user_id)
            .values(password_hash=hashed)
        ).rowcount
        if not updated:
            conn.execute(
                identities.insert().values(
                    provider=LOCAL,
                    subject=name,
                    user_id=user_id,
                    password_hash=hashed,
                    created_at=now(),
                )
            )
        record(conn, actor, "set_password", "user", user_id)


def grant_call(engine: sa.Engine, actor: Actor, call_id: str, user_id: int) -> None:
    """Make a manager user a manager of ``call_id`` (system actor or a manager of the call)."""
    with writing(engine) as conn:
        if not manages(conn, actor, call_id):
            deny(actor, "grant", "call", call_id, "only a manager of this call", call_id=call_id)
        role = conn.execute(sa.select(users.c.role).where(users.c.user_id == user_id)).scalar()
        if role != "manager":
            raise InvalidInput(f"user {user_id} is not a manager (role {role!r})")
        conn.execute(call_managers.insert().values(call_id=call_id, user_id=user_id))
        record(conn, actor, "grant", "call", call_id, call_id=call_id, after={"user_id": user_id})


def link_expert(
    engine: sa.Engine, actor: Actor, user_id: int, call_id: str, expert_id: str
) -> None:
    """Link an expert user to the expert ``expert_id`` of ``call_id``."""
    with writing(engine) as conn:
        if not manages(conn, actor, call_id):
            deny(
                actor,
                "link experts of",
                "call",
                call_id,
                "only a manager of this call",
                call_id=call_id,
            )
        _link(conn, actor, user_id, call_id, expert_id)


def _link(conn: sa.Connection, actor: Actor, user_id: int, call_id: str, expert_id: str) -> None:
    role = conn.execute(sa.select(users.c.role).where(users.c.user_id == user_id)).scalar()
    if role != "expert":
        raise InvalidInput(f"user {user_id} is not an expert (role {role!r})")
    conn.execute(
        expert_links.insert().values(user_id=user_id, call_id=call_id, expert_id=expert_id)
    )
    record(conn, actor, "link", "expert", expert_id, call_id=call_id, after={"user_id": user_id})


def expert_of(conn: sa.Connection, actor: Actor, call_id: str) -> str | None:
    """The expert id the actor is in ``call_id`` (None when not an expert there)."""
    if actor.role != "expert" or actor.user_id is None:
        return None
    value = conn.execute(
        sa.select(expert_links.c.expert_id).where(
            expert_links.c.user_id == actor.user_id, expert_links.c.call_id == call_id
        )
    ).scalar()
    return None if value is None else str(value)


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
        hashed = _hasher.hash(DEMO_PASSWORD)
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


def user_ids(engine: sa.Engine, actor: Actor, usernames: Iterable[str]) -> dict[str, int]:
    """username → user id of the exactly named accounts that exist, for an applicant inviting
    colleagues to a rehearsal. Nothing else about an account is returned; other roles are
    refused (they have no invitations to make)."""
    names = sorted({n.strip() for n in usernames if n.strip()})
    with reading(engine) as conn:
        if actor.role != "applicant" or actor.user_id is None:
            deny(actor, "look up", "users", ",".join(names) or "-", "only applicants invite users")
        if not names:
            return {}
        rows = conn.execute(
            sa.select(users.c.username, users.c.user_id).where(users.c.username.in_(names))
        ).all()
    return {str(n): int(u) for n, u in rows}


def server_secret(engine: sa.Engine) -> str:
    """The server's random secret (64 hex digits, e.g. the key signing dashboard sessions):
    made on first use and kept in the ``settings`` table, the same for every server process
    on the database afterwards."""
    stmt = sa.select(settings.c.value).where(settings.c.key == SECRET_KEY)
    with reading(engine) as conn:
        value = conn.execute(stmt).scalar()
    if value is not None:
        return str(value)
    try:
        with writing(engine) as conn:
            conn.execute(settings.insert().values(key=SECRET_KEY, value=secrets.token_hex(32)))
            record(conn, SYSTEM, "create", "setting", SECRET_KEY)
    except sa.exc.IntegrityError:
        pass  # another process made it first; theirs is the one
    with reading(engine) as conn:
        return str(conn.execute(stmt).scalar_one())
