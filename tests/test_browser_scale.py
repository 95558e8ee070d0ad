"""The three roles' journeys in a real browser on a generated call at the scale of a real one:
5,000 proposals, 2,000 experts, its evaluation under way (:mod:`benchmarks.dashboard_call`, built
once per session into a SQLite file). Every page the journeys open is screenshotted into
``tests/artifacts/screenshots/`` and checked with axe-core; page times go to
``tests/artifacts/page_times_scale.json`` (recorded, not asserted: CI machines are shared; the
targets are measured by ``benchmarks/dashboard_pages.py`` and kept in ``benchmarks/RESULTS.md``).

The manager sees the call's counts as the store holds them, filters the million excluded pairs
to one expert's, and after an expert submits an evaluation the overview counts it at once (the
pages' caches follow the call's data version across sessions).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.browser_support import (
    ARTIFACTS,
    axe_available,
    axe_check,
    chromium,
    dashboard_server,
    needs_chromium,
    settle,
    shot,
    visible,
    write_findings,
)
from tests.test_browser_dashboard import (
    accept,
    choose,
    fill_comments,
    fill_scores,
    press,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]
TIMES: dict[str, float] = {}


@pytest.fixture(scope="session")
def scale_call(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from benchmarks.dashboard_call import build_call

    url = f"sqlite:///{tmp_path_factory.mktemp('scale') / 'scale.sqlite'}"
    return build_call(url)


@pytest.fixture(scope="module")
def scale_server(scale_call: Any) -> Iterator[str]:
    log = Path(scale_call.url.removeprefix("sqlite:///")).with_suffix(".log")
    with dashboard_server(scale_call.url, log) as base:
        yield base


@pytest.fixture(scope="module")
def scale_browser() -> Iterator[Any]:
    with chromium() as b:
        yield b
    (ARTIFACTS / "page_times_scale.json").write_text(json.dumps(TIMES, indent=1, sort_keys=True))
    write_findings("axe-scale.json")


def visit(page: Any, user: str, link: str, marker: str) -> None:
    """Open ``link`` from the navigation, wait for ``marker`` and the end of the run, then keep
    a screenshot and check the page with axe-core."""
    start = time.perf_counter()
    page.get_by_role("link", name=link, exact=True).first.click()
    page.get_by_text(marker, exact=False).first.wait_for(timeout=180_000)
    settle(page)
    TIMES[f"{user}: {link}"] = round(time.perf_counter() - start, 3)
    assert not visible(page.get_by_text("Something went wrong on this page")), link
    shot(page, f"scale-{user}-{link}")
    critical = axe_check(page, f"scale {user}: {link}")
    assert not critical, f"critical accessibility violations on {link}: {critical}"


def test_every_role_at_scale(scale_browser: Any, scale_server: str, scale_call: Any) -> None:
    from evalpanel import workflow
    from evalpanel.store import Actor, list_tasks, make_engine
    from evalpanel.store.summary import evaluation_progress

    axe_available()
    engine = make_engine(scale_call.url)
    manager = Actor(scale_call.accounts["manager"], "manager")
    cid = scale_call.call_id
    before = evaluation_progress(engine, manager, cid)
    assert before.proposals == 5000 and before.experts == 2000

    # The manager: the overview's counts, every page, the excluded pairs of one expert.
    page = sign_in(scale_browser, scale_server, "manager")
    page.get_by_text("Call overview").first.wait_for(timeout=180_000)
    settle(page)
    shot(page, "scale-manager-Overview")
    metric = page.locator('[data-testid="stMetric"]')
    assert metric.filter(has_text="Proposals").inner_text().split()[-1] == "5000"
    assert metric.filter(has_text="Experts").inner_text().split()[-1] == "2000"
    page.get_by_text(f"{before.submitted} of {before.expected} evaluations submitted").wait_for()

    visit(page, "manager", "Conflicts", "Potential conflicts")
    pairs = workflow.conflict_table(engine, manager, cid)
    assert pairs.height > 100_000
    page.get_by_text(f"{pairs.height:,} excluded pairs").first.wait_for()
    expert = str(pairs["expert_id"].value_counts(sort=True)["expert_id"][0])
    mine = pairs.filter(pl.any_horizontal(
        pl.col(c).str.to_lowercase().str.contains(expert.lower(), literal=True).fill_null(False)
        for c in ("proposal_id", "expert_id", "detail")))
    assert 0 < mine.height < pairs.height
    box = page.get_by_role("textbox", name=re.compile("^Filter"))
    box.first.fill(expert)
    box.first.press("Enter")
    page.get_by_text(f"{mine.height:,} excluded pairs of {pairs.height:,}").first.wait_for(
        timeout=120_000)
    settle(page)
    shot(page, "scale-manager-Conflicts-filtered")

    for link, marker in (
        ("Follow-up", "Divergent proposals"),
        ("Consolidation", "Consolidation"),
        ("Ranking", "Funding line"),
        ("Reliability", "Expert leniency"),
        ("Reports and release", "Results and reports"),
        ("Experts and deadlines", "Experts, deadlines and messages"),
        ("Exports and audit", "Audit log"),
        ("Assignment", "Run the assignment"),
        ("Import", "Import a call"),
    ):
        visit(page, "manager", link, marker)
    submitted = metric.filter(has_text="Submitted")

    # An expert of the big call accepts a task, scores it and submits.
    expert_page = sign_in(scale_browser, scale_server, "expert1")
    visit(expert_page, "expert1", "My queue", "Confirm or decline")
    expert1 = Actor(scale_call.accounts["expert1"], "expert")
    waiting = list_tasks(engine, expert1, cid).filter(pl.col("state") == "assigned")
    assert waiting.height
    accept(expert_page)
    taken = list_tasks(engine, expert1, cid).filter(pl.col("state") == "accepted")
    assert taken.height == 1
    task_id, proposal_id = int(taken["task_id"][0]), str(taken["proposal_id"][0])
    visit(expert_page, "expert1", "Scoring form", "Comment for the applicant")
    choose(expert_page, "Task", f"{proposal_id} (accepted)")
    fill_scores(expert_page, [21, 24, 16, 20])
    fill_comments(expert_page, "The proposal argues this criterion with evidence.")
    press(expert_page, "Submit", "it cannot be undone")  # submitting asks for confirmation
    press(expert_page, "Yes, submit the evaluation", f"Task {task_id} submitted")
    shot(expert_page, "scale-expert1-Scoring_form-submitted")
    visit(expert_page, "expert1", "Consolidation", "Consolidation")
    expert_page.close()

    # Back on the manager's tab, the overview counts the new submission.
    visit(page, "manager", "Overview", "Tasks by state")
    assert submitted.inner_text().split()[-1] == str(before.submitted + 1)
    page.close()

    # The applicant's pages do not depend on the call's size but run on the same server.
    page = sign_in(scale_browser, scale_server, "applicant")
    for link, marker in (("Rehearsals", "New rehearsal"),
                         ("Score a rehearsal", "Score a rehearsal"),
                         ("Report", "Mock evaluation report"),
                         ("Evaluation results", "Evaluation results")):
        visit(page, "applicant", link, marker)
    page.close()
    engine.dispose()
    print("\npage times at scale (s):", json.dumps(TIMES, indent=1))
