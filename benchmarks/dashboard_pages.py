"""Dashboard page times at the scale of a real call, in a real browser, on SQLite and PostgreSQL.

    PYTHONPATH=. python -m benchmarks.dashboard_pages [--loads 3] [--proposals 5000]
        [--experts 2000] [--conflicts 100000] [--pg URL | --no-pg] [--reuse DIR]

Builds :mod:`benchmarks.dashboard_call`'s generated call (5,000 proposals, 2,000 experts,
100,000 declared conflicts, the evaluation under way) into a SQLite file and into the
PostgreSQL database of ``--pg`` (default ``$EVALPANEL_TEST_PG_URL``; that database is wiped),
starts ``evalpanel dashboard`` on each, and drives Debian's chromium through Playwright: sign-in
to the first page, every page of the three roles opened from the navigation ``--loads`` times
(the first visit after the server started, then visits with the page's data unchanged), and a
reload of the browser tab. A page counts as loaded when its marker text is visible and
Streamlit's running indicator has been gone for 0.3 s (the time is taken when it went). Prints
one table: page, SQLite s, PostgreSQL s, each the median of the loads, and the first load.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# (role, navigation link, text the page shows once its content is there)
PAGES: list[tuple[str, str, str]] = [
    ("manager", "Overview", "Tasks by state"),
    ("manager", "Import", "Import a call"),
    ("manager", "Conflicts", "Potential conflicts"),
    ("manager", "Assignment", "Run the assignment"),
    ("manager", "Follow-up", "Divergent proposals"),
    ("manager", "Experts and deadlines", "Experts, deadlines and messages"),
    ("manager", "Consolidation", "Consolidation"),
    ("manager", "Ranking", "Funding line"),
    ("manager", "Reliability", "Expert leniency"),
    ("manager", "Reports and release", "A report is built when it is downloaded"),
    ("manager", "Exports and audit", "Audit log"),
    ("expert", "My queue", "My queue"),
    ("expert", "Scoring form", "Scoring form"),
    ("expert", "Consolidation", "Consolidation"),
    ("applicant", "Rehearsals", "New rehearsal"),
    ("applicant", "Score a rehearsal", "Score a rehearsal"),
    ("applicant", "Report", "Mock evaluation report"),
    ("applicant", "Evaluation results", "Evaluation results"),
]
USERS = {"manager": "manager", "expert": "expert1", "applicant": "applicant"}
FIRST = {"manager": "Call overview", "expert": "My queue", "applicant": "Mock evaluation"}
STATUS = '[data-testid="stStatusWidget"]'
BROKEN = "Something went wrong on this page"


def wait_loaded(page: Any, marker: str, start: float, *, quiet_s: float = 0.3,
                limit_s: float = 120.0) -> float:
    """Seconds from ``start`` until ``marker`` is visible and the running indicator is gone
    (and stays gone for ``quiet_s``); raises when the page shows an error instead."""
    page.get_by_text(marker, exact=False).first.wait_for(timeout=limit_s * 1000)
    stop = time.perf_counter() + limit_s
    while time.perf_counter() < stop:
        page.wait_for_function(f"() => !document.querySelector('{STATUS}')",
                               timeout=limit_s * 1000, polling=20)
        idle_at = time.perf_counter()
        page.wait_for_timeout(quiet_s * 1000)
        if not page.locator(STATUS).count():
            if page.get_by_text(BROKEN).count():
                raise RuntimeError(f"the page with {marker!r} shows an error")
            return idle_at - start
    raise TimeoutError(f"the page with {marker!r} never became idle")


def sign_in(page: Any, base: str, user: str, password: str = "demo") -> float:
    """Sign in through the form; seconds from the click to the first page, loaded."""
    page.goto(base)
    page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
    wait_loaded(page, "Username", time.perf_counter())
    page.get_by_role("textbox", name="Username").fill(user)
    page.get_by_role("textbox", name="Password").fill(password)
    start = time.perf_counter()
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_text("Sign out").first.wait_for(timeout=120_000)
    role = next(r for r, u in USERS.items() if u == user)
    return wait_loaded(page, FIRST[role], start)


def open_link(page: Any, link: str, marker: str) -> float:
    """Click the navigation link ``link``; seconds until the page is loaded."""
    start = time.perf_counter()
    page.get_by_role("link", name=link, exact=True).first.click()
    return wait_loaded(page, marker, start)


def reload(page: Any, marker: str) -> float:
    """Reload the tab (the session comes back from the cookie); seconds until loaded."""
    start = time.perf_counter()
    page.reload()
    return wait_loaded(page, marker, start)


def measure(
    browser: Any, base: str, loads: int, shots: Path | None = None
) -> dict[str, list[float]]:
    """Every page's load times (``loads`` of each), sign-in and reload, as ``{row: [s, ...]}``."""
    out: dict[str, list[float]] = {}
    for role, user in USERS.items():
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        out[f"sign-in ({role}) to {FIRST[role]}"] = [sign_in(page, base, user)]
        mine = [(link, marker) for r, link, marker in PAGES if r == role]
        for i in range(loads):
            for link, marker in mine:
                try:
                    took = open_link(page, link, marker)
                except Exception as exc:  # a page too slow or broken: recorded, run goes on
                    print(f"  {role}: {link}: {type(exc).__name__}", file=sys.stderr)
                    took = math.inf
                    page.goto(base)
                    page.get_by_text(FIRST[role]).first.wait_for(timeout=300_000)
                print(f"  {role}: {link}: {took:.2f} s", file=sys.stderr, flush=True)
                out.setdefault(f"{role}: {link}", []).append(took)
                if shots is not None and i == 0:
                    page.screenshot(path=str(shots / f"scale-{role}-{link.replace(' ', '_')}.png"),
                                    full_page=True)
        link, marker = mine[0]
        open_link(page, link, marker)
        out[f"reload ({role}: {link})"] = [reload(page, marker) for _ in range(loads)]
        context.close()
    return out


