from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from evalpanel.store.engine import current_revision, head_revision, make_engine, upgrade
from evalpanel.store.tables import metadata


def test_migrations_produce_the_metadata_schema(engine: sa.Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(ctx, metadata) == []
    assert set(sa.inspect(engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}


def test_upgrade_twice_is_harmless(engine: sa.Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_sqlite_pragmas_and_default_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EVALPANEL_DB", raising=False)
    eng = make_engine()
    assert (tmp_path / "evalpanel.sqlite").exists()
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 1000
    eng.dispose()
    monkeypatch.setenv("EVALPANEL_DB", str(tmp_path / "sub" / "x.sqlite"))
    eng = make_engine()
    assert (tmp_path / "sub" / "x.sqlite").exists()
    eng.dispose()
