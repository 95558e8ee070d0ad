"""Releasing a lot's results tells each applicant contact by e-mail: one message per contact
and release, in the proposal's language, delivered by `evalpanel notify run` to a real SMTP
server on loopback (aiosmtpd), exactly once, even when the sender is killed mid-send; on SQLite
and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from email.message import Message as EmailMessage
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.mailer import send_due
from evalpanel.reports import release_lot
from evalpanel.store import SYSTEM, Actor, InvalidInput, audit_frame, create_user
from evalpanel.store.notifications import list_notifications, plan_notifications
from evalpanel.store.releases import link_contact
from evalpanel.store.tables import proposals, users
from tests.smtp_support import SENDER, Inbox, smtp_config
from tests.store_fixtures import World, publish
from tests.test_reports import FULL, LOW, _consolidate

pytest.importorskip("aiosmtpd.controller")
pytest.importorskip("pypdf")

URL = "https://panel.example.org"


@pytest.fixture
def released_world(world: World) -> World:
    """P01 and P03 (lot L1) consolidated; P03 is written in French; P03 has two contacts (one
    with an address given, one whose username is an address), P01 one without any address."""
    publish(world, [("P03", "E03"), ("P03", "E04"), ("P01", "E03"), ("P01", "E04")])
    _consolidate(world, "P03", FULL, "Strong.")
    _consolidate(world, "P01", LOW, "The link to EU policies is weak.")
    with world.engine.begin() as conn:  # after the evaluation: its experts read English
        conn.execute(proposals.update().where(proposals.c.proposal_id == "P03")
                     .values(language="fr"))
        conn.execute(users.update().where(users.c.user_id == world.applicant.user_id)
                     .values(display_name="Ana Coordinator"))
    w = world
    link_contact(w.engine, w.manager, w.applicant.user_id or 0, w.call_id, "P03",
                 email="ana@coordinator.example.fr")
    deputy = create_user(w.engine, SYSTEM, "deputy@coordinator.example.fr", "applicant",
                         display_name="Deputy")
    link_contact(w.engine, w.manager, deputy, w.call_id, "P03")
    nobody = create_user(w.engine, SYSTEM, "p01-contact", "applicant")
    link_contact(w.engine, w.manager, nobody, w.call_id, "P01")
    return w


def _released(w: World) -> pl.DataFrame:
    return list_notifications(w.engine, SYSTEM, call_id=w.call_id).filter(
        pl.col("kind") == "results_released")


def test_a_release_queues_one_notice_per_contact_in_the_proposals_language(
        released_world: World, inbox: tuple[Inbox, int]) -> None:
    w = released_world
    box, port = inbox
    assert _released(w).is_empty()  # nothing before the release
    assert release_lot(w.engine, w.manager, w.call_id, "L1", dashboard_url=URL) == 2
    queued = _released(w)
    assert sorted(queued["recipient"].to_list()) == [
        "ana@coordinator.example.fr", "deputy@coordinator.example.fr"]  # P01's has no address
    assert set(queued["language"]) == {"fr"}
    # the planner finds nothing new to queue, and neither does a second run
    assert plan_notifications(w.engine, SYSTEM) == 0
    report = send_due(w.engine, SYSTEM, smtp_config(port))
    assert report.sent == 2 and send_due(w.engine, SYSTEM, smtp_config(port)).sent == 0
    got = {m["To"]: (m, rcpts) for m, (_, rcpts) in zip(box.messages, box.envelopes,
                                                         strict=True)}
    assert set(got) == {"Ana Coordinator <ana@coordinator.example.fr>",
                        "Deputy <deputy@coordinator.example.fr>"}
    mail, rcpts = got["Ana Coordinator <ana@coordinator.example.fr>"]
    assert rcpts == ["ana@coordinator.example.fr"]
    assert mail["From"] == SENDER and mail["Content-Language"] == "fr"
    assert mail["Subject"] == (f"[{w.call_id}] Les résultats de l'évaluation de P03 sont "
                               "disponibles")
    body = mail.get_content()
    assert "Madame, Monsieur Ana Coordinator" in body and URL in body
    assert "Education and enterprises" in body  # the lot's title
    actions = audit_frame(w.engine, SYSTEM, w.call_id)["action"].to_list()
    assert actions.count("send_notification") == 2


def test_a_contact_linked_after_the_release_is_told_by_the_next_run(
        released_world: World, inbox: tuple[Inbox, int]) -> None:
    w = released_world
    box, port = inbox
    release_lot(w.engine, w.manager, w.call_id, "L1")
    late = create_user(w.engine, SYSTEM, "late", "applicant")
    link_contact(w.engine, w.manager, late, w.call_id, "P01", email="late@example.org")
    assert plan_notifications(w.engine, SYSTEM, call_id=w.call_id) == 1
    assert plan_notifications(w.engine, SYSTEM, call_id=w.call_id) == 0
    send_due(w.engine, SYSTEM, smtp_config(port))
    english = [m for m in box.messages if m["To"] == "late <late@example.org>"]
    assert len(english) == 1 and english[0]["Content-Language"] == "en"
    assert english[0]["Subject"] == f"[{w.call_id}] The evaluation results of P01 are available"
    # the same reports released again are no new notice; a corrected one is
    release_lot(w.engine, w.manager, w.call_id, "L1", replace=True)
    assert _released(w).height == 3
    with w.engine.begin() as conn:
        conn.execute(proposals.update().where(proposals.c.proposal_id == "P01")
                     .values(title="Corrected title"))
    release_lot(w.engine, w.manager, w.call_id, "L1", replace=True)
    assert _released(w).height == 4


def test_a_bad_address_is_refused(released_world: World) -> None:
    w = released_world
    other = Actor(create_user(w.engine, SYSTEM, "x", "applicant"), "applicant")
    for bad in ("not an address", "a@b", "@example.org"):
        with pytest.raises(InvalidInput, match="is not an e-mail address"):
            link_contact(w.engine, w.manager, other.user_id or 0, w.call_id, "P03", email=bad)


def test_a_notice_arrives_once_across_a_crash_of_the_sender(
        released_world: World, inbox: tuple[Inbox, int], db_url: str, tmp_path: Path) -> None:
    w = released_world
    box, port = inbox
    release_lot(w.engine, w.manager, w.call_id, "L1")
    config = tmp_path / "evalpanel.toml"
    config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n'
                      f'sender = "{SENDER}"\ntimeout = 10\n', encoding="utf-8")
    victim: dict[str, subprocess.Popen[str]] = {}

    def kill_the_sender(message: EmailMessage) -> str | None:
        if "proc" in victim and not box.messages:  # accepted, then the sender dies
            os.kill(victim["proc"].pid, signal.SIGKILL)
        return None

    def notify_run() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "evalpanel", "notify", "run", "--config", str(config),
             "--db", db_url], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env={**os.environ})

    box.on_data = kill_the_sender
    victim["proc"] = notify_run()
    victim["proc"].communicate(timeout=120)
    assert victim["proc"].returncode == -signal.SIGKILL
    del victim["proc"]
    again = notify_run()
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "sent 1," in out
    ids = [m["Message-ID"] for m in box.messages]
    assert len(ids) == 2 == len(set(ids))  # each contact's notice exactly once
    assert sorted(_released(w)["status"].to_list()) == ["sending", "sent"]


def test_the_cli_links_a_contact_with_an_address(released_world: World, db_url: str) -> None:
    w = released_world
    create_user(w.engine, SYSTEM, "cli-contact", "applicant")
    done = subprocess.run(
        [sys.executable, "-m", "evalpanel", "report", "contact", "cli-contact", w.call_id, "P01",
         "--email", "cli@example.org", "--db", db_url], capture_output=True, text=True,
        check=False)
    assert done.returncode == 0, done.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "evalpanel", "report", "contact", "cli-contact", w.call_id, "P01",
         "--email", "nope", "--db", db_url], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "is not an e-mail address" in bad.stderr
    with w.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT email FROM contact_emails")).scalars().all() \
            .count("cli@example.org") == 1
