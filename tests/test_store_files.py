"""SQLite database files are private to their owner: created with mode 0600 (the WAL and
shared-memory files SQLite adds take the same mode), whatever the umask."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from evalpanel.store import SYSTEM, create_user, make_engine


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default, under which files come out world-readable
    yield
    os.umask(old)


def test_a_new_database_and_its_side_files_are_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    db = tmp_path / "nested" / "panel.sqlite"
    engine = make_engine(f"sqlite:///{db}")
    create_user(engine, SYSTEM, "someone", "manager")  # a write: the WAL file exists now
    files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in files if p.exists()}
    engine.dispose()
    assert db.name + "-wal" in modes  # the side files were checked too
    assert set(modes.values()) == {"0o600"}, modes


def test_an_existing_file_keeps_the_mode_its_owner_chose(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite"
    db.touch()
    db.chmod(0o640)
    make_engine(f"sqlite:///{db}").dispose()
    assert db.stat().st_mode & 0o777 == 0o640
