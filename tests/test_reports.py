"""Evaluation Summary Reports from the store through the scoring engine, their HTML and PDF,
and the release of a lot's results to the proposal's applicant contact only."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import pytest

from evalpanel.reports import (
    build_esrs,
    esr_html,
    esr_pdf,
    esr_zip,
    my_reports,
    release_lot,
    report_index,
)
from evalpanel.schemes import band_label, load_scheme
from evalpanel.store import (
    SYSTEM,
    Actor,
    InvalidInput,
    InvalidState,
    NotFound,
    PermissionDenied,
    accept_task,
    approve_consensus,
    audit_frame,
    create_user,
    save_consensus,
    save_draft,
    start_consolidation,
    submit_consensus,
    submit_evaluation,
)
from evalpanel.store.releases import link_contact, read_released_report
from evalpanel.store.tables import proposals
from tests.store_fixtures import World, publish, scores, task_of

pypdf = pytest.importorskip("pypdf")

HOSTILE = 'Skills <script>alert(1)</script> ![x](http://tracker.example/p.png) $x$ #emph[y]'
FULL = {"relevance": 22, "quality": 24, "partnership": 18, "impact": 17}
LOW = {"relevance": 10, "quality": 24, "partnership": 18, "impact": 17}


def _consolidate(w: World, proposal: str, values: Mapping[str, float], comment: str) -> None:
    for expert in ("E03", "E04"):
        task = task_of(w, proposal, expert)
        actor = w.experts[expert]
        accept_task(w.engine, actor, task)
        version = save_draft(w.engine, actor, task, scores(values), expected_version=0)
        submit_evaluation(w.engine, actor, task, expected_version=version)
    cid = start_consolidation(w.engine, w.manager, w.call_id, proposal, "E03")
    v = save_consensus(w.engine, w.experts["E03"], cid, scores(values, comment), "agreed",
                       expected_version=0)
    submit_consensus(w.engine, w.experts["E03"], cid, expected_version=v)
    assert approve_consensus(w.engine, w.experts["E04"], cid, expected_version=v) == "final"


@pytest.fixture
def consolidated(world: World) -> World:
    with world.engine.begin() as conn:
        conn.execute(proposals.update().where(proposals.c.proposal_id == "P03")
                     .values(title=HOSTILE))
    publish(world, [("P03", "E03"), ("P03", "E04"), ("P04", "E03"), ("P04", "E04"),
                    ("P01", "E03"), ("P01", "E04")])
    _consolidate(world, "P03", FULL, "Strong needs analysis — Zespół Szkół nr 1, Ελληνικά.")
    _consolidate(world, "P01", LOW, "The link to EU policies is weak.")
    return world


def test_a_report_per_consolidated_proposal_with_the_engines_numbers(consolidated: World) -> None:
    w = consolidated
    reports = {r.proposal_id: r for r in build_esrs(w.engine, w.manager, w.call_id)}
    assert set(reports) == {"P01", "P03"}  # P04 has no consolidation: no report
    good, bad = reports["P03"], reports["P01"]
    scheme = load_scheme("erasmus-afi")
    assert [(c.id, c.score, c.band) for c in good.criteria] == [
        (c.id, float(FULL[c.id]), band_label(scheme, FULL[c.id], c.max)) for c in scheme.criteria]
    assert good.total == sum(FULL.values()) and good.passed
    assert good.coordinator == "Org 3-0 (EL)"
    assert good.decision in ("funded", "reserve") and good.rank == 1
    assert bad.passed is False and bad.decision == "rejected"
    assert any(f.startswith("relevance 10") for f in bad.failures)
    assert bad.decision_reason.startswith("Not funded: relevance 10")
    assert all(c.comment == "The link to EU policies is weak." for c in bad.criteria)


def test_the_html_escapes_every_outside_text(consolidated: World) -> None:
    w = consolidated
    esr = build_esrs(w.engine, w.manager, w.call_id, ["P03"])[0]
    page = esr_html(esr)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page and "http://tracker.example" in page  # as text only
    assert "Zespół Szkół nr 1, Ελληνικά." in page
    assert "Content-Security-Policy" in page


def test_the_pdf_is_deterministic_and_says_what_the_report_says(consolidated: World) -> None:
    w = consolidated
    esr = build_esrs(w.engine, w.manager, w.call_id, ["P03"])[0]
    first, again = esr_pdf(esr), esr_pdf(build_esrs(w.engine, w.manager, w.call_id, ["P03"])[0])
    assert first == again
    reader = pypdf.PdfReader(io.BytesIO(first))
    text = " ".join(page.extract_text() for page in reader.pages)
    for expected in ("Evaluation Summary Report", "P03", "22 / 25 points", "Very good",
                     "81 / 100 points", "Zespół Szkół nr 1", "Ελληνικά", "<script>", "$x$",
                     "#emph[y]"):
        assert expected in text, expected
    assert reader.metadata["/CreationDate"] == reader.metadata["/ModDate"]
    french = pypdf.PdfReader(io.BytesIO(esr_pdf(esr, "fr"))).pages[0].extract_text()
    assert "Rapport de synthèse d'évaluation" in french


def test_a_lot_in_one_zip(consolidated: World) -> None:
    w = consolidated
    lot = build_esrs(w.engine, w.manager, w.call_id, ["P03"])[0].lot_id
    reports = build_esrs(w.engine, w.manager, w.call_id, lot_id=lot)
    archive = zipfile.ZipFile(io.BytesIO(esr_zip(reports)))
    names = sorted(archive.namelist())
    assert names == sorted(f"{r.proposal_id}.{ext}" for r in reports for ext in ("pdf", "html"))
    assert esr_zip(reports) == esr_zip(list(reversed(reports)))


def test_the_index_lists_the_reports_without_building_them(consolidated: World) -> None:
    from evalpanel.store import call_folder
    from evalpanel.workflow import rank_call

    w = consolidated
    before = audit_frame(w.engine, w.manager, w.call_id).height
    index = report_index(w.engine, w.manager, w.call_id)
    audit = audit_frame(w.engine, w.manager, w.call_id)
    assert "build_reports" not in audit["action"].to_list()[before:]  # nothing was built
    reports = build_esrs(w.engine, w.manager, w.call_id)
    assert index["proposal_id"].to_list() == [r.proposal_id for r in reports] == ["P01", "P03"]
    assert index.select("lot", "title", "total", "rank", "decision", "decision_reason").rows() \
        == [(r.lot_id, r.proposal_title, r.total, r.rank, r.decision, r.engine_reason)
            for r in reports]
    # with the call and its ranking read by the caller, the same index and the same reports
    call = call_folder(w.engine, w.manager, w.call_id)
    ranked = rank_call(w.engine, w.manager, w.call_id, call=call).proposals
    assert report_index(w.engine, w.manager, w.call_id, call=call, ranked=ranked).equals(index)
    assert build_esrs(w.engine, w.manager, w.call_id, ["P03"], call=call,
                      ranked=ranked) == [r for r in reports if r.proposal_id == "P03"]
    with pytest.raises(PermissionDenied):
        report_index(w.engine, w.experts["E03"], w.call_id)


def test_the_zip_and_the_release_report_their_progress(consolidated: World) -> None:
    w = consolidated
    lot = build_esrs(w.engine, w.manager, w.call_id, ["P03"])[0].lot_id
    reports = build_esrs(w.engine, w.manager, w.call_id, lot_id=lot)
    zipped: list[tuple[int, int]] = []
    assert esr_zip(reports, progress=lambda done, total: zipped.append((done, total))) \
        == esr_zip(reports)
    released: list[tuple[int, int]] = []
    n = release_lot(w.engine, w.manager, w.call_id, lot,
                    progress=lambda done, total: released.append((done, total)))
    expected = [(i, len(reports)) for i in range(1, len(reports) + 1)]
    assert n == len(reports) and zipped == expected and released == expected


def test_only_managers_build_reports(consolidated: World) -> None:
    w = consolidated
    for actor in (w.outsider, w.experts["E03"], w.applicant):
        with pytest.raises(PermissionDenied):
            build_esrs(w.engine, actor, w.call_id)


def test_after_release_the_contact_reads_only_their_own_report(consolidated: World) -> None:
    w = consolidated
    other = Actor(create_user(w.engine, SYSTEM, "other-applicant", "applicant"), "applicant")
    assert link_contact(w.engine, w.manager, w.applicant.user_id or 0, w.call_id, "P03")
    assert not link_contact(w.engine, w.manager, w.applicant.user_id or 0, w.call_id, "P03")
    with pytest.raises(InvalidInput, match="only an applicant account"):
        link_contact(w.engine, w.manager, w.experts["E03"].user_id or 0, w.call_id, "P03")
    # before the release nobody reads any report
    with pytest.raises(NotFound, match="not released"):
        read_released_report(w.engine, w.applicant, w.call_id, "P03")
    assert my_reports(w.engine, w.applicant).is_empty()

    lot = build_esrs(w.engine, w.manager, w.call_id, ["P03"])[0].lot_id
    with pytest.raises(PermissionDenied):
        release_lot(w.engine, w.experts["E03"], w.call_id, lot)
    assert release_lot(w.engine, w.manager, w.call_id, lot) >= 1
    with pytest.raises(InvalidState, match="already released"):
        release_lot(w.engine, w.manager, w.call_id, lot)

    mine = my_reports(w.engine, w.applicant)
    assert mine["proposal_id"].to_list() == ["P03"]
    pdf = read_released_report(w.engine, w.applicant, w.call_id, "P03")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    html = read_released_report(w.engine, w.applicant, w.call_id, "P03", "html")
    assert isinstance(html, str) and "Evaluation Summary Report" in html
    for actor, proposal in ((w.applicant, "P01"), (other, "P03"), (w.experts["E03"], "P03"),
                            (w.outsider, "P03")):
        with pytest.raises(PermissionDenied):
            read_released_report(w.engine, actor, w.call_id, proposal)
    assert my_reports(w.engine, other).is_empty()
    audit = audit_frame(w.engine, SYSTEM, w.call_id)
    assert audit.filter(pl.col("action") == "read_report").height == 2
    assert audit.filter(pl.col("action") == "release_results").height == 1
    assert audit.filter(pl.col("action") == "denied:read the report of").height == 4


def test_the_decision_and_the_thresholds_missed_speak_the_reports_language(
        consolidated: World) -> None:
    w = consolidated
    reports = {r.proposal_id: r for r in build_esrs(w.engine, w.manager, w.call_id)}
    good, bad = reports["P03"], reports["P01"]
    label = next(c.label for c in bad.criteria if c.id == "relevance")
    expected = {
        "en": ("Not funded: relevance 10", "relevance 10"),
        "fr": (f"Non financée : {label} 10 sous le minimum de", f"{label} 10 sous le minimum"),
        "de": (f"Nicht gefördert: {label} 10 unter dem Minimum von",
               f"{label} 10 unter dem Minimum"),
    }
    for language, (decision, missed) in expected.items():
        page = esr_html(bad, language)
        assert f"<td>{decision}" in page, language
        assert missed in page
        text = "".join(p.extract_text() for p in pypdf.PdfReader(
            io.BytesIO(esr_pdf(bad, language))).pages)
        assert " ".join(decision.split()) in " ".join(text.split()), language
    funded = {"fr": "Financée : rang 1", "de": "Gefördert: Rang 1"} if good.decision == "funded" \
        else {"fr": "Liste de réserve, position", "de": "Reserveliste, Position"}
    for language, start in funded.items():
        assert f"<td>{start}" in esr_html(good, language)
    assert "Not funded" not in esr_html(bad, "fr") and "Funded" not in esr_html(good, "de")
    weak = next(c for c in bad.criteria if c.id == "relevance")
    assert weak.band == "Weak"
    assert "· Faible ·" in esr_html(bad, "fr") and "· Schwach ·" in esr_html(bad, "de")
    assert "· Weak ·" in esr_html(bad, "en")


def _english_words(scheme_id: str = "erasmus-afi") -> set[str]:
    """Every fixed English text a report may carry: its labels, the scheme's criterion names
    and bands, and the opening words of each decision sentence."""
    from evalpanel.reports.words import DECISIONS, LABELS

    scheme = load_scheme(scheme_id)
    words = set(LABELS["en"].values()) | {c.label for c in scheme.criteria}
    words |= {b.label for b in scheme.bands}
    words |= {t.split(":")[0] for t in DECISIONS["en"].values() if ":" in t}
    return words


def _shown(text: str) -> str:
    return " ".join(text.split())


def test_a_french_and_a_german_report_carry_no_english_label(consolidated: World) -> None:
    import re

    from evalpanel.reports.words import DECISIONS, LABELS
    from evalpanel.workflow import rank_call
    from scoring import parse_reason

    w = consolidated
    with w.engine.begin() as conn:  # the applications are written in French and in German
        conn.execute(proposals.update().where(proposals.c.proposal_id == "P03")
                     .values(language="fr"))
        conn.execute(proposals.update().where(proposals.c.proposal_id == "P01")
                     .values(language="de"))
    reports = {r.proposal_id: r for r in build_esrs(w.engine, w.manager, w.call_id)}
    engine = dict(rank_call(w.engine, w.manager, w.call_id).proposals.select(
        "proposal_id", "decision_reason").iter_rows())
    scheme = load_scheme("erasmus-afi")
    for pid, language in (("P03", "fr"), ("P01", "de")):
        esr = reports[pid]
        assert esr.language == language
        assert esr.engine_reason == engine[pid]  # the reason is the engine's, as it gave it
        assert [c.label for c in esr.criteria] == [c.label_in(language) for c in scheme.criteria]
        own = set(LABELS[language].values()) | set(DECISIONS[language].values()) | {
            c.label_in(language) for c in scheme.criteria}
        english = {t for t in _english_words() if t not in own and len(t) > 2}
        outside = {esr.proposal_title, esr.call_title, esr.coordinator, esr.lot_title,
                   *(c.comment for c in esr.criteria)}
        html = esr_html(esr)
        assert f'<html lang="{language}">' in html
        pdf = _shown(" ".join(p.extract_text() for p in pypdf.PdfReader(
            io.BytesIO(esr_pdf(esr))).pages))
        for text in (html, pdf):
            for value in outside:
                text = text.replace(value, "").replace(_shown(value), "")
            found = [t for t in english if re.search(rf"(?<!\w){re.escape(t)}(?!\w)", text)]
            assert not found, (pid, language, found)
        # the engine's reason, said in the report's language with the engine's own fields
        key, fields = parse_reason(engine[pid]) or ("", {})
        assert key
        for value in fields.values():
            if key != "rejected":
                assert value in esr.decision_reason, (value, esr.decision_reason)
    german = reports["P01"]
    assert german.decision_reason == ("Nicht gefördert: Relevanz des Projekts 10 unter dem "
                                      "Minimum von 13; Gesamt 69 unter dem Minimum von 70.")
    assert "Relevanz des Projekts" in esr_html(german) and "· Schwach ·" in esr_html(german)
    french = reports["P03"]
    assert "Pertinence du projet" in esr_html(french)
    assert french.decision_reason.startswith(("Financée : rang 1", "Liste de réserve"))
    # asked for explicitly, a report is in that language whatever the proposal's
    asked = build_esrs(w.engine, w.manager, w.call_id, ["P03"], language="en")[0]
    assert asked.language == "en" and asked.criteria[0].label == "Relevance of the project"
    assert asked.engine_reason == engine["P03"]


def test_the_reports_reason_is_the_engines_in_every_language(consolidated: World) -> None:
    from evalpanel.reports.render import decision_text
    from evalpanel.workflow import rank_call
    from scoring import parse_reason

    w = consolidated
    ranked = rank_call(w.engine, w.manager, w.call_id).proposals
    engine = dict(ranked.select("proposal_id", "decision_reason").iter_rows())
    for esr in build_esrs(w.engine, w.manager, w.call_id):
        assert esr.engine_reason == engine[esr.proposal_id]
        parsed = parse_reason(esr.engine_reason)
        assert parsed is not None
        key, fields = parsed
        said = {language: decision_text(esr, language) for language in ("en", "fr", "de")}
        assert said["en"] == esr.decision_reason  # built in English (the proposals' language)
        assert len(set(said.values())) == 3
        if key != "rejected":  # every field of the engine's reason is in every language
            for value in fields.values():
                assert all(value in text for text in said.values()), (value, said)
        else:  # each threshold the engine found missed, named in each language
            assert esr.failures
            for failure in esr.failures:
                criterion, score, minimum = failure.split(" ")[0], *failure.split(" ")[1::2]
                assert f"{criterion} {score} below {minimum}" in said["en"]
                if criterion == "total":
                    assert "total" in said["fr"] and "Gesamt" in said["de"]
                    continue
                # named as the report names its criteria (in the language it was built in)
                label = next(c.label for c in esr.criteria if c.id == criterion)
                assert f"{label} {score} sous le minimum de {minimum}" in said["fr"]
                assert f"{label} {score} unter dem Minimum von {minimum}" in said["de"]


def test_the_cli_writes_each_report_in_its_proposals_language_or_the_one_asked(
        consolidated: World, db_url: str, tmp_path: Path) -> None:
    w = consolidated
    with w.engine.begin() as conn:
        conn.execute(proposals.update().where(proposals.c.proposal_id == "P01")
                     .values(language="de"))

    def run(*args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "evalpanel", "report", "esr", w.call_id,
                               *args, "--db", db_url], capture_output=True, text=True,
                              check=False, timeout=120)
        assert done.returncode == 0, done.stderr

    run("--all", "-o", str(tmp_path / "all.zip"))
    archive = zipfile.ZipFile(tmp_path / "all.zip")
    german = archive.read("P01.html").decode()
    assert '<html lang="de">' in german and "Relevanz des Projekts" in german
    assert "Relevance of the project" not in german
    assert '<html lang="en">' in archive.read("P03.html").decode()
    run("--proposal", "P01", "--language", "fr", "-o", str(tmp_path / "p01.html"))
    french = (tmp_path / "p01.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in french and "Pertinence du projet" in french
    assert "Non financée : Pertinence du projet 10 sous le minimum de 13" in french


@pytest.mark.slow
def test_every_consolidated_proposal_of_the_demo_call_gets_a_deterministic_report(
        tmp_path: Path) -> None:
    from evalpanel.demo import run_demo
    from evalpanel.store import make_engine

    summary = run_demo(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    engine = make_engine(summary.url)
    manager = Actor(summary.accounts["manager"], "manager")
    reports = build_esrs(engine, manager, summary.call_id)
    assert len(reports) == summary.consolidated > 0
    languages = {r.language for r in reports}
    assert "en" in languages and languages <= {"en", "fr", "de"}
    first = esr_zip(reports)
    again = esr_zip(build_esrs(engine, manager, summary.call_id))
    assert first == again  # the same data gives the same bytes
    archive = zipfile.ZipFile(io.BytesIO(first))
    assert len(archive.namelist()) == 2 * len(reports)
    ranked = dict(summary.result.proposals.select("proposal_id", "decision").iter_rows())
    for esr in reports:
        assert esr.engine_reason and esr.decision == ranked[esr.proposal_id]
        assert esr.decision_reason  # said in the report's language
    engine.dispose()
