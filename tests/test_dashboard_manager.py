"""Manager pages on the small call: overview, assignment run and publish, follow-up,
consolidation, ranking, reliability, exports, import with its located problems."""

from __future__ import annotations

import polars as pl
import pytest

from evalpanel.store import list_tasks
from tests.dashboard_fixtures import (
    DashWorld,
    as_user,
    button,
    click,
    confirm,
    open_page,
    texts,
)


def test_overview_counts(dash: DashWorld) -> None:
    at = as_user(dash.world.manager, "manager")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Proposals"] == str(dash.world.call.proposals.height)
    assert metrics["Experts"] == str(dash.world.call.experts.height)
    assert metrics["Tasks"] == "4"


def test_run_preview_and_publish_a_batch(dash: DashWorld) -> None:
    w = dash.world
    at = open_page(as_user(dash.world.manager, "manager"), "manager_assignment.py")
    assert not at.exception
    click(at, "Run the assignment")
    assert not at.exception, at.exception
    assert "Preview of batch" in texts(at)
    before = list_tasks(w.engine, w.manager, w.call_id)
    assert button(at, "Publish this batch").disabled  # until the manager confirms
    confirm(at, "I understand that publishing cannot be undone")
    click(at, "Publish this batch")
    assert not at.exception
    after = list_tasks(w.engine, w.manager, w.call_id)
    active = after.filter(pl.col("state") != "withdrawn")
    # Every proposal gets the call's 2 experts, and the four published pairs remain.
    assert active.group_by("proposal_id").len()["len"].to_list() == [2] * 4
    assert set(before.select("proposal_id", "expert_id").rows()) <= set(
        after.select("proposal_id", "expert_id").rows()
    )
    assert "published" in texts(at)


@pytest.mark.parametrize(
    "page",
    [
        "manager_conflicts.py",
        "manager_followup.py",
        "manager_consolidation.py",
        "manager_ranking.py",
        "manager_reliability.py",
        "manager_exports.py",
        "manager_import.py",
    ],
)
def test_pages_render(dash: DashWorld, page: str) -> None:
    at = open_page(as_user(dash.world.manager, "manager"), page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_conflict_table_lists_the_known_conflicts(dash: DashWorld) -> None:
    at = open_page(as_user(dash.world.manager, "manager"), "manager_conflicts.py")
    table = at.dataframe[0].value
    pairs = set(zip(table["proposal_id"], table["expert_id"], strict=True))
    # From the fixture: E01 works at P01's coordinator, E02 helped prepare P02.
    assert {("P01", "E01"), ("P02", "E02")} <= pairs


def test_export_prepares_a_download(dash: DashWorld) -> None:
    at = open_page(as_user(dash.world.manager, "manager"), "manager_exports.py")
    at.selectbox[0].set_value("assignment").run()
    click(at, "Prepare the file")
    assert not at.exception
    _, _, name, data, _ = at.session_state[f"export:{dash.world.call_id}"]
    assert name.endswith("assignment.csv")
    header = data.decode().splitlines()[0]
    # names sit beside the ids they name
    assert header.split(",")[:6] == ["task_id", "proposal_id", "title", "coordinator",
                                     "expert_id", "expert_name"]
    assert len(data.decode().splitlines()) == 1 + 4


def test_export_of_a_call_table_is_the_call_folder_file_and_audited(dash: DashWorld) -> None:
    from evalpanel.store import audit_frame

    at = open_page(as_user(dash.world.manager, "manager"), "manager_exports.py")
    at.selectbox[0].set_value("proposals (call folder)").run()
    click(at, "Prepare the file")
    assert not at.exception
    _, _, name, data, _ = at.session_state[f"export:{dash.world.call_id}"]
    assert name.endswith("-proposals.csv")
    assert data.decode().splitlines()[0] == (
        "proposal_id,lot,title,abstract,language,fields,ecosystems,keywords,requested_eur")
    at.selectbox[0].set_value("ranking").run()
    click(at, "Prepare the file")
    log = audit_frame(dash.world.engine, dash.world.manager, dash.world.call_id)
    exported = log.filter(log["action"] == "export")["entity_id"].to_list()
    assert exported[-2:] == ["proposals", "ranking"]
