"""A hostile call in a real browser: every text that comes from outside (call, lot and proposal
titles, abstracts, organisation and expert names, ids, comments, decline reasons, conflict notes,
rehearsal titles and descriptions) is full of Markdown images and links, bare addresses, raw
HTML, ``<script>``, LaTeX, Streamlit colour, emoji and icon shortcodes, a bidi override and a
5,000-character word. The manager, an expert and an applicant open every page that shows them.

On every page: no request leaves for a host other than the dashboard's (``request`` events of
the browser context), no element is made from the content (no element whose whole text is one of
the markers below, no katex, no ``src``/``href`` to another host), and the texts show as typed
(the page's text and its form fields hold them, apart from invisible isolation marks).
Screenshots of every page go to ``tests/artifacts/hostile-*.png`` (git-ignored).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polars as pl
import pytest

from dashboard.text import shown_as
from tests.browser_support import (
    ARTIFACTS,
    dashboard_server,
    needs_chromium,
    settle,
    sign_in_as,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]

# Each construct wraps one marker: rendered as markup, an element would hold exactly it.
MARKERS = ["MKIMG", "MKLINK", "MKSTRONG", "MKEM", "MKCODE", "MKDEL", "MKTEX", "MKRED", "MKHTML",
           "MKSCRIPT", "MKHEAD", "MKITEM", "MKQUOTE"]
MARKUP = (
    "![MKIMG](http://pixel.example.com/i.png) [MKLINK](http://link.example.com/) "
    "<img src=http://pixel.example.com/h.png> www.MKWWW.example.com "
    "http://MKAUTO.example.com/x MKMAIL@example.com **MKSTRONG** _MKEM_ `MKCODE` ~~MKDEL~~ "
    "$MKTEX^2$ :red[MKRED] :smile: :material/home: <b>MKHTML</b> <script>MKSCRIPT</script> "
    "&amp; \u202eMKBIDI reversed"
)
LONG_WORD = "LONG" + "w" * 4992 + "WORD"  # 5,000 characters, no space
BLOCK = f"\n# MKHEAD\n- MKITEM\n> MKQUOTE\n{LONG_WORD}\nend"


def hostile(tag: str, *, block: bool = False) -> str:
    """A hostile text, told apart from the others by ``tag``."""
    return f"{tag} {MARKUP}" + (BLOCK if block else "")


CALL_ID = "HC-2026"
P1, P2, P3 = "H*1*", "H_2_", "H:smile:3"  # ids with markup too
X1, X2, X3 = "X1", "X2", "X3"
TEXT = {
    "call": hostile("CALLTITLE"),
    "lot": hostile("LOTTITLE"),
    **{f"title{i}": hostile(f"TITLE{i}") for i in (1, 2, 3)},
    **{f"abstract{i}": hostile(f"ABSTRACT{i}", block=True) for i in (1, 2, 3)},
    "org": hostile("ORGNAME"),
    "name": hostile("EXPERTNAME"),
    "comment": hostile("COMMENT"),
    "internal": hostile("INTERNAL"),
    "consensus": hostile("CONSENSUS"),
    "reason": hostile("DECLINE"),
    "note": hostile("NOTE"),
    "rtitle": hostile("RTITLE"),
    "rdesc": hostile("RDESC", block=True),
    "rcomment": hostile("RCOMMENT"),
}
PASSWORD = "hostile-pass"
USERS = {"manager": "mgr*boss*", "expert": "expert_:smile:", "applicant": "appl<b>i</b>"}


def csv_text(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_call(folder: Path) -> Path:
    folder.mkdir(parents=True)
    toml_title = TEXT["call"].replace("\\", "\\\\").replace('"', '\\"')
    lot_title = TEXT["lot"].replace("\\", "\\\\").replace('"', '\\"')
    (folder / "call.toml").write_text(
        f'[call]\nid = "{CALL_ID}"\ntitle = "{toml_title}"\nscheme = "erasmus-afi"\n'
        'experts_per_proposal = 2\ndeadline = "2026-02-26"\n\n'
        f'[lots.L1]\ntitle = "{lot_title}"\nbudget_eur = 3000000\n', encoding="utf-8")
    proposals = [[p, "L1", TEXT[f"title{i}"], TEXT[f"abstract{i}"], "en", "0714", "Digital",
                  "skills", 900_000 + i] for i, p in enumerate((P1, P2, P3), start=1)]
    (folder / "proposals.csv").write_text(csv_text(
        ["proposal_id", "lot", "title", "abstract", "language", "fields", "ecosystems",
         "keywords", "requested_eur"], proposals), encoding="utf-8")
    partners = [[p, f"90000000{i}", TEXT["org"], "BE", "coordinator"]
                for i, p in enumerate((P1, P2, P3), start=1)]
    (folder / "partners.csv").write_text(csv_text(
        ["proposal_id", "org_id", "org_name", "country", "role"], partners), encoding="utf-8")
    experts = [[x, TEXT["name"], f"{x.lower()}@example.org", "", "Independent", "FR", "FR", "",
                "en", "0714", "Digital", "skills", TEXT["name"], 3, 0] for x in (X1, X2, X3)]
    (folder / "experts.csv").write_text(csv_text(
        ["expert_id", "name", "email", "org_id", "org_name", "country", "nationality", "gender",
         "languages", "fields", "ecosystems", "keywords", "profile", "max_load", "min_load"],
        experts), encoding="utf-8")
    return folder


@dataclass(frozen=True)
class Hostile:
    url: str
    rehearsal_id: int


def scores(comment: str, values: tuple[float, ...] = (20, 24, 18, 15)) -> pl.DataFrame:
    return pl.DataFrame({"criterion": ["relevance", "quality", "partnership", "impact"],
                         "score": [float(v) for v in values], "comment": [comment] * 4})


def build(folder: Path) -> Hostile:
    """Import the hostile call and bring it to where every page has something to show: H*1*
    evaluated by X1 and X2 and in consolidation (X1 drafting), H_2_ waiting for X1, H:smile:3
    declined by X2 with a reason, a declared conflict with a note, and a submitted rehearsal."""
    from evalpanel.callfolder import read_call
    from evalpanel.store import (
        SYSTEM,
        Actor,
        accept_task,
        add_task,
        create_rehearsal,
        create_user,
        declare_conflict,
        decline_task,
        get_consolidation,
        get_evaluation,
        grant_call,
        import_call,
        link_expert,
        make_engine,
        save_consensus,
        save_draft,
        save_rehearsal_scores,
        start_consolidation,
        submit_evaluation,
    )

    url = f"sqlite:///{folder / 'hostile.sqlite'}"
    engine = make_engine(url)
    import_call(engine, read_call(write_call(folder / "call")))
    manager = Actor(create_user(engine, SYSTEM, USERS["manager"], "manager", password=PASSWORD),
                    "manager")
    grant_call(engine, SYSTEM, CALL_ID, manager.user_id or 0)
    experts = {}
    for x, name in ((X1, USERS["expert"]), (X2, "expert-two"), (X3, "expert-three")):
        uid = create_user(engine, SYSTEM, name, "expert", password=PASSWORD)
        link_expert(engine, SYSTEM, uid, CALL_ID, x)
        experts[x] = Actor(uid, "expert")
    for x in (X1, X2):
        task = add_task(engine, manager, CALL_ID, P1, x, origin="batch")
        accept_task(engine, experts[x], task)
        version = save_draft(engine, experts[x], task, scores(TEXT["comment"]),
                             expected_version=get_evaluation(engine, experts[x], task).version,
                             internal_comment=TEXT["internal"])
        submit_evaluation(engine, experts[x], task, expected_version=version)
    cons = start_consolidation(engine, manager, CALL_ID, P1, X1)
    save_consensus(engine, experts[X1], cons, scores(TEXT["consensus"]), TEXT["consensus"],
                   expected_version=get_consolidation(engine, experts[X1], CALL_ID, P1).version)
    add_task(engine, manager, CALL_ID, P2, X1, origin="batch")
    declined = add_task(engine, manager, CALL_ID, P3, X2, origin="batch")
    decline_task(engine, experts[X2], declined, TEXT["reason"])
    declare_conflict(engine, manager, CALL_ID, X3, kind="declared", note=TEXT["note"],
                     proposal_id=P2)
    applicant = Actor(create_user(engine, SYSTEM, USERS["applicant"], "applicant",
                                  password=PASSWORD), "applicant")
    rid = create_rehearsal(engine, applicant, "erasmus-afi", TEXT["rtitle"], TEXT["rdesc"],
                           [applicant.user_id or 0])
    save_rehearsal_scores(engine, applicant, rid, scores(TEXT["rcomment"], (20, 20, 15, 12)),
                          submit=True)
    engine.dispose()
    return Hostile(url, rid)


@pytest.fixture(scope="module")
def hostile_call(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    return build(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def server(hostile_call: Hostile) -> Iterator[str]:
    log = Path(hostile_call.url.removeprefix("sqlite:///")).with_suffix(".log")
    with dashboard_server(hostile_call.url, log) as base:
        yield base


FIND_MARKUP = """(markers) => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    const text = (el.textContent || '').trim();
    if (markers.includes(text)) found.push(`<${el.tagName}> made of ${text}`);
    for (const attr of ['src', 'href', 'srcset', 'data', 'poster', 'action', 'formaction']) {
      const value = el.getAttribute(attr);
      if (value && /example\\.com/i.test(value)) found.push(`<${el.tagName} ${attr}=${value}>`);
    }
    if (el.tagName === 'SCRIPT' && /MK/.test(el.textContent || '')) found.push('<SCRIPT> MK');
    if (typeof el.className === 'string' && /katex/i.test(el.className)) found.push('katex');
  }
  return found;
}"""

SHOWN_TEXT = """() => [document.body.innerText,
  ...[...document.querySelectorAll('input, textarea')].map(e => e.value)].join('\\n')"""


def flat(text: str) -> str:
    """``text`` as compared: without the invisible marks of dashboard.text, spaces collapsed."""
    return " ".join(shown_as(text).split())


@dataclass
class Visit:
    """One role's browser context, every request it made, and what each page was checked for."""

    page: Any
    base: str
    requests: list[str]
    role: str

    def check(self, name: str, expected: list[str]) -> None:
        settle(self.page)
        shown = flat(self.page.evaluate(SHOWN_TEXT))
        for _ in range(50):  # a form's saved values can arrive in a rerun after the marker
            if all(flat(text) in shown for text in expected):
                break
            self.page.wait_for_timeout(200)
            shown = flat(self.page.evaluate(SHOWN_TEXT))
        self.page.screenshot(path=str(ARTIFACTS / f"hostile-{self.role}-{name}.png"),
                             full_page=True)
        markup = self.page.evaluate(FIND_MARKUP, MARKERS)
        assert not markup, f"{self.role} / {name}: markup made from the content: {markup}"
        for text in expected:
            assert flat(text) in shown, f"{self.role} / {name}: not shown as typed: {text[:60]}…"
        home = urlsplit(self.base).netloc
        away = [u for u in self.requests if urlsplit(u).netloc != home]
        assert not away, f"{self.role} / {name}: requests to other hosts: {away}"

    def open(self, link: str, marker: str, expected: list[str]) -> None:
        self.page.get_by_role("link", name=link).first.click()
        self.page.get_by_text(marker, exact=False).first.wait_for(timeout=60_000)
        self.check(link.replace(" ", "_"), expected)


