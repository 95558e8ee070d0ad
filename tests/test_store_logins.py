"""Local sign-in hardening: an unknown username costs what a wrong password costs, failed
attempts lock a username and a client for a growing delay, and the audit log grows by a
logarithmic number of lines, not one per attempt."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.store import (
    SYSTEM,
    AccountDisabled,
    PermissionDenied,
    SignInThrottled,
    audit_frame,
    authenticate,
    create_user,
    set_disabled,
)
from evalpanel.store.logins import FREE_CLIENT_FAILURES, FREE_FAILURES, MAX_DELAY, REFUSED, WINDOW
from evalpanel.store.tables import login_failures

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def refused(engine: sa.Engine, name: str, password: str, at: datetime, client: str = "c") -> str:
    """The refusal's message (fails when the sign-in goes through)."""
    with pytest.raises(PermissionDenied) as info:
        authenticate(engine, name, password, client=client, at=at)
    return str(info.value)


@pytest.mark.slow
def test_an_unknown_username_costs_what_a_wrong_password_costs(engine: sa.Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("timed once, on the embedded database")
    create_user(engine, SYSTEM, "alice", "expert", password="correct horse battery")
    refused(engine, "nobody", "x", T0)  # the dummy hash is made once per process: not timed
    timings: dict[str, list[float]] = {"known": [], "unknown": [], "no password": []}
    create_user(engine, SYSTEM, "bob", "applicant")
    for k in range(7):
        # two hours apart, so that no attempt is locked by the ones before
        at = T0 + timedelta(hours=2 * (k + 1))
        for kind, name in (("known", "alice"), ("unknown", f"nobody-{k}"),
                           ("no password", "bob")):
            start = time.perf_counter()
            message = refused(engine, name, "wrong guess", at, client=f"c-{k}-{kind}")
            timings[kind].append(time.perf_counter() - start)
            assert message == REFUSED
    medians = {kind: statistics.median(values) for kind, values in timings.items()}
    print("median seconds per refused sign-in:", medians)
    for kind in ("unknown", "no password"):
        assert 0.5 <= medians[kind] / medians["known"] <= 2.0, medians


def test_failures_lock_a_username_for_a_growing_delay(engine: sa.Engine) -> None:
    create_user(engine, SYSTEM, "alice", "expert", password="right")
    at = T0
    for _ in range(FREE_FAILURES - 1):
        assert refused(engine, "alice", "wrong", at) == REFUSED
    delays = []
    for _ in range(6):
        refused(engine, "alice", "wrong", at)
        # locked: even the right password is refused, and so is an unknown name's lookalike
        with pytest.raises(SignInThrottled) as info:
            authenticate(engine, "alice", "right", client="c", at=at)
        delays.append(info.value.retry_after_s)
        at += timedelta(seconds=info.value.retry_after_s)
    assert delays == [1, 2, 4, 8, 16, 32]
    assert authenticate(engine, "alice", "right", client="c", at=at).role == "expert"
    # success clears the username's count
    assert refused(engine, "alice", "wrong", at) == REFUSED
    # an unknown username is locked the same way: nothing tells the two apart
    for _ in range(FREE_FAILURES):
        refused(engine, "nobody", "wrong", T0, client="d")
    with pytest.raises(SignInThrottled):
        authenticate(engine, "nobody", "wrong", client="d", at=T0)


@pytest.mark.slow
def test_the_delay_stops_growing_and_the_count_restarts(engine: sa.Engine) -> None:
    at, delays = T0, []
    for k in range(FREE_FAILURES + 12):
        refused(engine, "nobody", "wrong", at, client=f"c{k}")
        with engine.connect() as conn:
            until = conn.execute(sa.select(login_failures.c.locked_until).where(
                login_failures.c.kind == "user")).scalar_one()
        if until is not None:  # the next attempt just when the lock ends
            delays.append(until.replace(tzinfo=UTC) - at)
            at = until.replace(tzinfo=UTC)
    assert delays[:3] == [timedelta(seconds=s) for s in (1, 2, 4)]
    assert max(delays) == MAX_DELAY == delays[-1] == delays[-2]
    # after the window without failures, the count starts again (and old rows are pruned)
    refused(engine, "nobody", "wrong", at + WINDOW, client="fresh")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(login_failures.c.kind, login_failures.c.failures)).all()
    assert sorted(rows) == [("client", 1), ("user", 1)]


