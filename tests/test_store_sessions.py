"""Server-side sessions on SQLite and PostgreSQL: minted, resumed with the role as stored now,
ended by sign-out, idle time, expiry, and by every account change that must end them; shared
by every engine (process) on one database; listed for the operator without ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.store import (
    SYSTEM,
    Actor,
    InvalidInput,
    PermissionDenied,
    SessionEnded,
    SessionPolicy,
    audit_frame,
    create_user,
    end_session,
    grant_call,
    import_call,
    list_sessions,
    make_engine,
    resume_session,
    revoke_sessions,
    set_disabled,
    set_password,
    set_role,
    start_session,
    ungrant_call,
)
from evalpanel.store.accounts import actor_for_identity, add_identity
from evalpanel.store.sessions import IDLE_ENV, MAX_ENV, token_hash
from evalpanel.store.tables import sessions
from tests.store_fixtures import make_call

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = SessionPolicy(idle_s=600, max_s=3600)


def sign_in(engine: sa.Engine, actor: Actor, at: datetime = T0) -> str:
    return start_session(engine, actor, "someone", provider="local", client="198.51.100.4",
                         policy=POLICY, at=at)


def ended(engine: sa.Engine, token: str, at: datetime | None = None) -> str:
    with pytest.raises(SessionEnded) as info:
        resume_session(engine, token, at=at)
    return info.value.reason


def test_policy_comes_from_the_environment() -> None:
    assert SessionPolicy.from_env({}) == SessionPolicy(1800, 43200)
    assert SessionPolicy.from_env({IDLE_ENV: " 5 ", MAX_ENV: ""}) == SessionPolicy(5, 43200)
    for bad in ("0", "-3", "1.5", "ten"):
        with pytest.raises(InvalidInput, match=f"{IDLE_ENV} must be a whole number .* {bad!r}"):
            SessionPolicy.from_env({IDLE_ENV: bad})


def test_a_session_lives_until_idle_or_expired(engine: sa.Engine) -> None:
    uid = create_user(engine, SYSTEM, "ada", "expert")
    token = sign_in(engine, Actor(uid, "expert"))
    assert len(token) >= 43  # 32 random bytes
    with engine.connect() as conn:
        (row,) = conn.execute(sa.select(sessions)).all()
    assert row.token_hash == token_hash(token) and token not in [str(v) for v in row]
    assert row.idle_timeout_s == 600
    live = resume_session(engine, token, at=T0 + timedelta(seconds=599))
    assert live.actor == Actor(uid, "expert") and live.name == "someone"
    assert live.ends_at == T0 + timedelta(seconds=599 + 600)
    # active every 9 minutes: lives until the absolute expiry, then no more
    for minutes in range(18, 60, 9):
        resume_session(engine, token, at=T0 + timedelta(minutes=minutes))
    assert ended(engine, token, T0 + timedelta(hours=1)) == "expired"
    # idle for the timeout: ended
    other = sign_in(engine, Actor(uid, "expert"))
    assert ended(engine, other, T0 + timedelta(seconds=600)) == "idle"
    assert ended(engine, "x" * 43) == "unknown"


def test_sign_out_and_every_account_change_end_sessions(engine: sa.Engine) -> None:
    import_call(engine, make_call())
    mgr = create_user(engine, SYSTEM, "mia", "manager", password="one")
    other = create_user(engine, SYSTEM, "olga", "manager", password="two")
    grant_call(engine, SYSTEM, "AFI-2026", mgr)
    keep = start_session(engine, Actor(other, "manager"), "olga", provider="local",
                         client="x")
    now = datetime.now(UTC)

    def session() -> str:
        return start_session(engine, Actor(mgr, "manager"), "mia", provider="local", client="x",
                             at=now)

    token = session()
    assert end_session(engine, token) and not end_session(engine, token)
    assert ended(engine, token) == "signed out"
    for change in (
        lambda: set_password(engine, SYSTEM, mgr, "new"),
        lambda: ungrant_call(engine, SYSTEM, "AFI-2026", mgr),
        lambda: set_role(engine, SYSTEM, mgr, "applicant"),
        lambda: set_role(engine, SYSTEM, mgr, "manager"),
    ):
        tokens = [session(), session()]
        change()
        assert [ended(engine, t) for t in tokens] == ["revoked", "revoked"]
    tokens = [session(), session()]
    assert set_disabled(engine, SYSTEM, mgr, True) and not set_disabled(engine, SYSTEM, mgr, True)
    assert [ended(engine, t) for t in tokens] == ["revoked", "revoked"]
    with pytest.raises(PermissionDenied, match="disabled"):
        session()
    assert set_disabled(engine, SYSTEM, mgr, False)
    assert resume_session(engine, session()).actor == Actor(mgr, "manager")
    assert resume_session(engine, keep).actor == Actor(other, "manager")  # others untouched
    revoked = audit_frame(engine, SYSTEM).filter(pl.col("action") == "revoke")
    assert revoked["after"].str.json_path_match("$.reason").to_list() == [
        "password changed", "grant removed", "role changed", "role changed", "account disabled"]
    assert audit_frame(engine, SYSTEM).filter(pl.col("action").is_in(
        ["disable", "enable"]))["action"].to_list() == ["disable", "enable"]


def test_role_changes_are_for_the_operator_and_need_no_ties(engine: sa.Engine) -> None:
    import_call(engine, make_call())
    mgr = create_user(engine, SYSTEM, "mia", "manager")
    grant_call(engine, SYSTEM, "AFI-2026", mgr)
    with pytest.raises(InvalidInput, match="still manages calls"):
        set_role(engine, SYSTEM, mgr, "expert")
    with pytest.raises(PermissionDenied):
        set_role(engine, Actor(mgr, "manager"), mgr, "expert")
    with pytest.raises(PermissionDenied):
        set_disabled(engine, Actor(mgr, "manager"), mgr, True)
    assert not set_role(engine, SYSTEM, mgr, "manager")


def test_a_disabled_account_gets_no_oidc_sign_in(engine: sa.Engine) -> None:
    uid = create_user(engine, SYSTEM, "orla", "expert")
    add_identity(engine, SYSTEM, uid, "oidc:https://idp.example.org", "s-1")
    assert actor_for_identity(engine, "oidc:https://idp.example.org", "s-1").user_id == uid
    set_disabled(engine, SYSTEM, uid, True)
    with pytest.raises(PermissionDenied, match="disabled"):
        actor_for_identity(engine, "oidc:https://idp.example.org", "s-1")


def test_every_engine_on_the_database_shares_sessions(engine: sa.Engine) -> None:
    uid = create_user(engine, SYSTEM, "ada", "applicant")
    other = make_engine(engine.url.render_as_string(hide_password=False), migrate=False)
    try:
        token = start_session(engine, Actor(uid, "applicant"), "ada", provider="local",
                              client="x")
        assert resume_session(other, token).actor == Actor(uid, "applicant")
        end_session(other, token)
        assert ended(engine, token) == "signed out"
    finally:
        other.dispose()


def test_the_operator_lists_sessions_without_ids(engine: sa.Engine) -> None:
    uid = create_user(engine, SYSTEM, "ada", "applicant")
    tokens = [sign_in(engine, Actor(uid, "applicant"), T0 + timedelta(minutes=i))
              for i in range(3)]
    end_session(engine, tokens[0])
    table = list_sessions(engine, SYSTEM, uid, at=T0 + timedelta(minutes=11, seconds=30))
    assert table.columns == ["provider", "client", "created_at", "last_seen_at", "ends_at",
                             "state"]
    assert table["state"].to_list() == ["active", "idle", "signed out"]
    assert table["ends_at"][0] == T0 + timedelta(minutes=12)
    shown = str(table.rows())
    assert not any(t in shown or token_hash(t) in shown for t in tokens)
    assert revoke_sessions(engine, SYSTEM, uid) == 2
    assert list_sessions(engine, SYSTEM, uid)["state"].to_list() == [
        "revoked: revoked by the operator"] * 2 + ["signed out"]
    with pytest.raises(PermissionDenied):
        list_sessions(engine, Actor(uid, "applicant"), uid)
    with pytest.raises(PermissionDenied):
        revoke_sessions(engine, Actor(uid, "applicant"), uid)
