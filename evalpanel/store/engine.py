"""Engines for the store: the embedded SQLite file by default, any SQLAlchemy URL otherwise.

SQLite connections run with WAL, a busy timeout and foreign keys on, and write transactions
start with ``BEGIN IMMEDIATE`` so concurrent writers queue for the lock instead of failing
half-way; read-only transactions (:func:`reading`) start a plain deferred ``BEGIN``.
The schema is brought to the migrations' head on first use (:func:`upgrade`). A new SQLite
file is created readable and writable by its owner only (mode 0600; SQLite gives its WAL and
shared-memory files the same mode).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event

from evalpanel.store.errors import PermissionDenied
from evalpanel.store.tables import audit_log

DEFAULT_FILE = "evalpanel.sqlite"
BUSY_TIMEOUT_MS = 60_000
FILE_MODE = 0o600
_READ = "evalpanel_read"


def default_url() -> str:
    """``$EVALPANEL_DB`` (a SQLAlchemy URL or a file path), else ``./evalpanel.sqlite``."""
    value = os.environ.get("EVALPANEL_DB", "").strip()
    if not value:
        return f"sqlite:///{Path(DEFAULT_FILE).resolve()}"
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def _sqlite_hooks(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling is off).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        read = conn.get_execution_options().get(_READ, False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def _create_private(path: Path) -> None:
    """Create the empty file ``path`` with mode :data:`FILE_MODE` unless it exists (SQLite keeps
    an existing file's mode, and would create a new one world-readable under a usual umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def make_engine(url: str | None = None, *, migrate: bool = True, **kwargs: Any) -> sa.Engine:
    """An engine on ``url`` (default :func:`default_url`), its schema upgraded unless ``migrate``
    is false. The SQLite file (mode 0600) and its folder are created on first use."""
    url = url or default_url()
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith(
                "file:"):
            _create_private(Path(parsed.database))
        kwargs.setdefault("connect_args", {"timeout": BUSY_TIMEOUT_MS / 1000})
        engine = sa.create_engine(parsed, **kwargs)
        _sqlite_hooks(engine)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = sa.create_engine(parsed, **kwargs)
    if migrate:
        upgrade(engine)
    return engine


def _log_denial(engine: sa.Engine, exc: PermissionDenied) -> None:
    # After the refused operation's transaction has rolled back, so no lock is held.
    if exc.logged or not exc.audit:
        return
    with engine.begin() as conn:
        conn.execute(audit_log.insert().values(at=datetime.now(UTC), **exc.audit))
    exc.logged = True


@contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A write transaction: committed when the block ends, rolled back entirely on any error.
    A :class:`PermissionDenied` raised inside is written to the audit log afterwards."""
    try:
        with engine.begin() as conn:
            yield conn
    except PermissionDenied as exc:
        _log_denial(engine, exc)
        raise


@contextmanager
def reading(engine: sa.Engine, *, snapshot: bool = False) -> Iterator[sa.Connection]:
    """A read-only transaction (deferred on SQLite, so readers never queue behind writers).
    ``snapshot``: every statement sees the same state of the database, for a service that
    reads several tables to compute one answer (PostgreSQL's REPEATABLE READ; a SQLite read
    transaction is a snapshot already)."""
    try:
        with engine.connect() as conn:
            conn.execution_options(**{_READ: True})
            if snapshot and engine.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn
    except PermissionDenied as exc:
        _log_denial(engine, exc)
        raise


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic configuration of the migrations shipped in this package."""
    cfg = Config()
    cfg.set_main_option("script_location", "evalpanel.store:migrations")
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` in one transaction (serialised between processes:
    SQLite's write lock, a PostgreSQL advisory lock)."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7405519)")
        command.upgrade(alembic_config(conn), revision)
