"""An invited expert's first visit, in a real browser: `evalpanel notify invite` makes the
one-time link, `evalpanel notify run` mails it to a real SMTP server on loopback (aiosmtpd),
Debian's chromium opens the link from the received e-mail, the expert sets a password and sees
their queue; the same link opened again is refused with a clear message. The same for a
colleague invited to a rehearsal by e-mail."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.browser_support import (
    ARTIFACTS,
    click_until,
    dashboard_server,
    free_port,
    needs_chromium,
    settle,
    visible,
)
from tests.smtp_support import SENDER, Inbox

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]
PASSPHRASE = "a long passphrase for E05"


def _world(url: str) -> Any:
    from evalpanel.store import make_engine
    from evalpanel.store.tables import expert_links
    from tests.store_fixtures import build_world, publish

    engine = make_engine(url)
    w = build_world(engine)
    with engine.begin() as conn:  # E05 has no account yet
        conn.execute(expert_links.delete().where(expert_links.c.expert_id == "E05"))
    publish(w, [("P03", "E05")])
    return w


def _cli(url: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "evalpanel", *args, "--db", url],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _wait(page: Any, condition: Any, what: str, timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s * 5)):
        if condition():
            settle(page)
            return
        page.wait_for_timeout(200)
    page.screenshot(path=str(ARTIFACTS / "invite-failed.png"), full_page=True)
    pytest.fail(f"{what} never happened (the page is in invite-failed.png)")


def _open(browser: Any, link: str) -> Any:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(link)
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    settle(page)
    return page


def test_an_invited_expert_sets_a_password_and_sees_their_queue(
        browser: Any, inbox: tuple[Inbox, int], tmp_path: Path) -> None:
    from tests.store_fixtures import backend_url

    box, smtp_port = inbox
    url = backend_url("sqlite", tmp_path)
    w = _world(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "evalpanel.toml"
    config.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nstarttls = false\n'
        f'sender = "{SENDER}"\ntimeout = 10\n[notify]\ndashboard_url = "{base}"\n',
        encoding="utf-8")
    out = _cli(url, "notify", "invite", w.call_id, "--expert", "E05", "--config", str(config))
    assert "invited 1 experts (1 new accounts)" in out
    _cli(url, "notify", "run", "--config", str(config))
    invitations = [m for m in box.messages if m["To"] == "Expert 5 <e5@example.org>"
                   and "Your account" in m["Subject"]]
    assert len(invitations) == 1
    found = re.search(rf"{re.escape(base)}/\?invite=[\w-]+", invitations[0].get_content())
    assert found, invitations[0].get_content()
    link = found.group(0)

    with dashboard_server(url, tmp_path / "server.log", port=port):
        page = _open(browser, link)
        _wait(page, lambda: visible(page.get_by_text("Welcome to the evaluation")),
              "the invitation page")
        shown = page.locator("body").inner_text().replace("\u2060", "")
        assert "Your username is e5@example.org" in shown, shown
        page.get_by_role("textbox", name="Choose a password").fill(PASSPHRASE)
        page.get_by_role("textbox", name="Repeat the password").fill(PASSPHRASE)
        click_until(page, page.get_by_role("button", name="Set my password and open my queue")
                    .click, lambda: visible(page.get_by_role("button", name="Sign out")),
                    "setting the password")
        _wait(page, lambda: visible(page.get_by_text("My queue").first), "the queue")
        assert visible(page.get_by_text("Your password is set. This is your queue."))
        assert "invite=" not in page.url  # the used token left the address
        page.screenshot(path=str(ARTIFACTS / "invite-queue.png"), full_page=True)
        grid = page.locator('[data-testid="stDataFrame"]').first
        _wait(page, lambda: grid.is_visible(), "the queue's table")

        again = _open(browser, link)
        _wait(again, lambda: visible(again.get_by_text("not valid any more")),
              "the refusal of a used link")
        assert not visible(again.get_by_role("button", name="Sign out"))
        again.screenshot(path=str(ARTIFACTS / "invite-used.png"), full_page=True)

    from evalpanel.store import authenticate, make_engine
    from evalpanel.store.tables import tasks

    engine = make_engine(url)
    actor = authenticate(engine, "e5@example.org", PASSPHRASE)
    with engine.connect() as conn:
        assert conn.execute(sa.select(tasks.c.expert_id).where(
            tasks.c.proposal_id == "P03")).scalars().all() == ["E05"]
    assert actor.role == "expert"
    engine.dispose()


def test_a_colleague_joins_a_rehearsal_from_the_email(
        browser: Any, inbox: tuple[Inbox, int], tmp_path: Path) -> None:
    from evalpanel.mailer import send_due
    from evalpanel.store import SYSTEM, create_rehearsal, list_rehearsals, make_engine
    from evalpanel.store.rehearsal_invites import invite_by_email
    from tests.smtp_support import smtp_config
    from tests.store_fixtures import backend_url

    box, smtp_port = inbox
    url = backend_url("sqlite", tmp_path)
    w = _world(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    rid = create_rehearsal(w.engine, w.applicant, "erasmus-afi", "Green skills", "Draft", [])
    invite_by_email(w.engine, w.applicant, rid, ["bea@school.example.org"], dashboard_url=base)
    assert send_due(w.engine, SYSTEM, smtp_config(smtp_port)).sent == 1
    found = re.search(rf"{re.escape(base)}/\?rehearsal=[\w-]+", box.messages[0].get_content())
    assert found
    with dashboard_server(url, tmp_path / "server.log", port=port):
        page = _open(browser, found.group(0))
        _wait(page, lambda: visible(page.get_by_text("Join a mock evaluation")),
              "the rehearsal's invitation page")
        page.get_by_role("textbox", name="Your name").fill("Bea Colleague")
        page.get_by_role("textbox", name="Choose a password").fill(PASSPHRASE)
        page.get_by_role("textbox", name="Repeat the password").fill(PASSPHRASE)
        click_until(page, page.get_by_role("button", name="Join and score").click,
                    lambda: visible(page.get_by_role("button", name="Sign out")), "joining")
        _wait(page, lambda: visible(page.get_by_text("You joined rehearsal")), "the note")
        text = page.get_by_text("Your username is").first.inner_text()
        username = re.search(r"scorer-[0-9a-f]{8}", text)
        assert username, text
    engine = make_engine(url)
    from evalpanel.store import find_user

    scorer = find_user(engine, SYSTEM, username.group(0))
    assert list_rehearsals(engine, scorer)["rehearsal_id"].to_list() == [rid]
    engine.dispose()
