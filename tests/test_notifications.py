"""The notification outbox against a real SMTP server on loopback (aiosmtpd), on SQLite and
PostgreSQL: what is queued, what arrives (headers, recipients, language), retries, STARTTLS,
and that nothing is sent twice, even when the sender is killed mid-send."""

from __future__ import annotations

import datetime as dt
import os
import signal
import ssl
import subprocess
import sys
from email.message import Message as EmailMessage
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.mailer import ConfigError, NotifyConfig, SmtpConfig, load_config, send_due
from evalpanel.store import SYSTEM, PermissionDenied, audit_frame
from evalpanel.store.deadlines import overdue_tasks, set_deadline, task_deadlines
from evalpanel.store.notifications import list_notifications, plan_notifications
from evalpanel.store.tables import experts, notifications
from tests.smtp_support import SENDER, Inbox, free_port, smtp_config
from tests.store_fixtures import World, publish

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

PAIRS = [("P01", "E03"), ("P01", "E04"), ("P02", "E03"), ("P02", "E05")]


def _outbox(w: World) -> pl.DataFrame:
    return list_notifications(w.engine, SYSTEM, call_id=w.call_id)


def test_assignments_are_queued_once_and_arrive_once(world: World,
                                                      inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    publish(world, PAIRS)
    set_deadline(world.engine, world.manager, world.call_id, "evaluation", dt.date(2031, 3, 31))
    today = dt.date(2031, 1, 10)
    assert plan_notifications(world.engine, SYSTEM, today=today) == len(PAIRS)
    assert plan_notifications(world.engine, SYSTEM, today=today) == 0  # nothing twice
    report = send_due(world.engine, SYSTEM, smtp_config(port))
    assert (report.sent, report.retrying, report.failed) == (len(PAIRS), 0, 0)
    assert send_due(world.engine, SYSTEM, smtp_config(port)).sent == 0
    assert len(box.messages) == len(PAIRS)

    expected = sorted((f"Expert {int(e[1:])} <e{int(e[1:])}@example.org>",
                       [f"e{int(e[1:])}@example.org"], p) for p, e in PAIRS)
    got = sorted((m["To"], rcpts, m["Subject"].split()[-1])
                 for m, (_, rcpts) in zip(box.messages, box.envelopes, strict=True))
    assert got == expected
    assert {sender for sender, _ in box.envelopes} == {"panel@agency.example.eu"}
    first = box.messages[0]
    assert first["From"] == SENDER
    assert first["Content-Language"] == "en"
    assert first["Auto-Submitted"] == "auto-generated"
    assert first["Subject"].startswith(f"[{world.call_id}] New evaluation task: ")
    assert "2031-03-31" in first.get_content()
    assert len({m["Message-ID"] for m in box.messages}) == len(PAIRS)
    assert set(_outbox(world)["status"]) == {"sent"}
    actions = audit_frame(world.engine, SYSTEM, world.call_id)["action"].to_list()
    assert actions.count("queue_notification") == len(PAIRS)
    assert actions.count("send_notification") == len(PAIRS)


def test_a_message_is_written_in_the_experts_language(world: World,
                                                     inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    with world.engine.begin() as conn:
        conn.execute(experts.update().where(experts.c.expert_id == "E03")
                     .values(languages=["fr", "en"]))
        conn.execute(experts.update().where(experts.c.expert_id == "E04")
                     .values(languages=["mt", "de", "en"]))  # no Maltese template: German
    publish(world, PAIRS[:2])
    plan_notifications(world.engine, SYSTEM)
    send_due(world.engine, SYSTEM, smtp_config(port))
    by_to = {m["To"]: m for m in box.messages}
    french = by_to["Expert 3 <e3@example.org>"]
    german = by_to["Expert 4 <e4@example.org>"]
    assert french["Content-Language"] == "fr"
    assert french["Subject"] == f"[{world.call_id}] Nouvelle évaluation : P01"
    assert german["Content-Language"] == "de"
    assert german["Subject"] == f"[{world.call_id}] Neue Begutachtung: P01"


def test_reminders_before_and_notices_after_a_deadline(world: World) -> None:
    publish(world, PAIRS)
    set_deadline(world.engine, world.manager, world.call_id, "evaluation", dt.date(2031, 3, 31))
    task = int(task_deadlines(world.engine, world.manager, world.call_id)["task_id"][0])
    set_deadline(world.engine, world.manager, world.call_id, "evaluation", dt.date(2031, 3, 5),
                 task_id=task)
    due = task_deadlines(world.engine, world.manager, world.call_id)
    assert dict(due.select("task_id", "due_on").iter_rows())[task] == dt.date(2031, 3, 5)
    assert set(due.filter(pl.col("task_id") != task)["due_on"]) == {dt.date(2031, 3, 31)}

    plan_notifications(world.engine, SYSTEM, today=dt.date(2031, 3, 1), reminder_days=3)
    assert _outbox(world).filter(pl.col("kind") == "reminder").is_empty()  # 4 days left
    plan_notifications(world.engine, SYSTEM, today=dt.date(2031, 3, 3), reminder_days=3)
    reminders = _outbox(world).filter(pl.col("kind") == "reminder")
    assert reminders["dedupe_key"].to_list() == [f"reminder:{task}:2031-03-05"]
    plan_notifications(world.engine, SYSTEM, today=dt.date(2031, 3, 4), reminder_days=3)
    assert _outbox(world).filter(pl.col("kind") == "reminder").height == 1  # not again

    late = overdue_tasks(world.engine, world.manager, world.call_id, dt.date(2031, 3, 8))
    assert late.select("task_id", "days_overdue").rows() == [(task, 3)]
    plan_notifications(world.engine, SYSTEM, today=dt.date(2031, 3, 8))
    overdue = _outbox(world).filter(pl.col("kind") == "overdue")
    assert overdue["dedupe_key"].to_list() == [f"overdue:{task}:2031-03-05"]
    assert "3 days ago" in overdue_body(world, f"overdue:{task}:2031-03-05")

    # a moved deadline is a new date: one new reminder for it
    set_deadline(world.engine, world.manager, world.call_id, "evaluation", dt.date(2031, 3, 10),
                 task_id=task)
    plan_notifications(world.engine, SYSTEM, today=dt.date(2031, 3, 8))
    assert f"reminder:{task}:2031-03-10" in _outbox(world)["dedupe_key"].to_list()


def overdue_body(w: World, key: str) -> str:
    with w.engine.connect() as conn:
        return str(conn.execute(sa.select(notifications.c.body)
                                .where(notifications.c.dedupe_key == key)).scalar())


def test_only_managers_of_the_call_and_the_operator_see_the_outbox(world: World) -> None:
    publish(world, PAIRS)
    plan_notifications(world.engine, world.manager, call_id=world.call_id)
    assert _outbox(world).height == len(PAIRS)
    assert list_notifications(world.engine, world.manager, call_id=world.call_id).height == 4
    for actor in (world.outsider, world.experts["E03"], world.applicant):
        with pytest.raises(PermissionDenied):
            list_notifications(world.engine, actor, call_id=world.call_id)
        with pytest.raises(PermissionDenied):
            set_deadline(world.engine, actor, world.call_id, "evaluation", dt.date(2031, 1, 1))
    with pytest.raises(PermissionDenied):  # every call at once: the operator only
        plan_notifications(world.engine, world.manager)
    denied = audit_frame(world.engine, SYSTEM)["action"].to_list()
    assert denied.count("denied:read the notifications of") == 3


def test_a_refused_delivery_is_retried_later_then_given_up(world: World,
                                                          inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    box.on_data = lambda m: "451 4.3.0 try again later"
    publish(world, PAIRS[:1])
    plan_notifications(world.engine, SYSTEM)
    report = send_due(world.engine, SYSTEM, smtp_config(port, max_attempts=2))
    assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
    row = _outbox(world).row(0, named=True)
    assert row["status"] == "pending" and row["attempts"] == 1 and "451" in row["last_error"]
    # not due again before its delay
    assert send_due(world.engine, SYSTEM, smtp_config(port, max_attempts=2)).retrying == 0
    _time_passes(world)
    assert send_due(world.engine, SYSTEM, smtp_config(port, max_attempts=2)).failed == 1
    assert _outbox(world)["status"].to_list() == ["failed"]
    assert box.messages == []


def _time_passes(w: World) -> None:
    with w.engine.begin() as conn:
        conn.execute(notifications.update().values(
            next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))


def test_an_unreachable_server_costs_one_attempt_and_keeps_the_rest(world: World) -> None:
    publish(world, PAIRS)
    plan_notifications(world.engine, SYSTEM)
    report = send_due(world.engine, SYSTEM, smtp_config(free_port()))
    assert (report.sent, report.retrying) == (0, 1)
    assert sorted(_outbox(world)["attempts"].to_list()) == [0, 0, 0, 1]


def _writesmtp_config(path: Path, port: int, extra: str = "") -> Path:
    path.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n'
        f'sender = "{SENDER}"\ntimeout = 10\n{extra}', encoding="utf-8")
    return path


def _notify(db_url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "EVALPANEL_DB": db_url}
    return subprocess.Popen(
        [sys.executable, "-m", "evalpanel", "notify", *args, "--db", db_url],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env)


def test_nothing_is_sent_twice_when_the_sender_is_killed_mid_send(
        world: World, inbox: tuple[Inbox, int], db_url: str, tmp_path: Path) -> None:
    box, port = inbox
    publish(world, PAIRS)
    config = _writesmtp_config(tmp_path / "evalpanel.toml", port)
    victim: dict[str, subprocess.Popen[str]] = {}

    def kill_the_sender(message: EmailMessage) -> str | None:
        if "proc" in victim and not box.messages:  # the first message: accepted, then a crash
            os.kill(victim["proc"].pid, signal.SIGKILL)
        return None

    box.on_data = kill_the_sender
    victim["proc"] = _notify(db_url, "run", "--config", str(config))
    victim["proc"].communicate(timeout=120)
    assert victim["proc"].returncode == -signal.SIGKILL
    assert len(box.messages) == 1
    del victim["proc"]

    again = _notify(db_url, "run", "--config", str(config))
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "sent 3," in out
    ids = [m["Message-ID"] for m in box.messages]
    assert len(ids) == len(PAIRS) == len(set(ids))  # each exactly once
    outbox = _outbox(world)
    assert sorted(outbox["status"].to_list()) == ["sending", "sent", "sent", "sent"]
    listing = _notify(db_url, "list", "--status", "sending")
    out, _ = listing.communicate(timeout=120)
    assert listing.returncode == 0 and "in doubt" in out


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    crypto = pytest.importorskip("cryptography")
    del crypto
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_starttls_with_the_configured_ca(world: World, tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Inbox()
    port = free_port()
    controller = aiosmtpd_controller.Controller(
        box, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True)
    controller.start()
    try:
        publish(world, PAIRS[:1])
        plan_notifications(world.engine, SYSTEM)
        # without trusting the CA, the TLS handshake fails: not sent, retried later
        untrusted = NotifyConfig(SmtpConfig("127.0.0.1", SENDER, port=port, timeout=10))
        assert send_due(world.engine, SYSTEM, untrusted).retrying == 1
        assert box.messages == []
        _time_passes(world)
        trusted = NotifyConfig(SmtpConfig("127.0.0.1", SENDER, port=port, timeout=10,
                                          cafile=str(cert)))
        assert send_due(world.engine, SYSTEM, trusted).sent == 1
        assert len(box.messages) == 1
    finally:
        controller.stop()


def test_configuration_problems_are_located(tmp_path: Path) -> None:
    path = tmp_path / "evalpanel.toml"
    path.write_text('[smtp]\nhost = "mail"\nportt = 25\npassword_env = "NO_SUCH_VAR_X"\n'
                    '[notify]\nreminder_days = -1\n[other]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [
        f"{path}: smtp.portt: unknown key; known keys are host, port, starttls, username, "
        "password_env, sender, cafile, timeout",
        f"{path}: other: unknown table; known tables are [smtp] and [notify]",
        f"{path}: notify.reminder_days: must be a whole number of at least 0; got -1",
        f"{path}: smtp.sender: missing: give a text",
        f"{path}: smtp.password_env: the environment variable NO_SUCH_VAR_X is not set",
    ]
    assert load_config(tmp_path / "absent.toml") == NotifyConfig()


def test_the_cli_reports_a_bad_configuration_with_status_2(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[smtp]\nport = 'x'\n", encoding="utf-8")
    proc = _notify(db_url, "run", "--config", str(path))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "smtp.port: must be a whole number" in err and "Traceback" not in err
