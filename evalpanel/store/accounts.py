"""Users, login identities, managed calls and expert links.

A user has one role (manager, expert, applicant). Logins are rows of ``identities`` keyed by
``(provider, subject)``: provider ``"local"`` with the username as subject and an argon2 hash of
the password; other providers (``"oidc:" + issuer``) store no secret. Experts are linked per call
to an expert row of the call folder (``expert_links``); managers are granted calls
(``call_managers``). Linking twice is a no-op (the functions return False); linking what belongs
to someone else is refused with :class:`InvalidInput`. A password change, a role change, a
removed grant and disabling the account end all of the user's dashboard sessions
(:mod:`evalpanel.store.sessions`), in the same transaction. Sign-in itself is in
:mod:`evalpanel.store.logins`. The demo accounts are in
:mod:`evalpanel.store.demo_accounts`, the operator's listing in :mod:`evalpanel.store.roster`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from evalpanel.store.access import (
    can_create_user,
    can_operate,
    can_rehearse,
    can_set_password,
    deny,
    require,
    require_manager,
)
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, NotFound, PermissionDenied
from evalpanel.store.frames import inserted_id
from evalpanel.store.logins import (
    LOCAL,
    audit_failure,
    count_failure,
    failure_key,
    hasher,
    locked_for,
)
from evalpanel.store.rows import require_call
from evalpanel.store.sessions import revoke_user_sessions
from evalpanel.store.tables import (
    ROLES,
    call_managers,
    expert_links,
    experts,
    identities,
    users,
)
from evalpanel.vocab import Role

FREE_LOOKUP_MISSES = 5  # look-ups naming an unknown username before the delay starts

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
        require(can_create_user(actor, role), actor, "create", "user", username)
        hashed = None if password is None else _hash(password)
        return _insert_user(conn, actor, username, role, hashed, display_name)


def add_identity(
    engine: sa.Engine, actor: Actor, user_id: int, provider: str, subject: str
) -> bool:
    """Link an external login (``provider`` e.g. ``"oidc:https://issuer"``, ``subject``); False
    when the user had it already. An identity of another user, or a ``"local"`` one, is
    refused (local logins come from a password)."""
    with writing(engine) as conn:
        return link_identity(conn, actor, user_id, provider, subject)


def link_identity(
    conn: sa.Connection, actor: Actor, user_id: int, provider: str, subject: str
) -> bool:
    """:func:`add_identity` inside the caller's transaction (an invitation links the identity
    in the transaction that uses its token)."""
    require(can_operate(actor), actor, "link", "identity", f"{provider}:{subject}")
    name, _ = _user(conn, user_id)
    if not provider.strip() or not subject.strip() or provider == LOCAL:
        raise InvalidInput(
            "an external identity needs a provider other than 'local' (e.g. "
            f"'oidc:https://issuer') and a subject; got {provider!r}, {subject!r}"
        )
    owner = conn.execute(
        sa.select(users.c.user_id, users.c.username)
        .join(identities)
        .where(identities.c.provider == provider, identities.c.subject == subject)
    ).first()
    if owner is not None:
        if owner.user_id == user_id:
            return False
        raise InvalidInput(
            f"the identity {provider} {subject} is already linked to the user "
            f"{owner.username!r}, not {name!r}"
        )
    conn.execute(
        identities.insert().values(
            provider=provider, subject=subject, user_id=user_id, created_at=now()
        )
    )
    record(
        conn, actor, "create", "identity", f"{provider}:{subject}", after={"user_id": user_id}
    )
    return True


def actor_for_identity(engine: sa.Engine, provider: str, subject: str) -> Actor:
    """The actor of an already verified external identity (the OIDC callback's job); a
    disabled account is refused (:class:`PermissionDenied`, audited)."""
    with reading(engine) as conn:
        row = conn.execute(
            sa.select(users.c.user_id, users.c.role, users.c.disabled_at)
            .join(identities)
            .where(identities.c.provider == provider, identities.c.subject == subject)
        ).first()
        if row is not None and row.disabled_at is not None:
            deny(Actor(int(row.user_id), row.role), "log in as", "user", row.user_id,
                 "the account is disabled")
    if row is None:
        raise NotFound(f"no user has the identity {provider}:{subject}")
    return Actor(int(row.user_id), row.role)


def set_password(engine: sa.Engine, actor: Actor, user_id: int, password: str) -> None:
    """Set a user's local password (the user themself or the system actor)."""
    with writing(engine) as conn:
        require(can_set_password(actor, user_id), actor, "set the password of", "user", user_id)
        name, _ = _user(conn, user_id)
        hashed = _hash(password)
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
        revoke_user_sessions(conn, actor, user_id, "password changed")


def grant_call(engine: sa.Engine, actor: Actor, call_id: str, user_id: int) -> bool:
    """Make a manager user a manager of ``call_id`` (system actor or a manager of the call);
    False when the user manages it already."""
    with writing(engine) as conn:
        require_manager(conn, actor, "grant", call_id)
        require_call(conn, call_id)
        name, role = _user(conn, user_id)
        if role != "manager":
            raise InvalidInput(
                f"the user {name!r} is an {role}, not a manager; only managers are granted calls"
            )
        granted = conn.execute(
            sa.select(call_managers.c.user_id).where(
                call_managers.c.call_id == call_id, call_managers.c.user_id == user_id
            )
        ).first()
        if granted is not None:
            return False
        conn.execute(call_managers.insert().values(call_id=call_id, user_id=user_id))
        record(conn, actor, "grant", "call", call_id, call_id=call_id, after={"user_id": user_id})
        return True


def ungrant_call(engine: sa.Engine, actor: Actor, call_id: str, user_id: int) -> bool:
    """Take ``call_id`` away from the manager ``user_id`` (system actor or a manager of the
    call) and end that user's sessions; False when the user did not manage it."""
    with writing(engine) as conn:
        require_manager(conn, actor, "ungrant", call_id)
        require_call(conn, call_id)
        _user(conn, user_id)
        removed = conn.execute(
            call_managers.delete().where(
                call_managers.c.call_id == call_id, call_managers.c.user_id == user_id
            )
        ).rowcount
        if not removed:
            return False
        record(conn, actor, "ungrant", "call", call_id, call_id=call_id,
               before={"user_id": user_id})
        revoke_user_sessions(conn, actor, user_id, "grant removed")
        return True


def set_role(engine: sa.Engine, actor: Actor, user_id: int, role: Role) -> bool:
    """Give ``user_id`` another role (the local operator only) and end its sessions; False when
    it has that role already. A user who still manages calls or is linked to experts keeps
    the role until those are removed (they belong to the old role)."""
    with writing(engine) as conn:
        require(can_operate(actor), actor, "change the role of", "user", user_id)
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}; got {role!r}")
        name, old = _user(conn, user_id)
        if old == role:
            return False
        ties = conn.execute(
            sa.select(sa.func.count()).select_from(call_managers)
            .where(call_managers.c.user_id == user_id)
        ).scalar_one() + conn.execute(
            sa.select(sa.func.count()).select_from(expert_links)
            .where(expert_links.c.user_id == user_id)
        ).scalar_one()
        if ties:
            raise InvalidInput(
                f"the {old} {name!r} still manages calls or is linked to experts; remove "
                "those first (they belong to the old role)"
            )
        conn.execute(users.update().where(users.c.user_id == user_id).values(role=role))
        record(conn, actor, "set_role", "user", user_id, before={"role": old}, after={"role": role})
        revoke_user_sessions(conn, actor, user_id, "role changed")
        return True


