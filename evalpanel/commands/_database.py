"""The ``--db URL`` option of the commands that use the store, and opening that database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import click
import sqlalchemy as sa

from evalpanel.store import default_url, make_engine, upgrade

F = TypeVar("F", bound=Callable[..., object])


def db_option(command: F) -> F:
    """``--db URL`` (parameter ``url``; None: the embedded database)."""
    return click.option(
        "--db",
        "url",
        metavar="URL",
        help="Database URL (default: the embedded SQLite file, $EVALPANEL_DB or "
        "./evalpanel.sqlite); e.g. postgresql+psycopg://user@host/evalpanel.",
    )(command)


def shown(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def open_engine(url: str | None) -> sa.Engine:
    """The engine on ``url`` (default: the embedded database), its schema brought up to date,
    or exit 2 naming the URL. The engine is disposed of when the command ends."""
    from evalpanel.cli import InvalidInput

    target = url or default_url()
    try:
        engine = make_engine(target, migrate=False)
        click.get_current_context().call_on_close(engine.dispose)
        upgrade(engine)
        return engine
    except Exception as exc:  # parse, driver and connection errors vary by backend
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(
            f"cannot open the database {shown(target)}: {reason}; give --db a SQLAlchemy URL "
            "such as sqlite:////srv/evalpanel.sqlite or postgresql+psycopg://user@host/evalpanel"
        ) from None


@contextmanager
def refusals(command: str) -> Iterator[None]:
    """A store error (refused, invalid, stale, not found) becomes exit 2 with its message,
    which says what to change; ``command`` names the command in that line."""
    from evalpanel.cli import InvalidInput
    from evalpanel.store import StoreError

    try:
        yield
    except StoreError as exc:
        raise InvalidInput(f"evalpanel {command}: {exc}") from None
