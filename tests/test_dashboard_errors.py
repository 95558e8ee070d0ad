"""No error shows a traceback or an SQL statement to a visitor: the sign-in refuses an over-long
username before any query (on PostgreSQL one used to fail in the store and show both), and the
app runs every page inside one error boundary that logs the details for the operator."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import cached
from evalpanel.store import USERNAME_MAX
from tests.dashboard_fixtures import APP, DashWorld, as_user, texts

LEAKS = re.compile(r"Traceback|SELECT|INSERT|FROM |sqlalchemy|psycopg|sqlite3|File \"", re.I)


def everything_shown(at: AppTest) -> str:
    """Every text of the run a visitor could see, exceptions and code blocks included."""
    parts = [texts(at), *(str(e.value) for e in at.exception), *(str(c.value) for c in at.code)]
    return "\n".join(parts)


@pytest.fixture
def page_log() -> Iterator[list[logging.LogRecord]]:
    """The records the error boundary logs (``evalpanel.dashboard``)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.ERROR)
    logger = logging.getLogger("evalpanel.dashboard")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_an_over_long_username_is_refused_plainly(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALPANEL_DB_URL", db_url)
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert at.text_input[0].max_chars == USERNAME_MAX  # the browser cannot type more
    at.text_input[0].input("u" * (USERNAME_MAX + 45))  # a client that sends more anyway
    at.text_input[1].input("whatever")
    at.button[0].click().run()
    assert not at.exception
    assert "Unknown username or wrong password." in texts(at)
    assert not LEAKS.search(everything_shown(at))


def test_an_unexpected_error_is_logged_and_shown_briefly(
    dash: DashWorld, page_log: list[logging.LogRecord]
) -> None:
    assert not as_user(dash.world.manager, "manager").exception
    with dash.world.engine.begin() as conn:  # the database changes under the app
        conn.execute(sa.text("ALTER TABLE tasks RENAME TO tasks_elsewhere"))
    # No service wrote this change, so no audit line says the call's data changed: the pages'
    # cached reads would still be served. Empty the caches so the page meets the broken table.
    st.cache_data.clear()
    cached._shared.clear()  # not the engines' cache: those hold open connections
    # A fresh run: AppTest re-detects the pages/ folder on every run, and its reruns then start
    # the current page's file directly, without dashboard/app.py (see Streamlit's _mpa_v1).
    at = as_user(dash.world.manager, "manager")
    shown = everything_shown(at)
    assert not at.exception
    (message,) = [e.value for e in at.error]
    found = re.search(r"Something went wrong on this page \(reference ([0-9a-f]{8})\)", message)
    assert found, message
    assert not LEAKS.search(shown), shown
    # The operator's log has the reference, the traceback and the statement.
    (record,) = page_log
    assert found.group(1) in record.getMessage()
    assert record.exc_info is not None
    assert "tasks" in str(record.exc_info[1]) and "SELECT" in str(record.exc_info[1])
    # Sign-in, navigation and sidebar are still there: only the page's own content failed.
    assert at.sidebar.button and at.sidebar.button[-1].label == "Sign out"
