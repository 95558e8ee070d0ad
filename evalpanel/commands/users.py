"""``evalpanel user``: the operator's accounts on a real deployment.

Each subcommand opens the database of ``--db URL`` (the embedded SQLite file by default, as
``evalpanel import`` does) and acts as the local operator (the store's ``SYSTEM`` actor); every
change is audit-logged by the store. A password is never a command-line argument: it is read from
stdin (``--password-stdin``, one line) or prompted twice without echo. Every mistake (unknown
user, call or expert, a taken username, a wrong role, an empty or mismatched password, a database
that cannot be opened) ends with one line saying what to fix and exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import click
import sqlalchemy as sa

from evalpanel.commands._database import db_option, open_engine
from evalpanel.store import (
    SYSTEM,
    Actor,
    NotFound,
    StoreError,
    add_identity,
    create_user,
    find_user,
    grant_call,
    link_expert,
    list_sessions,
    list_users,
    revoke_sessions,
    set_disabled,
    set_password,
    set_role,
    ungrant_call,
)
from evalpanel.vocab import Role

ROLES = ("manager", "expert", "applicant")
LIST_HINT = "`evalpanel user list` shows the accounts"


def _invalid(message: str) -> click.ClickException:
    from evalpanel.cli import InvalidInput

    return InvalidInput(f"evalpanel user: {message}")


@contextmanager
def store_errors() -> Iterator[None]:
    """A store error becomes exit 2 with its message (which says what to change)."""
    try:
        yield
    except NotFound as exc:
        hint = f" ({LIST_HINT})" if str(exc).startswith("no user") else ""
        raise _invalid(f"{exc}{hint}") from None
    except StoreError as exc:
        raise _invalid(str(exc)) from None


def lookup(engine: sa.Engine, username: str) -> Actor:
    with store_errors():
        return find_user(engine, SYSTEM, username)


def read_password(from_stdin: bool) -> str:
    """One line of stdin (its line ending dropped), or a password typed twice without echo."""
    if from_stdin:
        text = sys.stdin.read()
        value = text.removesuffix("\n").removesuffix("\r")
        if "\n" in value:
            raise _invalid("--password-stdin reads the password from one line; got several lines")
    else:
        value = click.prompt("Password", hide_input=True, default="", show_default=False)
        again = click.prompt("Repeat the password", hide_input=True, default="", show_default=False)
        if value != again:
            raise _invalid("the two passwords typed differ; nothing was changed, run it again")
    if not value.strip():
        raise _invalid("the password is empty; type one, or pipe one line to --password-stdin")
    return str(value)


@click.group(name="user")
def user() -> None:
    """Create accounts, set passwords, grant calls, link experts and OIDC identities; list and
    end a user's dashboard sessions, disable and enable accounts.

    Each subcommand acts on the embedded database unless --db URL is given, as the local
    operator; every change is written to the audit log. Passwords are read from a prompt
    (typed twice, not shown) or from stdin with --password-stdin, never from the command line.
    """


@user.command(name="add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="The account's role.")
@click.option(
    "--password-stdin",
    "from_stdin",
    is_flag=True,
    help="Read the password from one line of stdin instead of prompting.",
)
@click.option(
    "--no-password",
    is_flag=True,
    help="No local login (the user signs in through OIDC; see link-oidc).",
)
@click.option(
    "--display-name",
    default="",
    metavar="NAME",
    help="The name shown in the dashboard (default: the username).",
)
@db_option
def add(
    username: str,
    role: str,
    from_stdin: bool,
    no_password: bool,
    display_name: str,
    url: str | None,
) -> None:
    """Create the account USERNAME and print its user id.

    Managers are then granted calls (`evalpanel user grant`), experts linked to an expert of a
    call (`evalpanel user expert`).
    """
    if from_stdin and no_password:
        raise _invalid("--password-stdin and --no-password exclude each other; choose one")
    if not username.strip():
        raise _invalid("the username is empty; give the name the user signs in with")
    engine = open_engine(url)
    try:
        taken = find_user(engine, SYSTEM, username)
    except NotFound:
        pass
    else:
        raise _invalid(
            f"the username {username!r} is taken (user {taken.user_id}, role "
            f"{taken.role}); choose another one"
        )
    password = None if no_password else read_password(from_stdin)
    with store_errors():
        user_id = create_user(
            engine,
            SYSTEM,
            username,
            cast("Role", role),
            password=password,
            display_name=display_name,
        )
    click.echo(
        f"created the {role} {username!r}"
        + (" without a local password" if password is None else ""),
        err=True,
    )
    click.echo(user_id)


@user.command(name="password")
@click.argument("username")
@click.option(
    "--password-stdin",
    "from_stdin",
    is_flag=True,
    help="Read the password from one line of stdin instead of prompting.",
)
@db_option
def password_(username: str, from_stdin: bool, url: str | None) -> None:
    """Set a new local password for USERNAME (also gives an OIDC-only user a local login).

    Every dashboard session of USERNAME ends.
    """
    engine = open_engine(url)
    found = lookup(engine, username)
    value = read_password(from_stdin)
    with store_errors():
        set_password(engine, SYSTEM, found.user_id or 0, value)
    click.echo(f"set the password of {username!r}; their dashboard sessions have ended")


@user.command(name="grant")
@click.argument("username")
@click.argument("call_id")
@db_option
def grant(username: str, call_id: str, url: str | None) -> None:
    """Let the manager USERNAME manage the stored call CALL_ID."""
    engine = open_engine(url)
    found = lookup(engine, username)
    with store_errors():
        new = grant_call(engine, SYSTEM, call_id, found.user_id or 0)
    click.echo(f"{username!r} {'now manages' if new else 'already manages'} the call {call_id!r}")


@user.command(name="ungrant")
@click.argument("username")
@click.argument("call_id")
@db_option
def ungrant(username: str, call_id: str, url: str | None) -> None:
    """Stop the manager USERNAME managing the call CALL_ID (their sessions end)."""
    engine = open_engine(url)
    found = lookup(engine, username)
    with store_errors():
        removed = ungrant_call(engine, SYSTEM, call_id, found.user_id or 0)
    click.echo(
        f"{username!r} {'no longer manages' if removed else 'did not manage'} the call {call_id!r}"
    )


@user.command(name="role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@db_option
def role_(username: str, role: str, url: str | None) -> None:
    """Give USERNAME the role ROLE (their sessions end); grants and expert links go first."""
    engine = open_engine(url)
    found = lookup(engine, username)
    with store_errors():
        changed = set_role(engine, SYSTEM, found.user_id or 0, cast("Role", role))
    click.echo(f"{username!r} {'is now' if changed else 'was already'} {_article(role)} {role}")


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


@user.command(name="sessions")
@click.argument("username")
@db_option
def sessions_(username: str, url: str | None) -> None:
    """List the dashboard sessions of USERNAME, newest first (never a session id).

    Columns: state (active, signed out, revoked: REASON, expired, idle), login provider,
    client address, started, last request and when it ended or ends at the latest (UTC).
    """
    engine = open_engine(url)
    found = lookup(engine, username)
    with store_errors():
        table = list_sessions(engine, SYSTEM, found.user_id or 0)
    if table.is_empty():
        click.echo(f"{username!r} has no dashboard sessions")
        return

    def when(value: object) -> str:
        return f"{value:%Y-%m-%d %H:%M:%S}"

    header = ("state", "provider", "client", "started", "last request", "ends")
    rows = [
        (state, provider, client, when(created), when(seen), when(ends))
        for provider, client, created, seen, ends, state in table.iter_rows()
    ]
    _table([header, *rows])


@user.command(name="revoke")
@click.argument("username")
@db_option
def revoke(username: str, url: str | None) -> None:
    """End every dashboard session of USERNAME now, on every dashboard process."""
    engine = open_engine(url)
    found = lookup(engine, username)
    with store_errors():
        ended = revoke_sessions(engine, SYSTEM, found.user_id or 0)
    click.echo(f"ended {ended} session{'' if ended == 1 else 's'} of {username!r}")


def _set_disabled(username: str, url: str | None, *, disabled: bool) -> None:
    engine = open_engine(url)
    found = lookup(engine, username)
    with store_errors():
        changed = set_disabled(engine, SYSTEM, found.user_id or 0, disabled)
    state = "disabled" if disabled else "enabled"
    click.echo(f"{username!r} {'is now' if changed else 'was already'} {state}")


@user.command(name="disable")
@click.argument("username")
@db_option
def disable(username: str, url: str | None) -> None:
    """Disable USERNAME: no sign-in (local or OIDC) until enabled; their sessions end."""
    _set_disabled(username, url, disabled=True)


@user.command(name="enable")
@click.argument("username")
@db_option
def enable(username: str, url: str | None) -> None:
    """Let the disabled USERNAME sign in again."""
    _set_disabled(username, url, disabled=False)


@user.command(name="expert")
@click.argument("username")
@click.argument("call_id")
@click.argument("expert_id")
@db_option
def expert(username: str, call_id: str, expert_id: str, url: str | None) -> None:
    """Link the expert account USERNAME to the expert EXPERT_ID of the stored call CALL_ID."""
    engine = open_engine(url)
    found = lookup(engine, username)
    with store_errors():
        new = link_expert(engine, SYSTEM, found.user_id or 0, call_id, expert_id)
    click.echo(
        f"{username!r} {'is now' if new else 'was already'} the expert {expert_id!r} "
        f"of the call {call_id!r}"
    )


@user.command(name="link-oidc")
@click.argument("username")
@click.argument("issuer")
@click.argument("subject")
@db_option
def link_oidc(username: str, issuer: str, subject: str, url: str | None) -> None:
    """Let USERNAME sign in through OIDC as SUBJECT (the id token's `sub`) of ISSUER.

    ISSUER is exactly the id token's `iss` claim (the provider's issuer URL, as its
    .well-known/openid-configuration states it, trailing slash and all).
    """
    if not issuer.startswith(("https://", "http://")) or issuer.strip() != issuer:
        raise _invalid(
            f"ISSUER must be the id token's iss claim, a URL such as "
            f"https://login.example.org/realms/panel; got {issuer!r}"
        )
    if not subject.strip():
        raise _invalid("SUBJECT is empty; give the id token's sub claim")
    engine = open_engine(url)
    found = lookup(engine, username)
    with store_errors():
        new = add_identity(engine, SYSTEM, found.user_id or 0, f"oidc:{issuer}", subject)
    click.echo(
        f"{username!r} {'now signs in' if new else 'already signed in'} as {subject!r} of {issuer}"
    )


@user.command(name="list")
@db_option
def list_(url: str | None) -> None:
    """List every account: username, role, id, local password, OIDC identities, calls.

    The last column holds the calls a manager manages and, for an expert, "CALL_ID as
    EXPERT_ID" for each link. A disabled account's role reads "ROLE,disabled". No password
    hash is shown.
    """
    engine = open_engine(url)
    with store_errors():
        table = list_users(engine, SYSTEM)
    if table.is_empty():
        click.echo(
            f"no accounts in {engine.url.render_as_string(hide_password=True)} yet; create "
            "one with `evalpanel user add USERNAME --role ROLE`"
        )
        return
    header = ("username", "role", "id", "password", "identities", "calls")
    rows = [
        (
            name,
            f"{role},disabled" if disabled else role,
            str(uid),
            "yes" if local else "no",
            ", ".join(f"{i['provider']} {i['subject']}" for i in ids) or "-",
            ", ".join([*managed, *(f"{x['call_id']} as {x['expert_id']}" for x in links)]) or "-",
        )
        for uid, name, role, local, ids, managed, links, disabled in table.select(
            "user_id", "username", "role", "local_password", "identities", "calls", "experts",
            "disabled",
        ).iter_rows()
    ]
    _table([header, *rows])


def _table(rows: list[tuple[str, ...]]) -> None:
    """Echo ``rows`` (the first one the header) as aligned columns."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
