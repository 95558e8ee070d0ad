"""Released results in a real browser, for each role: before the release no applicant sees any
Evaluation Summary Report; after the manager releases the lot, each applicant contact reads and
downloads only their own proposal's report (in the language its application is written in),
and experts have no such page. Debian's chromium through Playwright, against `evalpanel
dashboard` on a SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser_support import (
    ARTIFACTS,
    click_until,
    dashboard_server,
    needs_chromium,
    settle,
    sign_in_as,
    visible,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]
PASSWORD = "a long passphrase for the release"


def _sign_in(browser: Any, base: str, username: str) -> Any:
    page = sign_in_as(browser.new_page(viewport={"width": 1400, "height": 1000}), base,
                      username, PASSWORD)
    settle(page)
    return page


def _results(page: Any) -> None:
    click_until(page, page.get_by_role("link", name="Evaluation results").first.click,
                lambda: visible(page.get_by_role("heading", name="Evaluation results")),
                "opening the results")
    settle(page)


def _download_html(page: Any, tmp_path: Path, name: str) -> str:
    click_until(page, page.get_by_role("button", name="Open the report").click,
                lambda: visible(page.get_by_role("button", name="Download the report (HTML)")),
                "opening the report")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the report (HTML)").click()
    target = tmp_path / name
    info.value.save_as(str(target))
    return target.read_text(encoding="utf-8")


def test_each_role_sees_only_what_the_release_allows(browser: Any, tmp_path: Path) -> None:
    from evalpanel.reports import release_lot
    from evalpanel.store import SYSTEM, Actor, create_user, make_engine, set_password
    from evalpanel.store.releases import link_contact
    from evalpanel.store.tables import proposals
    from tests.store_fixtures import backend_url, build_world, publish
    from tests.test_reports import FULL, LOW, _consolidate

    url = backend_url("sqlite", tmp_path)
    engine = make_engine(url)
    w = build_world(engine)
    publish(w, [("P03", "E03"), ("P03", "E04"), ("P01", "E03"), ("P01", "E04")])
    _consolidate(w, "P03", FULL, "Analyse des besoins solide.")
    _consolidate(w, "P01", LOW, "The link to EU policies is weak.")
    with engine.begin() as conn:  # P03's application is written in French (its report too)
        conn.execute(proposals.update().where(proposals.c.proposal_id == "P03")
                     .values(language="fr"))
    other = Actor(create_user(engine, SYSTEM, "other-applicant", "applicant"), "applicant")
    for actor in (w.manager, w.applicant, other, w.experts["E03"]):
        set_password(engine, SYSTEM, actor.user_id or 0, PASSWORD)
    link_contact(engine, w.manager, w.applicant.user_id or 0, w.call_id, "P03")
    link_contact(engine, w.manager, other.user_id or 0, w.call_id, "P01")

    with dashboard_server(url, tmp_path / "server.log") as base:
        # before the release: no report for anyone
        page = _sign_in(browser, base, "applicant")
        _results(page)
        assert visible(page.get_by_text("No results have been released for your proposals"))
        assert not visible(page.get_by_role("button", name="Open the report"))
        page.screenshot(path=str(ARTIFACTS / "release-before.png"), full_page=True)
        page.close()

        assert release_lot(engine, w.manager, w.call_id, "L1") == 2

        # the applicant of P03: their own report only, in French
        page = _sign_in(browser, base, "applicant")
        _results(page)
        table = page.locator('[data-testid="stDataFrame"]').first
        table.wait_for(timeout=60_000)
        assert not visible(page.get_by_text("No results have been released"))
        mine = _download_html(page, tmp_path, "mine.html")
        assert "P03" in mine and '<html lang="fr">' in mine
        assert "Pertinence du projet" in mine and "Analyse des besoins solide." in mine
        assert "P01" not in mine and "The link to EU policies is weak." not in mine
        page.get_by_role("combobox").first.click()
        options = page.get_by_role("option").all_inner_texts()
        assert [o.split()[0] for o in options] == ["P03"]  # nothing else to choose
        page.keyboard.press("Escape")
        page.screenshot(path=str(ARTIFACTS / "release-applicant.png"), full_page=True)
        page.close()

        # the applicant of P01: theirs only
        page = _sign_in(browser, base, "other-applicant")
        _results(page)
        theirs = _download_html(page, tmp_path, "theirs.html")
        assert "P01" in theirs and "The link to EU policies is weak." in theirs
        assert "P03" not in theirs and "Analyse des besoins solide." not in theirs
        page.close()

        # an expert of both proposals has no results page at all
        page = _sign_in(browser, base, "user-E03")
        assert not visible(page.get_by_role("link", name="Evaluation results"))
        page.goto(f"{base}/applicant_results")
        page.get_by_role("button", name="Sign out").wait_for(timeout=60_000)
        settle(page)
        assert not visible(page.get_by_role("button", name="Open the report"))
        assert not visible(page.get_by_role("heading", name="Evaluation results"))
        page.screenshot(path=str(ARTIFACTS / "release-expert.png"), full_page=True)
        page.close()
    engine.dispose()
