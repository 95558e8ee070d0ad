"""Rehearsal colleagues join by a one-time link or an e-mail address, never by account, and an
applicant learns nothing about who has an account; drafts (PDF) checked like call documents and
read by the scorers only. On SQLite and PostgreSQL, e-mail through a real SMTP server on
loopback (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import json
import re

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.mailer import send_due
from evalpanel.store import (
    SYSTEM,
    Actor,
    InvalidInput,
    InvalidState,
    NotFound,
    PermissionDenied,
    audit_frame,
    authenticate,
    create_rehearsal,
    create_user,
    list_rehearsals,
    rehearsal_view,
    save_rehearsal_scores,
)
from evalpanel.store.notifications import list_notifications
from evalpanel.store.rehearsal_invites import (
    REHEARSAL_PARAM,
    invite_by_email,
    invite_by_link,
    join_as_new_scorer,
    join_rehearsal,
    peek_invitation,
    rehearsal_invitations_of,
)
from evalpanel.store.rehearsals import attach_draft, list_drafts, open_draft
from evalpanel.store.tables import notifications, rehearsal_invitations
from tests.smtp_support import Inbox, smtp_config
from tests.store_fixtures import World, scores

URL = "https://panel.example.org"


def _token(link: str) -> str:
    return link.split(f"?{REHEARSAL_PARAM}=", 1)[1]


@pytest.fixture
def rehearsal(world: World) -> tuple[World, int]:
    rid = create_rehearsal(world.engine, world.applicant, "erasmus-afi", "Green skills",
                           "Our draft", [])
    return world, rid


def test_a_link_lets_a_new_colleague_join_once(rehearsal: tuple[World, int]) -> None:
    w, rid = rehearsal
    link = invite_by_link(w.engine, w.applicant, rid, dashboard_url=URL)
    assert link.startswith(f"{URL}/?{REHEARSAL_PARAM}=")
    token = _token(link)
    shown = peek_invitation(w.engine, token)
    assert (shown.rehearsal_id, shown.title, shown.invited_by) == (rid, "Green skills",
                                                                    "applicant")
    with pytest.raises(InvalidInput, match="at least 10 characters"):
        join_as_new_scorer(w.engine, token, "Bea", "short")
    actor, username, joined = join_as_new_scorer(w.engine, token, "  Bea   Colleague ",
                                                 "a long passphrase")
    assert joined == rid and re.fullmatch(r"scorer-[0-9a-f]{8}", username)
    assert authenticate(w.engine, username, "a long passphrase").user_id == actor.user_id
    assert list_rehearsals(w.engine, actor)["owner"].to_list() == [False]
    save_rehearsal_scores(w.engine, actor, rid, scores({"relevance": 20}), submit=True)
    assert rehearsal_view(w.engine, actor, rid).submitted is True
    assert rehearsal_view(w.engine, w.applicant, rid).scorers == {actor.user_id: True}
    # the link works once; a made-up token is refused alike
    for bad in (token, "x" * 43):
        with pytest.raises(InvalidInput, match="not valid any more"):
            peek_invitation(w.engine, bad)
        with pytest.raises(InvalidInput, match="not valid any more"):
            join_as_new_scorer(w.engine, bad, "Eve", "a long passphrase")
    assert rehearsal_invitations_of(w.engine, w.applicant, rid)["state"].to_list() == ["used"]
    with w.engine.connect() as conn:
        assert token not in conn.execute(sa.select(rehearsal_invitations.c.token_hash)) \
            .scalars().all()
    actions = audit_frame(w.engine, SYSTEM)["action"].to_list()
    assert actions.count("join_rehearsal") == 1 and actions.count("invite_scorer") == 1
    assert actions.count("denied:join_rehearsal") == 2  # the used token, twice; not the unknown


def test_an_expired_link_and_a_signed_in_non_applicant_are_refused(
        rehearsal: tuple[World, int]) -> None:
    w, rid = rehearsal
    token = _token(invite_by_link(w.engine, w.applicant, rid, dashboard_url=URL))
    with pytest.raises(PermissionDenied, match="applicant account"):
        join_rehearsal(w.engine, w.experts["E03"], token)
    colleague = Actor(create_user(w.engine, SYSTEM, "colleague", "applicant"), "applicant")
    assert join_rehearsal(w.engine, colleague, token) == rid
    again = _token(invite_by_link(w.engine, w.applicant, rid, dashboard_url=URL))
    with pytest.raises(InvalidState, match="already score"):
        join_rehearsal(w.engine, colleague, again)
    with w.engine.begin() as conn:
        conn.execute(rehearsal_invitations.update().values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    with pytest.raises(InvalidInput, match="not valid any more"):
        join_as_new_scorer(w.engine, again, "Late", "a long passphrase")
    assert rehearsal_invitations_of(w.engine, w.applicant, rid)["state"].to_list() == [
        "used", "expired"]


def test_only_the_owner_invites_and_nobody_is_invited_by_account(
        rehearsal: tuple[World, int]) -> None:
    w, rid = rehearsal
    other = Actor(create_user(w.engine, SYSTEM, "stranger", "applicant"), "applicant")
    for actor in (other, w.manager, w.experts["E03"]):
        with pytest.raises(PermissionDenied):
            invite_by_link(w.engine, actor, rid, dashboard_url=URL)
        with pytest.raises(PermissionDenied):
            invite_by_email(w.engine, actor, rid, ["x@example.org"], dashboard_url=URL)
    with pytest.raises(InvalidInput, match="by invitation"):
        create_rehearsal(w.engine, w.applicant, "erasmus-afi", "T", "d",
                         [w.experts["E03"].user_id or 0])
    with pytest.raises(InvalidInput, match="is not an e-mail address"):
        invite_by_email(w.engine, w.applicant, rid, ["user-E03"], dashboard_url=URL)


def test_an_experts_address_reads_exactly_like_a_new_one(
        rehearsal: tuple[World, int], inbox: tuple[Inbox, int]) -> None:
    """E03's address belongs to an expert with an account; nobody has the other one."""
    w, rid = rehearsal
    box, port = inbox
    known, unknown = "e3@example.org", "nobody-yet@example.org"
    answers = [invite_by_email(w.engine, w.applicant, rid, [a], dashboard_url=URL)
               for a in (known, unknown)]
    assert answers == [[known], [unknown]]
    outbox = list_notifications(w.engine, SYSTEM).filter(
        pl.col("kind") == "rehearsal_invitation")
    assert outbox["recipient"].to_list() == [known, unknown]
    same = outbox.drop("notification_id", "recipient", "dedupe_key", "created_at",
                       "next_attempt_at")
    assert same.n_unique() == 1  # every other column is identical
    audit = audit_frame(w.engine, SYSTEM).filter(pl.col("action") == "invite_scorer")
    after = [json.loads(a) for a in audit["after"].to_list()]
    assert [a["email"] for a in after] == [known, unknown]
    assert {tuple(sorted(a)) for a in after} == {("by", "email", "expires_at")}
    assert send_due(w.engine, SYSTEM, smtp_config(port)).sent == 2
    (k, u) = sorted(box.messages, key=lambda m: m["To"] != known)
    assert k["Subject"] == u["Subject"] == \
        "applicant invites you to a mock evaluation: Green skills"
    strip = re.compile(rf"{REHEARSAL_PARAM}=[\w-]+")
    assert strip.sub("", k.get_content()) == strip.sub("", u.get_content())
    assert f"{URL}/?{REHEARSAL_PARAM}=" in k.get_content()
    with w.engine.connect() as conn:  # the sent links are not kept
        bodies = conn.execute(sa.select(notifications.c.body).where(
            notifications.c.kind == "rehearsal_invitation")).scalars().all()
    assert all(REHEARSAL_PARAM + "=" not in b for b in bodies)
    sent = strip.search(k.get_content())
    assert sent is not None
    token = sent.group(0).split("=", 1)[1]
    actor, _, joined = join_as_new_scorer(w.engine, token, "Expert three", "a long passphrase")
    assert joined == rid and actor.user_id != w.experts["E03"].user_id  # a new scorer account


