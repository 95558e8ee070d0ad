"""Shared fixtures: the store's engines over SQLite and PostgreSQL (``tests/store_fixtures.py``)
and the dashboard's demo world (``tests/dashboard_fixtures.py``)."""

pytest_plugins = ["tests.store_fixtures", "tests.dashboard_fixtures", "tests.smtp_support"]