def test_failures_lock_a_client_whatever_the_usernames(engine: sa.Engine) -> None:
    create_user(engine, SYSTEM, "alice", "expert", password="right")
    for k in range(FREE_CLIENT_FAILURES):
        refused(engine, f"guess-{k}", "wrong", T0, client="203.0.113.9")
    with pytest.raises(SignInThrottled):
        authenticate(engine, "alice", "right", client="203.0.113.9", at=T0)
    assert authenticate(engine, "alice", "right", client="203.0.113.10", at=T0).role == "expert"


@pytest.mark.slow
def test_anonymous_failures_add_few_audit_lines(engine: sa.Engine) -> None:
    create_user(engine, SYSTEM, "alice", "expert", password="right")
    at = T0
    for k in range(33):
        # each attempt after the lock of the one before: 33 counted failures in one window
        refused(engine, f"guess-{k}", "wrong", at, client="203.0.113.9")
        at += min(timedelta(seconds=2 ** max(0, k - FREE_CLIENT_FAILURES + 1)), MAX_DELAY)
    for _ in range(FREE_FAILURES):
        refused(engine, "alice", "wrong", at, client="198.51.100.1")
    log = audit_frame(engine, SYSTEM).filter(pl.col("action") == "login_failed")
    per_client = log.filter(pl.col("entity_id") == "203.0.113.9")
    assert per_client["after"].str.json_path_match("$.failures_in_window").to_list() == [
        "1", "2", "4", "8", "16", "32"]
    assert "guess" not in str(log.rows())  # typed usernames are not kept
    alice = log.filter(pl.col("entity") == "user")
    assert alice["after"].str.json_path_match("$.failures_in_window").to_list() == ["1", "2"]
    assert set(alice["after"].str.json_path_match("$.client")) == {"198.51.100.1"}


def test_a_disabled_account_is_refused_with_the_right_password_only(engine: sa.Engine) -> None:
    uid = create_user(engine, SYSTEM, "alice", "expert", password="right")
    set_disabled(engine, SYSTEM, uid, True)
    assert refused(engine, "alice", "wrong", T0) == REFUSED
    with pytest.raises(AccountDisabled, match="disabled"):
        authenticate(engine, "alice", "right", client="c", at=T0)
    set_disabled(engine, SYSTEM, uid, False)
    assert authenticate(engine, "alice", "right", client="c", at=T0).user_id == uid


def test_an_applicant_cannot_probe_which_usernames_exist(engine: sa.Engine) -> None:
    from evalpanel.store import Actor, user_ids
    from evalpanel.store.accounts import FREE_LOOKUP_MISSES

    app = Actor(create_user(engine, SYSTEM, "app", "applicant"), "applicant")
    colleague = create_user(engine, SYSTEM, "colleague", "expert")
    for k in range(FREE_LOOKUP_MISSES):
        assert user_ids(engine, app, ["colleague", f"probe-{k}"], at=T0) == {"colleague": colleague}
    # the misses so far lock further look-ups for a growing delay, known names or not
    with pytest.raises(PermissionDenied, match=r"do not exist; try again in 1 s"):
        user_ids(engine, app, ["colleague"], at=T0)
    assert user_ids(engine, app, ["colleague"], at=T0 + timedelta(seconds=1)) == {
        "colleague": colleague}
    other = Actor(create_user(engine, SYSTEM, "other", "applicant"), "applicant")
    assert user_ids(engine, other, ["colleague"], at=T0) == {"colleague": colleague}
    missed = audit_frame(engine, SYSTEM).filter(pl.col("action") == "lookup_missed")
    assert missed["after"].str.json_path_match("$.failures_in_window").to_list() == ["1", "2", "4"]
    assert set(missed["user_id"].to_list()) == {app.user_id}
