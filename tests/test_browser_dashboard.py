"""End to end in a real browser: `evalpanel dashboard` on a temporary demo database, driven by
Debian's chromium through Playwright. Screenshots and page times go to ``tests/artifacts/``.

An expert accepts, scores and submits a task; the manager sees it, runs and publishes a batch
and reads the ranking; the applicant runs a mock evaluation.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMES: dict[str, float] = {}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="browser tests need Debian's chromium at "
        "/usr/bin/chromium (apt-get install chromium)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo database, plus one fresh task for expert1 to accept and score."""
    from evalpanel.demo import run_demo
    from evalpanel.store import Actor, InvalidInput, InvalidState, add_task, list_tasks

    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'demo.sqlite'}"
    summary = run_demo(url)
    from evalpanel.store import make_engine

    engine = make_engine(url)
    manager = Actor(summary.accounts["manager"], "manager")
    tasks = list_tasks(engine, manager, summary.call_id)
    expert1 = Actor(summary.accounts["expert1"], "expert")
    own = list_tasks(engine, expert1, summary.call_id)
    expert_id = own["expert_id"][0]
    taken = set(own["proposal_id"].to_list())
    task_id = proposal_id = None
    for candidate in tasks["proposal_id"].unique().sort().to_list():
        if candidate in taken:
            continue
        try:
            task_id = add_task(engine, manager, summary.call_id, candidate, expert_id)
        except (InvalidInput, InvalidState):
            continue
        proposal_id = candidate
        break
    assert task_id is not None
    engine.dispose()
    return {
        "url": url,
        "call_id": summary.call_id,
        "task_id": task_id,
        "proposal_id": proposal_id,
        "accounts": summary.accounts,
    }


@pytest.fixture(scope="module")
def server(demo_db: dict[str, Any]) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log_path = Path(demo_db["url"].removeprefix("sqlite:///")).with_suffix(".log")
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evalpanel.cli",
            "dashboard",
            "--db",
            demo_db["url"],
            "--port",
            str(port),
            "--headless",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = log_path.read_text(errors="replace")
                pytest.fail(f"the dashboard did not start:\n{out}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        # stopping the command stops the server itself: nothing is left answering
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{base}/_stcore/health", timeout=2)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()
    (ARTIFACTS / "page_times.json").write_text(json.dumps(TIMES, indent=1, sort_keys=True))


def settle(page: Any) -> None:
    """Wait until the app has finished its run (no running indicator for a moment)."""
    page.wait_for_timeout(100)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000
    )
    page.wait_for_timeout(100)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000
    )


def accept(page: Any) -> None:
    """Accept the selected task and wait until the queue counts it as accepted; a click that
    lands while the app is still rerunning is lost, so it is repeated once the page is idle."""
    accepted = page.locator('[data-testid="stMetric"]').filter(has_text="Accepted")
    for _ in range(3):
        page.get_by_role("button", name="Accept the task").click()
        settle(page)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if accepted.first.inner_text().split()[-1] == "1":
                return
            page.wait_for_timeout(250)
    pytest.fail("the task was never counted as accepted")


def open_page(page: Any, user: str, link: str, marker: str) -> float:
    """Click the navigation link ``link``, wait for ``marker``; record and return seconds."""
    start = time.perf_counter()
    page.get_by_role("link", name=link).first.click()
    page.get_by_text(marker, exact=False).first.wait_for(timeout=60_000)
    settle(page)
    elapsed = time.perf_counter() - start
    TIMES[f"{user}: {link}"] = round(elapsed, 3)
    page.screenshot(path=str(ARTIFACTS / f"{user}-{link.replace(' ', '_')}.png"), full_page=True)
    return elapsed


def sign_in(browser: Any, base: str, user: str) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(base)
    page.get_by_role("textbox", name="Username").fill(user)
    page.get_by_role("textbox", name="Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Sign out").wait_for(timeout=60_000)
    settle(page)
    return page


def choose(page: Any, label: str, option: str) -> None:
    """Pick ``option`` (a substring of its text) in the selectbox labelled ``label``."""
    page.get_by_label(label).first.click()
    page.get_by_role("option").filter(has_text=option).first.click()
    settle(page)