def sign_in(browser: Any, base: str, role: str) -> Visit:
    context = browser.new_context(viewport={"width": 1400, "height": 2600})
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = sign_in_as(context.new_page(), base, USERS[role], PASSWORD)
    return Visit(page, base, requests, role)


def test_a_hostile_call_shows_as_text_for_every_role(browser: Any, server: str) -> None:
    manager = sign_in(browser, server, "manager")
    manager.check("sidebar", [USERS["manager"], TEXT["call"]])
    manager.open("Overview", "Call overview", [TEXT["call"], CALL_ID])
    manager.open("Import", "Import a call", [])
    # the first declared conflict is selected: the decline of H:smile:3, with its reason
    manager.open("Conflicts", "Declare a conflict", [TEXT["reason"], X2, P3])
    manager.open("Assignment", "Run the assignment", [])
    manager.open("Follow-up", "Tasks by state", [P3, X2, TEXT["reason"]])
    manager.open("Consolidation", "Drafting", [])
    manager.open("Ranking", "Funding line", [TEXT["lot"]])
    manager.open("Reliability", "Expert leniency", [])
    manager.open("Exports and audit", "Audit log", [])
    manager.page.context.close()

    expert = sign_in(browser, server, "expert")
    expert.check("sidebar", [USERS["expert"], TEXT["call"]])
    expert.open("My queue", "Confirm or decline", [P2, TEXT["title2"]])
    expert.open("Scoring form", "Comment for the applicant", [P1, TEXT["comment"],
                                                              TEXT["internal"]])
    expander = expert.page.locator('[data-testid="stExpander"] summary').first
    expander.click()
    expert.page.get_by_text("LONGwww", exact=False).first.wait_for(timeout=30_000)
    expert.check("Scoring_form-proposal", [TEXT["title1"], TEXT["abstract1"]])
    expert.open("Consolidation", "Overall comment", [P1, X1, TEXT["consensus"]])
    expert.page.context.close()

    applicant = sign_in(browser, server, "applicant")
    applicant.check("sidebar", [USERS["applicant"]])
    applicant.open("Rehearsals", "New rehearsal", [])
    applicant.open("Score a rehearsal", "Your total", [TEXT["rtitle"], TEXT["rdesc"],
                                                      TEXT["rcomment"]])
    applicant.open("Report", "Each criterion", [TEXT["rtitle"]])
    applicant.page.context.close()
