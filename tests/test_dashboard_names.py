"""Names, the proposal page and explanations in the dashboard (AppTest on the real store): the
ranking's reasons come from a real ranking of the small call, the proposal page's sections and
its refusal for an expert outside the proposal, filters, and the follow-up's bulk actions."""

from __future__ import annotations

import datetime as dt

import polars as pl
from streamlit.testing.v1 import AppTest

from evalpanel.store import (
    accept_task,
    decline_task,
    list_replacements,
    save_draft,
    submit_evaluation,
)
from evalpanel.store.deadlines import set_deadline
from evalpanel.store.notifications import list_notifications
from evalpanel.workflow import propose_replacements
from tests.dashboard_fixtures import DashWorld, as_user, click, open_page, texts
from tests.store_fixtures import publish, scores, task_of

CRITERIA = ("relevance", "quality", "partnership", "impact")
PANELS = [(p, e) for p in ("P02", "P03", "P04") for e in ("E03", "E04")]
# P04 90 and P02 85 in lot L2 (one per ecosystem, both Digital); P03 in L1: impact 10 and 11
SHEETS = {
    ("P04", "E03"): (23, 27, 22, 18), ("P04", "E04"): (23, 27, 22, 18),
    ("P02", "E03"): (22, 25, 21, 17), ("P02", "E04"): (22, 25, 21, 17),
    ("P03", "E03"): (20, 25, 20, 10), ("P03", "E04"): (20, 25, 20, 11),
}


def _scored(dash: DashWorld) -> None:
    w = dash.world
    publish(w, PANELS)
    for (pid, eid), points in SHEETS.items():
        task = task_of(w, pid, eid)
        accept_task(w.engine, w.experts[eid], task)
        sheet = scores(dict(zip(CRITERIA, map(float, points), strict=True)))
        version = save_draft(w.engine, w.experts[eid], task, sheet, expected_version=0)
        submit_evaluation(w.engine, w.experts[eid], task, expected_version=version)


def _table(at: AppTest, column: str) -> pl.DataFrame:
    found = [pl.from_pandas(d.value) for d in at.dataframe
             if column in d.value.columns]
    assert found, f"no table with {column}"
    return found[0]


def test_ranking_explains_each_decision_with_names(dash: DashWorld) -> None:
    _scored(dash)
    at = open_page(as_user(dash.world.manager, "manager"), "manager_ranking.py")
    assert not at.exception, at.exception
    l1 = _table(at, "decision_reason")
    assert "ecosystem" not in l1.columns  # L1 funds without a one-per limit
    row = l1.filter(pl.col("proposal_id") == "P03").row(0, named=True)
    assert (row["title"], row["coordinator"]) == ("Proposal 3", "Org 3-0")
    assert row["decision_reason"] == "rejected: impact 10.5 below 11"
    at.radio(key="ranking_lot").set_value("L2").run()
    assert not at.exception, at.exception
    l2 = _table(at, "decision_reason")
    reasons = dict(zip(l2["proposal_id"], l2["decision_reason"], strict=True))
    assert reasons["P02"] == "reserve: one proposal per ecosystem, Digital already funded by P04"
    assert reasons["P04"].startswith("funded: rank 1")
    assert l2.filter(pl.col("proposal_id") == "P02")["ecosystem"].item() == "Digital"
    assert all(u.endswith("proposal=P02") or u.endswith("proposal=P04")
               for u in l2["page"].to_list())
    assert "Funding line" in texts(at)
    at.pills(key="ranking_L2_state").set_value(["reserve"]).run()
    assert _table(at, "decision_reason")["proposal_id"].to_list() == ["P02"]
    at.text_input(key="ranking_L2_text").set_value(
        "proposal 4").run()
    assert _table(at, "decision_reason").is_empty()  # both filters apply


def test_proposal_page_shows_every_section_to_the_manager(dash: DashWorld) -> None:
    _scored(dash)
    at = as_user(dash.world.manager, "manager")
    at.query_params["proposal"] = "P02"
    at = open_page(at, "proposal.py")
    assert not at.exception, at.exception
    shown = texts(at)
    for section in ("Partners", "Conflicts of interest", "Tasks", "Scores",
                    "Divergence and consolidation", "Rank and decision"):
        assert section in shown
    assert "Proposal 2" in shown and "coordinated by Org 2-0" in shown
    assert "reserve: one proposal per ecosystem, Digital already funded by P04" in shown
    assert set(_table(at, "state")["expert_name"]) == {"Expert 3", "Expert 4"}
    conflicts = _table(at, "reason")
    assert ("E02", "Expert 2") in set(zip(conflicts["expert_id"], conflicts["expert_name"],
                                          strict=True))  # E02 helped prepare P02
    assert set(_table(at, "criterion")["expert_name"]) == {"Expert 3", "Expert 4"}


