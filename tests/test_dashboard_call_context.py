"""The call in context on the manager pages (AppTest): the address selects the call, the
sidebar writes it there, and previews, prepared downloads and confirmations belong to the call
shown; switching calls never shows another call's preview or file."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from evalpanel.store import SYSTEM, grant_call, import_call, list_tasks, start_session
from evalpanel.store.engine import make_engine
from tests.dashboard_fixtures import (
    APP,
    DashWorld,
    button,
    click,
    confirm,
    open_page,
    texts,
)
from tests.store_fixtures import make_call

OTHER, OTHER_TITLE = "KA220-2026", "Cooperation partnerships 2026"


@pytest.fixture
def two(dash: DashWorld) -> Iterator[DashWorld]:
    """The dashboard's call and a second one, both managed by the manager."""
    import_call(dash.world.engine, make_call(OTHER, title=OTHER_TITLE))
    grant_call(dash.world.engine, SYSTEM, OTHER, dash.world.manager.user_id or 0)
    yield dash


def _manager(dash: DashWorld, call: str | None = None) -> AppTest:
    engine = make_engine(os.environ["EVALPANEL_DB_URL"], migrate=False)
    try:
        token = start_session(engine, dash.world.manager, "manager", provider="local",
                              client="test")
    finally:
        engine.dispose()
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["session_token"] = token
    if call is not None:
        at.query_params["call"] = call
    return at.run()


def _switch(at: AppTest, call: str) -> AppTest:
    # After its first run an AppTest reruns the page script alone (not the app and its
    # sidebar): set the call as the sidebar does. The browser test switches in the sidebar.
    at.session_state["call_id"] = call
    at.query_params["call"] = call
    return at.run()


def _shown(at: AppTest) -> str:
    """The line above the page that names its call, as a reader sees it."""
    return next(line for line in texts(at).splitlines() if "folder_open: Call" in line)


def test_the_address_selects_the_call_and_the_page_names_it(two: DashWorld) -> None:
    at = _manager(two, OTHER)
    assert not at.exception, at.exception
    assert OTHER_TITLE in _shown(at) and OTHER in _shown(at)
    assert at.sidebar.selectbox[0].value == OTHER
    assert at.query_params["call"] == OTHER
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tasks"] == "0"  # the overview of the second call, which has no tasks


def test_without_a_call_in_the_address_the_first_is_named_there(two: DashWorld) -> None:
    at = _manager(two)
    first = two.world.call_id
    assert at.query_params["call"] == first
    assert first in _shown(at) and at.sidebar.selectbox[0].value == first


def test_a_call_not_open_to_the_manager_is_not_shown(two: DashWorld) -> None:
    at = _manager(two, "NOT-MINE")
    assert not at.exception
    assert any("not open to you" in str(w.value) for w in at.warning)
    assert at.query_params["call"] == two.world.call_id


def test_a_preview_belongs_to_its_call(two: DashWorld) -> None:
    w = two.world
    at = open_page(_manager(two), "manager_assignment.py")
    click(at, "Run the assignment")
    assert "Preview of batch" in texts(at)
    at = _switch(at, OTHER)
    assert not at.exception, at.exception
    assert "Preview of batch" not in texts(at)
    assert "Publish this batch" not in [b.label for b in at.button]
    at = _switch(at, w.call_id)
    assert "Preview of batch" in texts(at)
    # publish and discard wait for their confirmation, which says what cannot be undone
    assert button(at, "Publish this batch").disabled and button(at, "Discard").disabled
    at = confirm(at, "I understand that discarding cannot be undone")
    before = list_tasks(w.engine, w.manager, w.call_id).height
    at = click(at, "Discard")
    assert "discarded" in texts(at) and "Preview of batch" not in texts(at)
    assert list_tasks(w.engine, w.manager, w.call_id).height == before


def test_a_prepared_download_belongs_to_its_call_export_and_format(two: DashWorld) -> None:
    at = open_page(_manager(two), "manager_exports.py")
    at.selectbox[0].set_value("assignment").run()
    at = click(at, "Prepare the file")
    downloads = [b for b in at.get("download_button")]
    assert len(downloads) == 1 and two.world.call_id in str(downloads[0].proto.label)
    at = at.radio[0].set_value("xlsx").run()
    assert not at.get("download_button")  # prepared as CSV: stale for XLSX
    assert "prepare the file again" in texts(at)
    at = at.radio[0].set_value("csv").run()
    assert len(at.get("download_button")) == 1
    at = _switch(at, OTHER)
    assert not at.get("download_button")  # the first call's file is never offered under it
    at = _switch(at, two.world.call_id)
    assert len(at.get("download_button")) == 1