def set_disabled(engine: sa.Engine, actor: Actor, user_id: int, disabled: bool) -> bool:
    """Disable (no sign-in, local or OIDC, and every session ended) or enable ``user_id``
    again (the local operator only); False when it was so already."""
    with writing(engine) as conn:
        require(can_operate(actor), actor, "disable" if disabled else "enable", "user", user_id)
        _user(conn, user_id)
        was = conn.execute(
            sa.select(users.c.disabled_at).where(users.c.user_id == user_id)
        ).scalar_one()
        if (was is not None) == disabled:
            return False
        conn.execute(
            users.update().where(users.c.user_id == user_id)
            .values(disabled_at=now() if disabled else None)
        )
        record(conn, actor, "disable" if disabled else "enable", "user", user_id)
        if disabled:
            revoke_user_sessions(conn, actor, user_id, "account disabled")
        return True


def link_expert(
    engine: sa.Engine, actor: Actor, user_id: int, call_id: str, expert_id: str
) -> bool:
    """Link an expert user to the expert ``expert_id`` of ``call_id``; False when exactly this
    link exists already. A user is one expert per call, and an expert one user."""
    with writing(engine) as conn:
        require_manager(conn, actor, "link experts of", call_id)
        require_call(conn, call_id)
        return _link(conn, actor, user_id, call_id, expert_id)