def test_proposal_page_refuses_an_expert_outside_the_proposal(dash: DashWorld) -> None:
    _scored(dash)
    at = as_user(dash.world.experts["E05"], "user-E05")
    at.query_params["proposal"] = "P02"
    at = open_page(at, "proposal.py")
    assert not at.exception, at.exception
    assert any("may not read proposal P02" in e.value for e in at.error), [
        e.value for e in at.error]
    assert "Partners" not in texts(at)
    own = as_user(dash.world.experts["E03"], "user-E03")
    own.query_params["proposal"] = "P02"
    own = open_page(own, "proposal.py")
    assert not own.error, [e.value for e in own.error]
    mine = texts(own)
    assert "Not shown to you: shown to the call's managers only." in mine  # conflicts, rank
    assert "Expert 4" not in mine and _table(own, "state")["expert_id"].to_list() == ["E03"]


def test_follow_up_confirms_every_replacement_and_reminds_the_overdue(dash: DashWorld) -> None:
    w = dash.world
    decline_task(w.engine, w.experts["E03"], task_of(w, "P03", "E03"), "I advised it")
    decline_task(w.engine, w.experts["E04"], task_of(w, "P04", "E04"), "former employer")
    assert propose_replacements(w.engine, w.manager, w.call_id) == 2
    set_deadline(w.engine, w.manager, w.call_id, "evaluation", dt.date(2020, 1, 31))
    at = open_page(as_user(w.manager, "manager"), "manager_followup.py")
    assert not at.exception, at.exception
    tasks = _table(at, "origin")
    assert {"title", "coordinator", "expert_name", "lot"} <= set(tasks.columns)
    at = click(at, "Confirm all 2 proposed replacements")
    assert not at.exception, at.exception
    assert "2 replacement(s) confirmed." in texts(at)
    assert list_replacements(w.engine, w.manager, w.call_id)["state"].to_list() == [
        "applied", "applied"]
    overdue = next(b.label for b in at.button if b.label.startswith("Remind all"))
    n = int(overdue.split()[2])
    assert n >= 2
    at = click(at, overdue)
    assert not at.exception, at.exception
    assert f"{n} overdue reminder(s) queued" in texts(at)
    queued = list_notifications(w.engine, w.manager, call_id=w.call_id)
    assert queued.filter(pl.col("kind") == "overdue").height == n


def test_reliability_says_what_is_missing(dash: DashWorld) -> None:
    at = open_page(as_user(dash.world.manager, "manager"), "manager_reliability.py")
    assert not at.exception, at.exception
    shown = texts(at)
    assert "No evaluation is submitted yet" in shown
    assert "Leniency needs experts who scored the same proposals" in shown


def test_assignment_preview_explains_its_figures_and_names_people(dash: DashWorld) -> None:
    at = open_page(as_user(dash.world.manager, "manager"), "manager_assignment.py")
    at = click(at, "Run the assignment")
    assert not at.exception, at.exception
    helps = {m.label: m.help for m in at.metric}
    assert all(helps[label] for label in ("Status", "Coverage", "Slots filled",
                                          "Total affinity", "Worst panel affinity"))
    changes = _table(at, "change")
    assert {"title", "coordinator", "expert_name"} <= set(changes.columns)
    names = dict(zip(changes["expert_id"], changes["expert_name"], strict=True))
    assert names["E03"] == "Expert 3"
    added = changes.filter(pl.col("change") == "added")
    kept = changes.filter(pl.col("change") == "kept").height
    removed = changes.filter(pl.col("change") == "removed")
    words = texts(at)
    assert (f"Publishing adds {added.height} task(s) to {added['proposal_id'].n_unique()} "
            f"proposal(s) and keeps {kept} published task(s)") in words
    for eid, pid in removed.select("expert_id", "proposal_id").head(5).iter_rows():
        assert f"{names[eid]} ({eid}) on {pid}" in words
    assert "expert_name" in _table(at, "explanation").columns


def test_reliability_reads_agreement_on_stated_scales_with_names(dash: DashWorld) -> None:
    _scored(dash)
    at = open_page(as_user(dash.world.manager, "manager"), "manager_reliability.py")
    assert not at.exception, at.exception
    shown = texts(at)
    assert "ICC reading: poor below 0.5, moderate 0.5 to 0.75" in shown and "Koo & Li" in shown
    assert "Krippendorff (2004)" in shown
    agreement = _table(at, "icc_reading")
    assert set(agreement["icc_reading"].drop_nulls()) <= {"poor", "moderate", "good",
                                                          "excellent"}
    assert set(_table(at, "offset")["expert_name"]) == {"Expert 3", "Expert 4"}
