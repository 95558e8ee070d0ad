"""Shared fixtures: the store's engines over SQLite and PostgreSQL (``tests/store_fixtures.py``)."""

pytest_plugins = ["tests.store_fixtures"]
