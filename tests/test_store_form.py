"""The expert's side in the store, on SQLite and PostgreSQL: what a conflict declaration shows
before accepting (and what stays closed), submission refused by the service for every rule of
the scoring form, the form's check through a service, and the form's comment checks read in one
query whatever the number of tasks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.quality import form_flags, review_form
from evalpanel.store import (
    SYSTEM,
    InvalidInput,
    PermissionDenied,
    accept_task,
    audit_frame,
    check_evaluation,
    declaration,
    decline_task,
    get_evaluation,
    get_proposal,
    import_call,
    save_draft,
    submit_evaluation,
)
from evalpanel.store.documents import list_documents
from tests.store_fixtures import World, build_world, make_call, publish, task_of

FULL = {"relevance": 20.0, "quality": 24.0, "partnership": 18.0, "impact": 15.0}
SAID = {c: f"{c.capitalize()}: argued with evidence." for c in FULL}  # too short to be "copied"


def _frame(values: dict[str, float], comments: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame({"criterion": list(values), "score": list(values.values()),
                         "comment": [comments.get(c, "") for c in values]},
                        schema={"criterion": pl.String, "score": pl.Float64,
                                "comment": pl.String})


def _draft(w: World, values: dict[str, float], comments: dict[str, str],
           proposal: str = "P03", expert: str = "E03") -> tuple[int, int]:
    task = task_of(w, proposal, expert)
    actor = w.experts[expert]
    if get_evaluation(w.engine, actor, task).state == "assigned":
        accept_task(w.engine, actor, task)
    version = get_evaluation(w.engine, actor, task).version
    return task, save_draft(w.engine, actor, task, _frame(values, comments),
                            expected_version=version)


def test_declaration_names_the_participants_before_accepting(world: World) -> None:
    w = world
    publish(w, [("P03", "E03"), ("P04", "E03")])
    task = task_of(w, "P03", "E03")
    expert = w.experts["E03"]
    facts = declaration(w.engine, expert, task)
    assert (facts.proposal_id, facts.title, facts.lot, facts.abstract, facts.state) == (
        "P03", "Proposal 3", "L1", "text", "assigned")
    assert [(p.org_name, p.country, p.role) for p in facts.participants] == [
        ("Org 3-0", "EL", "coordinator"), ("Org 3-1", "DE", "partner")]
    for named in ("P03", "Proposal 3", "lot L1", "coordinator Org 3-0 (EL)",
                  "partners Org 3-1 (DE)", "3 years"):
        assert named in facts.text
    # the full proposal and its documents stay closed until the task is accepted
    with pytest.raises(PermissionDenied, match="after accepting"):
        get_proposal(w.engine, expert, w.call_id, "P03")
    with pytest.raises(PermissionDenied, match="after accepting"):
        list_documents(w.engine, expert, w.call_id, "P03")
    # another expert, the applicant and a manager of another call read no declaration
    for other in (w.experts["E04"], w.applicant, w.outsider):
        with pytest.raises(PermissionDenied):
            declaration(w.engine, other, task)
    assert declaration(w.engine, w.manager, task).text == facts.text
    accept_task(w.engine, expert, task)
    assert get_proposal(w.engine, expert, w.call_id, "P03").requested_eur == 400_003.0
    assert list_documents(w.engine, expert, w.call_id, "P03").is_empty()
    # a declined task never opens the proposal
    declined = task_of(w, "P04", "E03")
    decline_task(w.engine, expert, declined, "I advised its coordinator")
    assert declaration(w.engine, expert, declined).state == "declined"
    with pytest.raises(PermissionDenied):
        get_proposal(w.engine, expert, w.call_id, "P04")
    audit = audit_frame(w.engine, SYSTEM, w.call_id)
    assert audit.filter(pl.col("action") == "denied:read").height >= 3


def test_several_partners_and_associated_are_all_named(engine: sa.Engine) -> None:
    call = make_call()
    extra = pl.DataFrame({"proposal_id": ["P03", "P03"], "org_id": ["X1", "X2"],
                          "org_name": ["Hochschule Süd", "Uniwersytet Łódzki"],
                          "country": ["AT", "PL"], "role": ["partner", "associated"]},
                         schema=call.partners.schema)
    from dataclasses import replace

    w = build_world(engine, replace(call, partners=pl.concat([call.partners, extra])))
    publish(w, [("P03", "E03")])
    text = declaration(w.engine, w.experts["E03"], task_of(w, "P03", "E03")).text
    assert "its partners Org 3-1 (DE) and Hochschule Süd (AT)" in text
    assert "its associated partners Uniwersytet Łódzki (PL)" in text


@pytest.mark.parametrize(("values", "comments", "refusal"), [
    ({k: v for k, v in FULL.items() if k != "impact"}, SAID, "Impact: no score set"),
    ({**FULL, "quality": 24.5}, SAID,
     "Quality of the project design and implementation: 24.5 is not allowed: give whole points from 0 to 30"),
    ({**FULL, "relevance": 26.0}, SAID,
     "Relevance of the project: 26 is not allowed: give whole points from 0 to 25"),
    (FULL, {**SAID, "partnership": ""}, "Quality of the partnership and the cooperation arrangements: a comment for the "
     "applicant is required"),
    ({**FULL, "impact": 9.0}, {**SAID, "impact": "  "},
     "Impact: a score below the minimum of 11 needs a comment"),
    ({**FULL, "budget": 3.0}, {**SAID, "budget": "x"}, "'budget' is not a criterion"),
])
def test_submission_is_refused_by_the_service(
        world: World, values: dict[str, float], comments: dict[str, str], refusal: str) -> None:
    w = world
    publish(w, [("P03", "E03")])
    task, version = _draft(w, values, comments)
    with pytest.raises(InvalidInput, match="cannot be submitted yet") as refused:
        submit_evaluation(w.engine, w.experts["E03"], task, expected_version=version)
    assert refusal in str(refused.value)
    ev = get_evaluation(w.engine, w.experts["E03"], task)
    assert (ev.status, ev.state) == ("draft", "draft")  # nothing was submitted
    # once complete it goes through
    task, version = _draft(w, FULL, SAID)
    submit_evaluation(w.engine, w.experts["E03"], task, expected_version=version)
    assert get_evaluation(w.engine, w.manager, task).status == "submitted"


def test_the_scheme_may_relax_or_tighten_the_comment_rules(engine: sa.Engine) -> None:
    from dataclasses import replace

    base = make_call()
    rules = {"relevance": {"comment_required": False}, "quality": {"comment_min_words": 6}}
    call = replace(base, config=replace(base.config, scheme_overrides={"criteria": rules}))
    w = build_world(engine, call)
    publish(w, [("P03", "E03")])
    comments = {**SAID, "relevance": "", "quality": "Too short here."}
    task, version = _draft(w, FULL, comments)
    with pytest.raises(InvalidInput) as refused:
        submit_evaluation(w.engine, w.experts["E03"], task, expected_version=version)
    assert "Quality of the project design and implementation: the comment has 3 words; at least 6 are required" in str(refused.value)
    assert "Relevance" not in str(refused.value)  # relaxed: no comment needed
    task, version = _draft(w, FULL, {**comments, "quality": "Six words make this comment long."})
    submit_evaluation(w.engine, w.experts["E03"], task, expected_version=version)


def test_half_points_for_horizon(engine: sa.Engine) -> None:
    from dataclasses import replace

    base = make_call(call_id="HE-RIA")
    w = build_world(engine, replace(base, config=replace(base.config, scheme="horizon-ria")))
    publish(w, [("P03", "E03")])
    said = {c: "Argued." for c in ("excellence", "impact", "implementation")}
    task, version = _draft(w, {"excellence": 4.5, "impact": 3.25, "implementation": 4.0}, said)
    check = check_evaluation(w.engine, w.experts["E03"], task,
                             {"excellence": 4.5, "impact": 3.25, "implementation": 4.0}, said)
    assert check.total == 8.5  # 3.25 is off the half-point step: never counted
    assert "Impact: 3.25 is not allowed: give steps of 0.5 from 0 to 5" in check.problems
    with pytest.raises(InvalidInput, match=r"steps of 0\.5"):
        submit_evaluation(w.engine, w.experts["E03"], task, expected_version=version)
    task, version = _draft(w, {"excellence": 4.5, "impact": 3.5, "implementation": 4.0}, said)
    submit_evaluation(w.engine, w.experts["E03"], task, expected_version=version)


def test_the_form_check_is_the_engines(world: World) -> None:
    w = world
    publish(w, [("P03", "E03")])
    task = task_of(w, "P03", "E03")
    accept_task(w.engine, w.experts["E03"], task)
    empty = check_evaluation(w.engine, w.experts["E03"], task, {c: None for c in FULL})
    assert (empty.total, empty.complete, empty.passed) == (0.0, False, None)
    assert [c.band for c in empty.criteria] == [None] * 4
    typed = {**FULL, "impact": 10.0}
    check = check_evaluation(w.engine, w.experts["E03"], task, typed, SAID)
    assert check.total == 72.0 and check.passed is False
    assert check.failures == ("Impact 10 below 11",)
    assert [c.band for c in check.criteria] == ["Good", "Good", "Good", "Fair"]
    with pytest.raises(PermissionDenied):
        check_evaluation(w.engine, w.experts["E04"], task, typed, SAID)


@contextmanager
def _statements(engine: sa.Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_form_flags_read_the_store_in_one_query_for_the_form(engine: sa.Engine) -> None:
    w = build_world(engine, make_call(n_proposals=8, n_experts=4))
    mine = ["P05", "P06", "P07", "P08"]  # E03's maximum load is 4
    publish(w, [(p, "E03") for p in mine])
    copied = "The needs analysis rests on regional labour market data and clear objectives."

    def queries(n_submitted: int) -> int:
        form = _frame(FULL, {**SAID, "relevance": copied})
        with _statements(w.engine) as seen:
            flags = form_flags(w.engine, w.experts["E03"], w.call_id,
                               task_of(w, "P08", "E03"), form)
        assert flags["detail"].to_list() == [  # one flag per proposal it was copied from
            f"identical to their comment on {p}" for p in mine[:n_submitted]]
        return len(seen)

    accept_task(w.engine, w.experts["E03"], task_of(w, "P08", "E03"))
    before = queries(0)
    for proposal in mine[:3]:
        task, version = _draft(w, FULL, {**SAID, "relevance": copied}, proposal)
        submit_evaluation(w.engine, w.experts["E03"], task, expected_version=version)
    assert queries(3) == before  # not one query per submitted task
    review = review_form(w.engine, w.experts["E03"], w.call_id, task_of(w, "P08", "E03"),
                         {**FULL, "impact": None}, {**SAID, "relevance": copied})
    assert review.check.problems == ("Impact: no score set",)
    assert review.flags.select("criterion", "check").rows() == [("relevance", "copied")] * 3
    with pytest.raises(InvalidInput, match="belongs to call"):
        import_call(w.engine, make_call(call_id="OTHER"))
        form_flags(w.engine, w.experts["E03"], "OTHER", task_of(w, "P08", "E03"),
                   _frame(FULL, SAID))
