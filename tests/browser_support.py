"""Shared parts of the browser tests: starting `evalpanel dashboard` as a real server on a free
port, launching Debian's chromium through Playwright (never ``playwright install``), waiting for
the app to be idle, clicking in a way that survives a rerun, and signing in through the form.
The module-scoped ``browser`` fixture (one chromium per test module) is shared through
``tests/conftest.py``.

Screenshots go to ``tests/artifacts/`` (git-ignored), those of every page a journey opens to
``tests/artifacts/screenshots/`` (CI keeps that folder as artefacts). :func:`axe_check` runs
axe-core, installed from npm into ``tests/axe/node_modules`` (``npm ci --prefix tests/axe``),
in a page.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
AXE = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def dashboard_server(
    db_url: str,
    log_path: Path,
    *,
    port: int | None = None,
    extra_args: Sequence[str] = (),
    cwd: Path = ROOT,
) -> Iterator[str]:
    """Run ``evalpanel dashboard --db URL --port P --headless [extra_args]`` and yield its base
    URL once it answers; on exit stop it and check that nothing is left answering."""
    port = free_port() if port is None else port
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "evalpanel.cli", "dashboard", "--db", db_url,
               "--port", str(port), "--headless", *extra_args]
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
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
                    pytest.fail(f"the dashboard did not start:\n{log_path.read_text('utf-8')}")
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    # stopping the command stops the server itself: nothing is left answering
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/_stcore/health", timeout=2)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian chromium driven by Playwright; also makes ``tests/artifacts/``."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium for the test module (:func:`chromium`)."""
    with chromium() as b:
        yield b


def sign_in_as(page: Any, base: str, username: str, password: str) -> Any:
    """Open the app at ``base`` in ``page``, sign in as ``username`` through the form and wait
    for the signed-in page (its "Sign out" button); returns ``page``."""
    page.goto(base)
    page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
    settle(page)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    click_until(page, page.get_by_role("button", name="Sign in", exact=True).click,
                lambda: visible(page.get_by_role("button", name="Sign out")),
                f"signing in as {username}")
    return page


def settle(page: Any) -> None:
    """Wait until the app has finished its run (no running indicator for a moment)."""
    for _ in range(2):
        page.wait_for_timeout(100)
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000
        )


def running(page: Any) -> bool:
    """Whether the app shows its running indicator (a script run is under way)."""
    return bool(page.locator('[data-testid="stStatusWidget"]').count())


def click_until(
    page: Any, click: Callable[[], None], done: Callable[[], bool], what: str, *,
    attempts: int = 3, idle_s: float = 10.0, limit_s: float = 180.0,
) -> None:
    """``click()``, then wait until ``done()``. A click that lands while the app is still
    rerunning is lost: when the app has stayed idle for ``idle_s`` seconds without ``done()``,
    the click is repeated (a click that was taken shows its result when its run ends, so it is
    never repeated). Fails naming ``what``."""
    stop = time.monotonic() + limit_s
    for _ in range(attempts):
        click()
        page.wait_for_timeout(100)
        idle_since = time.monotonic()
        while time.monotonic() < stop:
            if done():
                settle(page)
                return
            if running(page):
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > idle_s:
                break
            page.wait_for_timeout(200)
    shot = ARTIFACTS / "failed-click.png"
    page.screenshot(path=str(shot), full_page=True)
    pytest.fail(f"{what} never happened (the page is in {shot})")


def visible(locator: Any) -> bool:
    """Whether the first element of ``locator`` is on the page and visible."""
    return bool(locator.count() and locator.first.is_visible())


def tick(page: Any, label: str) -> None:
    """Tick the checkbox whose label contains ``label`` (a confirmation) and wait for the
    rerun it starts; repeated when the click landed during a rerun."""
    box = page.get_by_role("checkbox", name=label).first
    click_until(page, lambda: page.get_by_text(label).first.click(), box.is_checked,
                f"ticking {label!r}")
def shot(page: Any, name: str) -> Path:
    """A full-page screenshot ``tests/artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name.replace(' ', '_').replace(':', '')}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_available() -> None:
    """Skip, with a message, when axe-core is not installed here (a fresh checkout that ran
    only the README's test command); where ``EVALPANEL_REQUIRE_AXE`` is set, as in CI, a
    missing install is a failure instead."""
    if AXE.exists():
        return
    missing = f"axe-core is not installed ({AXE} is missing): run npm ci --prefix tests/axe"
    if os.environ.get("EVALPANEL_REQUIRE_AXE"):
        pytest.fail(missing)
    pytest.skip(missing + ("" if shutil.which("node") else " (needs node and npm)"))


# The impacts that fail a page, and those that are only reported:
FAILING = ("critical",)
REPORTED = ("serious",)
FINDINGS: dict[str, list[dict[str, Any]]] = {}


def axe_check(page: Any, name: str) -> list[dict[str, Any]]:
    """Run axe-core (the local npm install, injected with ``add_script_tag``) on the page as
    it is; returns the violations with impact ``critical`` (the caller fails on any) and prints
    the ``serious`` ones. Every finding is kept for ``tests/artifacts/axe.json``."""
    axe_available()
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})); }"
    )
    found = [dict(v) for v in result]
    FINDINGS[name] = found
    for v in found:
        if v["impact"] in REPORTED:
            print(f"\naxe ({v['impact']}) on {name}: {v['id']}: {v['help']} {v['nodes']}")
    return [v for v in found if v["impact"] in FAILING]


def write_findings(file_name: str = "axe.json") -> None:
    """Write the accessibility findings so far to ``tests/artifacts/<file_name>``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / file_name).write_text(json.dumps(FINDINGS, indent=1, sort_keys=True))
