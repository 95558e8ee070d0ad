"""Comment checks through the store: a call's flags for managers, one form's flags for its
expert (never the panel comparison), and the manager's quality-checked mark."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import pytest

from evalpanel.quality import call_flags, form_flags, mark_quality_checked, quality_checked
from evalpanel.store import (
    SYSTEM,
    InvalidState,
    PermissionDenied,
    accept_task,
    approve_consensus,
    audit_frame,
    save_consensus,
    save_draft,
    start_consolidation,
    submit_consensus,
    submit_evaluation,
)
from tests.store_fixtures import World, publish, task_of

COPIED = ("The needs analysis rests on regional labour market data and the objectives follow "
          "from it clearly; target groups are identified.")
CRITERIA = ("relevance", "quality", "partnership", "impact")


def _form(values: Mapping[str, float], comments: Mapping[str, str]) -> pl.DataFrame:
    return pl.DataFrame({"criterion": list(values), "score": [float(v) for v in values.values()],
                         "comment": [comments[c] for c in values]})


def _submit(w: World, proposal: str, expert: str, values: Mapping[str, float],
            comments: Mapping[str, str]) -> int:
    task = task_of(w, proposal, expert)
    actor = w.experts[expert]
    accept_task(w.engine, actor, task)
    v = save_draft(w.engine, actor, task, _form(values, comments), expected_version=0)
    submit_evaluation(w.engine, actor, task, expected_version=v)
    return task


def test_flags_for_the_manager_and_for_the_form(world: World) -> None:
    w = world
    publish(w, [("P03", "E03"), ("P03", "E04"), ("P04", "E03"), ("P04", "E04")])
    high = {"relevance": 24, "quality": 28, "partnership": 18, "impact": 18}
    low = {"relevance": 5, "quality": 28, "partnership": 18, "impact": 18}
    plain = {c: f"Justified remarks on {c} for this proposal." for c in CRITERIA}
    _submit(w, "P03", "E03", high, {**plain, "relevance": COPIED})
    _submit(w, "P03", "E04", low, {**plain, "relevance": "An excellent needs analysis."})
    # E03's second form copies the first relevance comment
    task = task_of(w, "P04", "E03")
    accept_task(w.engine, w.experts["E03"], task)
    form = _form(high, {**plain, "relevance": COPIED})
    flags = form_flags(w.engine, w.experts["E03"], w.call_id, task, form)
    assert flags.select("proposal_id", "criterion", "check").rows() == [
        ("P04", "relevance", "copied")]
    assert flags["detail"].item() == "identical to their comment on P03"
    with pytest.raises(PermissionDenied):
        form_flags(w.engine, w.applicant, w.call_id, task, form)

    got = call_flags(w.engine, w.manager, w.call_id)
    rows = set(got.select("proposal_id", "expert_id", "criterion", "check").iter_rows())
    assert ("P03", "E04", "relevance", "contradicts_band") in rows
    assert ("P03", "E04", "relevance", "off_panel") in rows  # 5 against 24 (gap 7.5)
    assert ("P03", "E03", "relevance", "off_panel") in rows
    with pytest.raises(PermissionDenied):
        call_flags(w.engine, w.experts["E03"], w.call_id)


def test_quality_checked_needs_a_final_consolidation(world: World) -> None:
    w = world
    publish(w, [("P03", "E03"), ("P03", "E04")])
    values = {"relevance": 20, "quality": 24, "partnership": 16, "impact": 16}
    plain = {c: "Fine." for c in CRITERIA}
    for expert in ("E03", "E04"):
        _submit(w, "P03", expert, values, plain)
    with pytest.raises(InvalidState, match="no final consolidation"):
        mark_quality_checked(w.engine, w.manager, w.call_id, "P03")
    cid = start_consolidation(w.engine, w.manager, w.call_id, "P03", "E03")
    v = save_consensus(w.engine, w.experts["E03"], cid, _form(values, plain), "ok",
                       expected_version=0)
    submit_consensus(w.engine, w.experts["E03"], cid, expected_version=v)
    approve_consensus(w.engine, w.experts["E04"], cid, expected_version=v)
    with pytest.raises(PermissionDenied):
        mark_quality_checked(w.engine, w.experts["E03"], w.call_id, "P03")
    mark_quality_checked(w.engine, w.manager, w.call_id, "P03", "comments fit for the applicant")
    assert quality_checked(w.engine, w.manager, w.call_id).select(
        "proposal_id", "note").rows() == [("P03", "comments fit for the applicant")]
    actions = audit_frame(w.engine, SYSTEM, w.call_id)["action"].to_list()
    assert actions.count("quality_checked") == 1
