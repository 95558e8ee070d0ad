"""Shared fixtures: the store's engines over SQLite and PostgreSQL (``tests/store_fixtures.py``),
the dashboard's demo world (``tests/dashboard_fixtures.py``) and the browser tests' chromium
(``tests/browser_support.py``)."""

pytest_plugins = ["tests.store_fixtures", "tests.dashboard_fixtures", "tests.smtp_support",
                  "tests.browser_support"]

from hypothesis import settings  # noqa: E402

# Property tests measure correctness, not speed: on a shared two-core machine one example can
# take longer than Hypothesis's default 200 ms deadline, which would fail a correct run.
settings.register_profile("evalpanel", deadline=None)
settings.load_profile("evalpanel")
