"""The conflicts page's declaration form lists the proposals or the organisations, as chosen
above it, and records the declaration on the one chosen."""

from __future__ import annotations

import polars as pl

from evalpanel.store import list_conflicts
from tests.dashboard_fixtures import DashWorld, as_user, click, open_page


def _declared(dash: DashWorld) -> pl.DataFrame:
    w = dash.world
    return list_conflicts(w.engine, w.manager, w.call_id, source="declared")


def test_a_conflict_is_declared_on_the_organisation_chosen(dash: DashWorld) -> None:
    at = open_page(as_user(dash.world.manager, "manager"), "manager_conflicts.py")
    assert not at.exception
    labels = [s.label for s in at.selectbox]
    assert "Proposal" in labels and "Organisation" not in labels
    at.radio(key="declare_on").set_value("organisation").run()
    labels = [s.label for s in at.selectbox]
    assert "Organisation" in labels and "Proposal" not in labels
    chosen = next(s for s in at.selectbox if s.label == "Organisation").value
    assert chosen is not None
    expert = next(s for s in at.selectbox if s.label == "Expert").value
    next(t for t in at.text_input if t.label == "Note (the reason)").input("a board seat")
    click(at, "Declare")
    assert not at.exception
    rows = _declared(dash).filter(pl.col("note") == "a board seat")
    assert rows.height == 1
    assert rows["org_id"].item() == chosen and rows["proposal_id"].item() is None
    assert rows["expert_id"].item() == expert
