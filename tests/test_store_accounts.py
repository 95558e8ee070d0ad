from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.store import (
    SYSTEM,
    InvalidInput,
    InvalidState,
    PermissionDenied,
    add_identity,
    audit_frame,
    authenticate,
    create_demo_accounts,
    create_user,
    import_call,
    is_demo_database,
    list_tasks,
    mark_demo_database,
    set_password,
)
from evalpanel.store.accounts import actor_for_identity
from evalpanel.store.tables import expert_links, identities
from tests.store_fixtures import make_call


def test_demo_accounts_only_in_the_demo_database(engine: sa.Engine) -> None:
    import_call(engine, make_call())
    assert not is_demo_database(engine)
    with pytest.raises(InvalidState, match="demo database"):
        create_demo_accounts(engine, 2)
    mark_demo_database(engine)
    made = create_demo_accounts(engine, 3)
    assert list(made) == ["manager", "expert1", "expert2", "expert3", "applicant"]
    manager = authenticate(engine, "manager", "demo")
    assert manager.role == "manager" and manager.user_id == made["manager"]
    expert2 = authenticate(engine, "expert2", "demo")
    with engine.connect() as conn:
        links = dict(
            conn.execute(sa.select(expert_links.c.user_id, expert_links.c.expert_id)).all()
        )
        hashes = conn.execute(sa.select(identities.c.password_hash)).scalars().all()
    assert links == {made["expert1"]: "E01", made["expert2"]: "E02", made["expert3"]: "E03"}
    assert all(h.startswith("$argon2id$") and "demo" not in h for h in hashes)
    assert list_tasks(engine, expert2, "AFI-2026").is_empty()
    assert audit_frame(engine, manager, "AFI-2026").height > 0


def test_a_database_with_users_never_becomes_the_demo(engine: sa.Engine) -> None:
    create_user(engine, SYSTEM, "alice", "manager", password="s3cret-Phrase")
    with pytest.raises(InvalidState, match="without users"):
        mark_demo_database(engine)
    with pytest.raises(InvalidState):
        create_demo_accounts(engine, 1)
    with pytest.raises(PermissionDenied):
        authenticate(engine, "manager", "demo")


@pytest.mark.slow
def test_login_checks_the_argon2_hash_and_logs_failures(engine: sa.Engine) -> None:
    uid = create_user(engine, SYSTEM, "alice", "expert", password="correct horse")
    nopass = create_user(engine, SYSTEM, "bob", "applicant")
    assert authenticate(engine, "alice", "correct horse").user_id == uid
    for name, pw in (("alice", "wrong"), ("nobody", "x"), ("bob", "")):
        with pytest.raises(PermissionDenied, match="unknown username or wrong password"):
            authenticate(engine, name, pw)
    # Failures are audited aggregated (see test_store_logins): per client, and per account
    # with a local login; an unknown username (or bob, who has no password) leaves no line.
    failed = audit_frame(engine, SYSTEM).filter(pl.col("action") == "login_failed")
    assert failed.filter(pl.col("entity") == "user")["entity_id"].to_list() == [str(uid)]
    assert failed.filter(pl.col("entity") == "client")["after"].str.json_path_match(
        "$.failures_in_window").to_list() == ["1", "2"]
    set_password(engine, SYSTEM, nopass, "now one")
    assert authenticate(engine, "bob", "now one").user_id == nopass
    with pytest.raises(PermissionDenied):
        set_password(engine, authenticate(engine, "bob", "now one"), uid, "hijack")
    with pytest.raises(InvalidInput, match="taken"):
        create_user(engine, SYSTEM, "alice", "expert")


def test_external_identities(engine: sa.Engine) -> None:
    uid = create_user(engine, SYSTEM, "carol", "manager")
    add_identity(engine, SYSTEM, uid, "oidc:https://login.example.eu", "sub-123")
    actor = actor_for_identity(engine, "oidc:https://login.example.eu", "sub-123")
    assert actor.user_id == uid and actor.role == "manager"
    with pytest.raises(PermissionDenied):
        add_identity(engine, actor, uid, "oidc:https://evil", "x")
