"""Shared fixtures: the store's engines over SQLite and PostgreSQL (``tests/store_fixtures.py``)."""

from tests.store_fixtures import db_url, engine, world

__all__ = ["db_url", "engine", "world"]