def fill_scores(page: Any, values: list[float]) -> None:
    boxes = page.locator('input[aria-label="Score"]')
    assert boxes.count() == len(values)
    for i, value in enumerate(values):
        boxes.nth(i).fill(f"{value:g}")
        boxes.nth(i).press("Enter")
        settle(page)


def test_expert_manager_applicant(browser: Any, server: str, demo_db: dict[str, Any]) -> None:
    from evalpanel.store import Actor, get_evaluation, list_tasks, make_engine

    engine = make_engine(demo_db["url"])
    task_id, proposal_id = demo_db["task_id"], demo_db["proposal_id"]
    manager = Actor(demo_db["accounts"]["manager"], "manager")

    # The expert: accept the new task, score it, submit.
    page = sign_in(browser, server, "expert1")
    page.get_by_text("My queue").first.wait_for()
    open_page(page, "expert1", "My queue", "Confirm or decline")
    accept(page)
    open_page(page, "expert1", "Scoring form", "Comment for the applicant")
    choose(page, "Task", f"{proposal_id} (accepted)")
    fill_scores(page, [21, 24, 16, 20])
    page.get_by_text("81", exact=True).first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "expert1-Scoring_form-filled.png"), full_page=True)
    page.get_by_role("button", name="Submit").click()
    page.get_by_text(f"Task {task_id} submitted.").wait_for(timeout=60_000)
    open_page(page, "expert1", "Consolidation", "Consolidation")
    page.close()
    ev = get_evaluation(engine, manager, task_id)
    assert ev["status"] == "submitted"
    assert sorted(ev["scores"]["score"].to_list()) == [16.0, 20.0, 21.0, 24.0]

    # The manager: sees the submission, runs and publishes a batch, reads the ranking.
    page = sign_in(browser, server, "manager")
    open_page(page, "manager", "Overview", "Call overview")
    open_page(page, "manager", "Follow-up", "Tasks by state")
    submitted = (
        list_tasks(engine, manager, demo_db["call_id"])
        .filter(pl.col("state") == "submitted")
        .height
    )
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Submitted")
    assert metric.inner_text().split()[-1] == str(submitted)
    for link, marker in (
        ("Import", "Import a call"),
        ("Conflicts", "Declare a conflict"),
        ("Consolidation", "Drafting"),
        ("Reliability", "Expert leniency"),
        ("Exports and audit", "Audit log"),
    ):
        open_page(page, "manager", link, marker)
    open_page(page, "manager", "Assignment", "Run the assignment")
    before = {"pairs": list_tasks(engine, manager, demo_db["call_id"]).height}
    page.get_by_role("button", name="Run the assignment").click()
    page.get_by_text("Preview of batch").wait_for(timeout=120_000)
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "manager-Assignment-preview.png"), full_page=True)
    page.get_by_role("button", name="Publish this batch").click()
    page.get_by_text("published").first.wait_for(timeout=120_000)
    settle(page)
    assert list_tasks(engine, manager, demo_db["call_id"]).height >= before["pairs"]
    open_page(page, "manager", "Ranking", "Funding line")
    assert page.get_by_role("radio").count() == 3
    page.close()

    # The applicant: a mock evaluation from creation to report.
    page = sign_in(browser, server, "applicant")
    open_page(page, "applicant", "Rehearsals", "New rehearsal")
    page.get_by_role("textbox", name="Proposal title").fill("Green skills alliance")
    page.get_by_role("textbox", name="Describe the proposal").fill(
        "Vocational schools and SMEs together."
    )
    page.get_by_role("button", name="Create").click()
    page.get_by_text("created").first.wait_for(timeout=60_000)
    settle(page)
    open_page(page, "applicant", "Score a rehearsal", "Your total")
    fill_scores(page, [20, 12, 15, 20])
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("Submitted; the applicant").wait_for(timeout=60_000)
    open_page(page, "applicant", "Report", "Each criterion")
    assert (
        page.locator('[data-testid="stMetric"]').filter(has_text="Outcome").inner_text().split()[-1]
        == "fails"
    )
    page.close()
    engine.dispose()
    # Times are recorded (tests/artifacts/page_times.json, benchmarks/RESULTS.md), not asserted.
    print("\npage times (s):", json.dumps(TIMES, indent=1))