def _pdf(pages: int) -> bytes:
    typst = pytest.importorskip("typst")
    body = "\n#pagebreak()\n".join(f"Draft page {i + 1}" for i in range(pages))
    data: bytes = typst.compile(body.encode(), ignore_system_fonts=True)
    return data


def test_the_draft_is_checked_and_read_by_the_scorers_only(rehearsal: tuple[World, int]) -> None:
    pytest.importorskip("pypdf")
    w, rid = rehearsal
    colleague = Actor(create_user(w.engine, SYSTEM, "colleague", "applicant"), "applicant")
    join_rehearsal(w.engine, colleague, _token(invite_by_link(w.engine, w.applicant, rid,
                                                              dashboard_url=URL)))
    draft = _pdf(2)
    assert attach_draft(w.engine, w.applicant, rid, "C:\\drafts\\part-b.pdf", draft) == 2
    with pytest.raises(InvalidInput, match=r"^fake\.pdf: is not a PDF: it starts with 'GIF89a"):
        attach_draft(w.engine, w.applicant, rid, "fake.pdf", b"GIF89a" + b"\0" * 64)
    with pytest.raises(InvalidInput, match=r"^notes\.docx: only PDF files"):
        attach_draft(w.engine, w.applicant, rid, "notes.docx", draft)
    with pytest.raises(InvalidInput, match="is not a readable PDF"):
        attach_draft(w.engine, w.applicant, rid, "broken.pdf", b"%PDF-1.7\n garbage")
    with pytest.raises(PermissionDenied):
        attach_draft(w.engine, colleague, rid, "mine.pdf", draft)
    listed = list_drafts(w.engine, colleague, rid)
    assert listed.select("name", "pages").rows() == [("part-b.pdf", 2)]
    assert open_draft(w.engine, colleague, rid, "part-b.pdf") == draft
    assert open_draft(w.engine, w.applicant, rid, "part-b.pdf") == draft
    stranger = Actor(create_user(w.engine, SYSTEM, "stranger", "applicant"), "applicant")
    for actor in (stranger, w.manager, w.experts["E03"]):
        with pytest.raises(PermissionDenied):
            open_draft(w.engine, actor, rid, "part-b.pdf")
        with pytest.raises(PermissionDenied):
            list_drafts(w.engine, actor, rid)
    with pytest.raises(NotFound):
        open_draft(w.engine, colleague, rid, "other.pdf")
    opened = audit_frame(w.engine, SYSTEM).filter(pl.col("action") == "open_draft")
    assert opened.height == 2