def _link(conn: sa.Connection, actor: Actor, user_id: int, call_id: str, expert_id: str) -> bool:
    name, role = _user(conn, user_id)
    if role != "expert":
        raise InvalidInput(
            f"the user {name!r} is {'an' if role == 'applicant' else 'a'} {role}, not an expert; "
            "only expert accounts are linked to experts"
        )
    found = conn.execute(
        sa.select(experts.c.expert_id).where(
            experts.c.call_id == call_id, experts.c.expert_id == expert_id
        )
    ).first()
    if found is None:
        raise NotFound(f"the call {call_id!r} has no expert {expert_id!r} (see its experts.csv)")
    taken = conn.execute(
        sa.select(expert_links.c.user_id, expert_links.c.expert_id, users.c.username)
        .join(users)
        .where(
            expert_links.c.call_id == call_id,
            (expert_links.c.user_id == user_id) | (expert_links.c.expert_id == expert_id),
        )
    ).all()
    for row in taken:
        if row.user_id == user_id and row.expert_id == expert_id:
            return False
        if row.user_id == user_id:
            raise InvalidInput(
                f"the user {name!r} is already the expert {row.expert_id!r} of the call "
                f"{call_id!r}; a user is one expert per call"
            )
        raise InvalidInput(
            f"the expert {expert_id!r} of the call {call_id!r} is already linked to the user "
            f"{row.username!r}"
        )
    conn.execute(
        expert_links.insert().values(user_id=user_id, call_id=call_id, expert_id=expert_id)
    )
    record(conn, actor, "link", "expert", expert_id, call_id=call_id, after={"user_id": user_id})
    return True


def _user(conn: sa.Connection, user_id: int) -> tuple[str, str]:
    """``(username, role)`` of a user, or :class:`NotFound`."""
    row = conn.execute(
        sa.select(users.c.username, users.c.role).where(users.c.user_id == user_id)
    ).first()
    if row is None:
        raise NotFound(f"no user has the id {user_id}")
    return str(row.username), str(row.role)



def _hash(password: str) -> str:
    if not password:
        raise InvalidInput("a password must not be empty")
    return hasher.hash(password)


def user_ids(
    engine: sa.Engine, actor: Actor, usernames: Iterable[str], *, at: datetime | None = None
) -> dict[str, int]:
    """username → user id of the exactly named accounts that exist, for an applicant inviting
    colleagues to a rehearsal. Nothing else about an account is returned; other roles are
    refused (they have no invitations to make). A look-up naming a username that does not
    exist counts against the applicant like a failed sign-in (audited as ``lookup_missed`` at
    counts 1, 2, 4, …); after :data:`FREE_LOOKUP_MISSES` of them further look-ups wait for a
    growing delay, so that an applicant cannot probe which usernames exist."""
    names = sorted({n.strip() for n in usernames if n.strip()})
    when = at or now()
    with writing(engine) as conn:
        require(can_rehearse(actor), actor, "look up", "users", ",".join(names) or "-")
        if not names:
            return {}
        key = failure_key("lookup", str(actor.user_id))
        wait = locked_for(conn, [key], when)
        if not wait:
            rows = conn.execute(
                sa.select(users.c.username, users.c.user_id).where(users.c.username.in_(names))
            ).all()
            if len(rows) < len(names):
                misses = count_failure(conn, key, "lookup", FREE_LOOKUP_MISSES, when)
                audit_failure(conn, when, "user", str(actor.user_id), misses, actor=actor,
                              action="lookup_missed")
    if wait:
        raise PermissionDenied(
            f"too many invitations named usernames that do not exist; try again in {wait} s "
            "(check the usernames with your colleagues)"
        )
    return {str(n): int(u) for n, u in rows}
