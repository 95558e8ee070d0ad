"""``evalpanel user`` through the real CLI on a real database (SQLite, and PostgreSQL when
``EVALPANEL_TEST_PG_URL`` is set), each effect checked through the store."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from evalpanel.cli import cli
from evalpanel.store import (
    SYSTEM,
    AccountDisabled,
    Actor,
    NotFound,
    PermissionDenied,
    SessionEnded,
    add_task,
    audit_frame,
    authenticate,
    find_user,
    list_calls,
    list_tasks,
    list_users,
    make_engine,
    resume_session,
    start_session,
)
from evalpanel.store.accounts import actor_for_identity
from evalpanel.store.tables import identities, sessions

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "fixtures" / "tiny"
CALL = "ERASMUS-EDU-2026-PI-ALL-INNO-TINY"
ISSUER = "https://idp.example.org/realms/panel"


def user(url: str, *args: str, input: str | None = None) -> Result:
    """``evalpanel user ARGS --db URL``; never an uncaught exception."""
    result = CliRunner().invoke(cli, ["user", *args, "--db", url], input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def ok(url: str, *args: str, input: str | None = None) -> Result:
    result = user(url, *args, input=input)
    assert result.exit_code == 0, result.output
    return result


def imported(url: str) -> sa.Engine:
    """``evalpanel import fixtures/tiny --db URL``, then an engine on the database."""
    result = CliRunner().invoke(cli, ["import", str(TINY), "--db", url])
    assert result.exit_code == 0, result.output
    return make_engine(url)


def test_add_and_password_set_what_authenticate_checks(db_url: str) -> None:
    added = ok(db_url, "add", "alice", "--role", "manager", "--password-stdin",
               input="first phrase\n")
    engine = make_engine(db_url)
    alice = find_user(engine, SYSTEM, "alice")
    assert added.stdout.strip() == str(alice.user_id) and alice.role == "manager"
    assert authenticate(engine, "alice", "first phrase") == alice
    with pytest.raises(PermissionDenied):
        authenticate(engine, "alice", "first phrase\n")
    # A new password typed twice at the prompt (not echoed) replaces the old one.
    changed = ok(db_url, "password", "alice", input="second phrase\nsecond phrase\n")
    assert "second phrase" not in changed.output
    assert authenticate(engine, "alice", "second phrase") == alice
    with pytest.raises(PermissionDenied):
        authenticate(engine, "alice", "first phrase")
    log = audit_frame(engine, SYSTEM).filter(pl.col("role") == "system")
    assert log.select("action", "role").rows() == [("create", "system"),
                                                    ("set_password", "system")]
    engine.dispose()


def test_oidc_only_account_and_its_identity(db_url: str) -> None:
    ok(db_url, "add", "carol", "--role", "expert", "--no-password", "--display-name", "Carol B")
    engine = make_engine(db_url)
    carol = find_user(engine, SYSTEM, "carol")
    with pytest.raises(PermissionDenied):
        authenticate(engine, "carol", "")
    with pytest.raises(NotFound):
        actor_for_identity(engine, f"oidc:{ISSUER}", "sub-7")
    ok(db_url, "link-oidc", "carol", ISSUER, "sub-7")
    assert actor_for_identity(engine, f"oidc:{ISSUER}", "sub-7") == carol
    # Linking again changes nothing; the same subject at another issuer is someone else.
    again = ok(db_url, "link-oidc", "carol", ISSUER, "sub-7")
    assert "already" in again.output
    with pytest.raises(NotFound):
        actor_for_identity(engine, f"oidc:{ISSUER}/", "sub-7")
    row = list_users(engine, SYSTEM).row(0, named=True)
    assert row["display_name"] == "Carol B" and row["local_password"] is False
    assert row["identities"] == [{"provider": f"oidc:{ISSUER}", "subject": "sub-7"}]
    # A password later gives the same account a local login too.
    ok(db_url, "password", "carol", "--password-stdin", input="pw of carol\r\n")
    assert authenticate(engine, "carol", "pw of carol") == carol
    engine.dispose()


def test_granted_manager_and_linked_expert_work_on_the_imported_call(db_url: str) -> None:
    engine = imported(db_url)
    uid = int(ok(db_url, "add", "mia", "--role", "manager", "--no-password").stdout)
    manager = Actor(uid, "manager")
    with pytest.raises(PermissionDenied):
        list_tasks(engine, manager, CALL)
    granted = ok(db_url, "grant", "mia", CALL)
    assert CALL in granted.output
    assert list_tasks(engine, manager, CALL).is_empty()
    assert "already manages" in ok(db_url, "grant", "mia", CALL).output

    expert = Actor(int(ok(db_url, "add", "xavier", "--role", "expert", "--no-password").stdout),
                   "expert")
    assert list_calls(engine, expert).is_empty()
    ok(db_url, "expert", "xavier", CALL, "X001")
    assert list_calls(engine, expert)["call_id"].to_list() == [CALL]
    task = add_task(engine, manager, CALL, "AFI-2026-0001", "X001")
    assert list_tasks(engine, expert, CALL)["task_id"].to_list() == [task]
    assert list_tasks(engine, manager, CALL)["task_id"].to_list() == [task]
    log = audit_frame(engine, manager, CALL).filter(pl.col("action").is_in(["grant", "link"]))
    assert log.select("action", "role", "entity_id").rows() == [
        ("grant", "system", CALL), ("link", "system", "X001")]
    row = list_users(engine, SYSTEM).filter(pl.col("username") == "xavier").row(0, named=True)
    assert row["experts"] == [{"call_id": CALL, "expert_id": "X001"}] and row["calls"] == []
    engine.dispose()


def test_list_shows_accounts_and_never_a_hash(db_url: str) -> None:
    engine = imported(db_url)
    ok(db_url, "add", "mia", "--role", "manager", "--password-stdin", input="mia's phrase\n")
    ok(db_url, "add", "xavier", "--role", "expert", "--no-password")
    ok(db_url, "grant", "mia", CALL)
    ok(db_url, "expert", "xavier", CALL, "X002")
    ok(db_url, "link-oidc", "xavier", ISSUER, "sub-x")
    out = ok(db_url, "list").output
    with engine.connect() as conn:
        (stored,) = conn.execute(
            sa.select(identities.c.password_hash).where(identities.c.password_hash.is_not(None))
        ).scalars().all()
    assert stored.startswith("$argon2") and stored not in out and "argon2" not in out
    lines = {line.split()[0]: line.split() for line in out.strip().splitlines()}
    ids = {n: str(find_user(engine, SYSTEM, n).user_id) for n in ("mia", "xavier")}
    assert lines["username"][:4] == ["username", "role", "id", "password"]
    assert lines["mia"][:5] == ["mia", "manager", ids["mia"], "yes", "-"]
    assert lines["mia"][5:] == [CALL]
    assert lines["xavier"][:4] == ["xavier", "expert", ids["xavier"], "no"]
    assert f"oidc:{ISSUER} sub-x" in out and f"{CALL} as X002" in out
    engine.dispose()


MISTAKES: list[tuple[list[str], str | None, list[str]]] = [
    (["password", "nobody", "--password-stdin"], "x\n", ["no user is named 'nobody'",
                                                          "evalpanel user list"]),
    (["grant", "nobody", CALL], None, ["no user is named 'nobody'"]),
    (["expert", "nobody", CALL, "X001"], None, ["no user is named 'nobody'"]),
    (["link-oidc", "nobody", ISSUER, "s"], None, ["no user is named 'nobody'"]),
    (["grant", "mia", "NO-SUCH-CALL"], None, ["no call 'NO-SUCH-CALL'", "import"]),
    (["expert", "xavier", "NO-SUCH-CALL", "X001"], None, ["no call 'NO-SUCH-CALL'"]),
    (["expert", "xavier", CALL, "X999"], None, [f"call '{CALL}' has no expert 'X999'"]),
    (["add", "mia", "--role", "expert", "--no-password"], None, ["'mia' is taken"]),
    (["grant", "xavier", CALL], None, ["'xavier' is an expert, not a manager"]),
    (["expert", "mia", CALL, "X003"], None, ["'mia' is a manager, not an expert"]),
    (["expert", "yann", CALL, "X001"], None, ["'X001'", "already linked to the user 'xavier'"]),
    (["expert", "xavier", CALL, "X003"], None, ["'xavier' is already the expert 'X001'"]),
    (["link-oidc", "mia", ISSUER, "sub-x"], None, ["already linked to the user 'xavier'"]),
    (["link-oidc", "mia", "idp.example.org", "s"], None, ["ISSUER", "iss claim", "https://"]),
    (["link-oidc", "mia", ISSUER, " "], None, ["SUBJECT is empty"]),
    (["add", "new", "--role", "expert", "--password-stdin"], "\n", ["password is empty"]),
    (["add", "new", "--role", "expert"], "\n\n", ["password is empty"]),
    (["add", "new", "--role", "expert"], "one\nother\n", ["two passwords typed differ"]),
    (["password", "mia"], "one\nother\n", ["two passwords typed differ"]),
    (["password", "mia", "--password-stdin"], "a\nb\n", ["one line"]),
    (["add", "new", "--role", "expert", "--no-password", "--password-stdin"], "x\n",
     ["exclude each other"]),
    (["add", "new", "--role", "admin"], None, ["'--role'", "manager", "applicant"]),
    (["add", " ", "--role", "expert", "--no-password"], None, ["username is empty"]),
    (["sessions", "nobody"], None, ["no user is named 'nobody'"]),
    (["revoke", "nobody"], None, ["no user is named 'nobody'"]),
    (["disable", "nobody"], None, ["no user is named 'nobody'"]),
    (["enable", "nobody"], None, ["no user is named 'nobody'"]),
    (["role", "xavier", "manager"], None, ["linked to experts", "remove those first"]),
    (["role", "mia", "admin"], None, ["'admin' is not one of"]),
    (["ungrant", "mia", "NO-SUCH-CALL"], None, ["no call 'NO-SUCH-CALL'"]),
]


def test_mistakes_exit_2_naming_what_to_fix_and_change_nothing(db_url: str) -> None:
    engine = imported(db_url)
    ok(db_url, "add", "mia", "--role", "manager", "--password-stdin", input="mia's phrase\n")
    ok(db_url, "add", "xavier", "--role", "expert", "--no-password")
    ok(db_url, "add", "yann", "--role", "expert", "--no-password")
    ok(db_url, "expert", "xavier", CALL, "X001")
    ok(db_url, "link-oidc", "xavier", ISSUER, "sub-x")
    before = list_users(engine, SYSTEM)
    n_audit = audit_frame(engine, SYSTEM).height
    for args, stdin, fragments in MISTAKES:
        result = user(db_url, *args, input=stdin)
        assert result.exit_code == 2, (args, result.output)
        for fragment in fragments:
            assert fragment in result.output, (args, fragment, result.output)
    assert list_users(engine, SYSTEM).equals(before)
    assert audit_frame(engine, SYSTEM).height == n_audit
    assert authenticate(engine, "mia", "mia's phrase").role == "manager"
    engine.dispose()


def test_a_database_that_cannot_be_opened_exits_2(tmp_path: Path) -> None:
    garbage = tmp_path / "notes.sqlite"
    garbage.write_text("not a database\n")
    for url, named in [
        ("evalpanel.sqlite", "evalpanel.sqlite"),
        (f"sqlite:///{garbage}", f"sqlite:///{garbage}: (sqlite3.DatabaseError)"),
        ("postgresql+psycopg://op:s3cret@127.0.0.1:1/panel", "postgresql+psycopg://op:***@127.0.0.1:1/panel"),
        ("nosuchdialect://x/y", "nosuchdialect://x/y"),
    ]:
        result = user(url, "list")
        assert result.exit_code == 2, (url, result.output)
        assert f"cannot open the database {named}" in result.output
        assert "SQLAlchemy URL such as" in result.output and "s3cret" not in result.output
    assert garbage.read_text() == "not a database\n"


def test_store_lookups_are_for_the_operator_only(engine: sa.Engine) -> None:
    from evalpanel.store import create_user

    uid = create_user(engine, SYSTEM, "mia", "manager")
    with pytest.raises(PermissionDenied):
        find_user(engine, Actor(uid, "manager"), "mia")
    with pytest.raises(PermissionDenied):
        list_users(engine, Actor(uid, "manager"))
    with pytest.raises(NotFound, match="'nobody'"):
        find_user(engine, SYSTEM, "nobody")
    denied = audit_frame(engine, SYSTEM).filter(pl.col("action").str.starts_with("denied:"))
    assert denied["action"].to_list() == ["denied:look up", "denied:list"]


def test_sessions_revoke_disable_enable(db_url: str) -> None:
    engine = imported(db_url)
    ok(db_url, "add", "mia", "--role", "manager", "--password-stdin", input="mia's phrase\n")
    ok(db_url, "grant", "mia", CALL)
    mia = find_user(engine, SYSTEM, "mia")
    assert "'mia' has no dashboard sessions" in ok(db_url, "sessions", "mia").output
    tokens = [start_session(engine, mia, "mia", provider="local", client=f"192.0.2.{i}")
              for i in (1, 2)]
    out = ok(db_url, "sessions", "mia").output
    lines = out.strip().splitlines()
    assert lines[0].split() == ["state", "provider", "client", "started", "last", "request",
                                "ends"]
    assert [line.split()[:3] for line in lines[1:]] == [["active", "local", "192.0.2.2"],
                                                       ["active", "local", "192.0.2.1"]]
    with engine.connect() as conn:
        hashes = conn.execute(sa.select(sessions.c.token_hash)).scalars().all()
    assert not any(t in out for t in [*tokens, *hashes])  # never an id, nor its hash
    assert "ended 2 sessions of 'mia'" in ok(db_url, "revoke", "mia").output
    for token in tokens:
        with pytest.raises(SessionEnded):
            resume_session(engine, token)
    assert ok(db_url, "sessions", "mia").output.count("revoked: revoked by the operator") == 2

    token = start_session(engine, mia, "mia", provider="local", client="x")
    assert "'mia' is now disabled" in ok(db_url, "disable", "mia").output
    assert "'mia' was already disabled" in ok(db_url, "disable", "mia").output
    assert "manager,disabled" in ok(db_url, "list").output
    with pytest.raises(SessionEnded):
        resume_session(engine, token)
    with pytest.raises(AccountDisabled):
        authenticate(engine, "mia", "mia's phrase")
    assert "'mia' is now enabled" in ok(db_url, "enable", "mia").output
    assert "disabled" not in ok(db_url, "list").output
    assert authenticate(engine, "mia", "mia's phrase") == mia

    token = start_session(engine, mia, "mia", provider="local", client="x")
    assert f"'mia' no longer manages the call '{CALL}'" in ok(db_url, "ungrant", "mia", CALL).output
    assert "did not manage" in ok(db_url, "ungrant", "mia", CALL).output
    with pytest.raises(SessionEnded):
        resume_session(engine, token)
    assert "'mia' is now an expert" in ok(db_url, "role", "mia", "expert").output
    assert find_user(engine, SYSTEM, "mia").role == "expert"
    actions = audit_frame(engine, SYSTEM).filter(
        pl.col("entity_id") == str(mia.user_id), pl.col("entity").is_in(["user", "sessions"]))
    assert [a for a in actions["action"].to_list() if a != "create"] == [
        "revoke", "disable", "revoke", "denied:log in as", "enable", "revoke", "set_role"]
    engine.dispose()