@contextmanager
def served(url: str, log: Path) -> Iterator[str]:
    from tests.browser_support import dashboard_server

    with dashboard_server(url, log) as base:
        yield base


def run(url: str, log: Path, loads: int) -> dict[str, list[float]]:
    from tests.browser_support import chromium

    with served(url, log) as base, chromium() as browser:
        return measure(browser, base, loads)


APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
FILES = {"Overview": "manager_overview", "Import": "manager_import",
         "Conflicts": "manager_conflicts", "Assignment": "manager_assignment",
         "Follow-up": "manager_followup", "Experts and deadlines": "manager_people",
         "Consolidation": "manager_consolidation", "Ranking": "manager_ranking",
         "Reliability": "manager_reliability", "Reports and release": "manager_results",
         "Exports and audit": "manager_exports"}


def server_times(url: str, loads: int) -> dict[str, list[float]]:
    """Seconds of the app's script run for each manager page (Streamlit's AppTest in this
    process, no browser): what the server spends, apart from sending and drawing the page.
    The first load of each page is the cold one (nothing cached yet)."""
    import sqlalchemy as sa
    from streamlit.testing.v1 import AppTest

    from evalpanel.store import Actor, make_engine, start_session
    from evalpanel.store.tables import users

    os.environ["EVALPANEL_DB_URL"] = url
    engine = make_engine(url)
    with engine.connect() as conn:
        uid = conn.execute(sa.select(users.c.user_id).where(users.c.username == "manager")
                           ).scalar_one()
    token = start_session(engine, Actor(uid, "manager"), "manager", provider="local",
                          client="benchmark")
    engine.dispose()
    at = AppTest.from_file(str(APP), default_timeout=600)
    at.session_state["session_token"] = token
    at.run()
    out: dict[str, list[float]] = {}
    for _ in range(loads):
        for link, file in FILES.items():
            start = time.perf_counter()
            at.switch_page(f"pages/{file}.py").run()
            if at.exception:
                raise RuntimeError(f"{file}: {at.exception}")
            out.setdefault(f"manager: {link}", []).append(time.perf_counter() - start)
    return out


def table(results: dict[str, dict[str, list[float]]]) -> str:
    names = list(results)
    rows = list(dict.fromkeys(r for res in results.values() for r in res))
    head = "| page | " + " | ".join(f"{n} s (median) | {n} first s" for n in names) + " |"
    lines = [head, "|---" * (1 + 2 * len(names)) + "|"]
    for row in rows:
        cells = []
        for n in names:
            got = results[n].get(row)
            cells += ([f"{statistics.median(got):.2f}", f"{got[0]:.2f}"] if got else ["", ""])
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    for n in names:
        pages = [statistics.median(v) for k, v in results[n].items() if ":" in k
                 and not k.startswith(("sign-in", "reload"))]
        lines.append(f"\n{n}: median page {statistics.median(pages):.2f} s, slowest "
                     f"{max(pages):.2f} s over {len(pages)} pages")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--proposals", type=int, default=5000)
    ap.add_argument("--experts", type=int, default=2000)
    ap.add_argument("--conflicts", type=int, default=100_000)
    ap.add_argument("--pg", default=os.environ.get("EVALPANEL_TEST_PG_URL", ""))
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--server-side", action="store_true",
                    help="also time each manager page's script run without a browser (AppTest)")
    ap.add_argument("--reuse", metavar="DIR", help="keep the SQLite file in DIR and reuse it "
                    "(and the PostgreSQL database) when it is already built")
    args = ap.parse_args(argv)
    from benchmarks.dashboard_call import build_call

    folder = Path(args.reuse or tempfile.mkdtemp(prefix="dashboard-pages-"))
    folder.mkdir(parents=True, exist_ok=True)
    backends = {"SQLite": f"sqlite:///{folder / 'scale.sqlite'}"}
    if args.pg and not args.no_pg:
        backends["PostgreSQL"] = args.pg
    results: dict[str, dict[str, list[float]]] = {}
    for name, url in backends.items():
        marker = folder / f"built-{name}"
        if not (args.reuse and marker.exists()):
            made = build_call(url, n_proposals=args.proposals, n_experts=args.experts,
                              n_conflicts=args.conflicts,
                              progress=lambda m, n=name: print(f"[{n}] {m}", file=sys.stderr))
            print(f"[{name}] {made.counts}", file=sys.stderr)
            marker.write_text("built\n")
        load = os.getloadavg()[0]
        results[name] = run(url, folder / f"{name}.log", args.loads)
        print(f"[{name}] measured; load average {load:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after", file=sys.stderr)
        if args.server_side:
            results[f"{name} server"] = server_times(url, args.loads)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
