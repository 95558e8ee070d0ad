"""Fixtures of the dashboard tests: a small call in a SQLite file with local logins, and
AppTest helpers to sign in and open a page."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button, Element

from dashboard.text import shown_as
from evalpanel.store import SYSTEM, Actor, make_engine, set_password, start_session
from tests.store_fixtures import World, backend_url, build_world, publish

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PASSWORD = "s3cret-pass"


@dataclass(frozen=True)
class DashWorld:
    world: World
    url: str

    def username(self, expert_id: str) -> str:
        return f"user-{expert_id}"


@pytest.fixture(scope="session")
def _dash_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, World]:
    # Built once: password hashing is slow on purpose; each test gets a copy of the file.
    folder = tmp_path_factory.mktemp("dash")
    url = backend_url("sqlite", folder)
    engine = make_engine(url)
    w = build_world(engine)
    for actor in (w.manager, w.applicant, *w.experts.values()):
        set_password(engine, SYSTEM, actor.user_id or 0, PASSWORD)
    publish(w, [("P03", "E03"), ("P03", "E04"), ("P04", "E03"), ("P04", "E04")])
    engine.dispose()
    return folder / "store.sqlite", w


@pytest.fixture
def dash(
    _dash_template: tuple[Path, World], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DashWorld]:
    """The store fixtures' small call with passwords, and P03/P04 assigned to E03 and E04."""
    template, w = _dash_template
    target = tmp_path / "dash.sqlite"
    shutil.copyfile(template, target)
    url = f"sqlite:///{target}"
    engine = make_engine(url)
    monkeypatch.setenv("EVALPANEL_DB_URL", url)
    yield DashWorld(replace(w, engine=engine), url)
    engine.dispose()


def signed_in(username: str, password: str = PASSWORD) -> AppTest:
    """An AppTest of the app after signing in through the login form."""
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    at.button[0].click().run()
    return at


def as_user(actor: Actor, name: str) -> AppTest:
    """An AppTest already signed in as ``actor`` with a real server-side session (skips the
    password check, which is slow on purpose; the login tests go through the form)."""
    engine = make_engine(os.environ["EVALPANEL_DB_URL"], migrate=False)
    try:
        token = start_session(engine, actor, name, provider="local", client="test")
    finally:
        engine.dispose()
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["session_token"] = token
    return at.run()


def open_page(at: AppTest, page: str) -> AppTest:
    return at.switch_page(f"pages/{page}").run()


def texts(at: AppTest) -> str:
    """Every markdown, title, caption, info, success, warning and error text of the run, as a
    reader sees it: without the escapes and invisible marks of ``dashboard.text.md``."""
    parts = [
        e.value
        for kind in (
            "title",
            "markdown",
            "caption",
            "info",
            "success",
            "warning",
            "error",
            "subheader",
        )
        for e in getattr(at, kind)
    ]
    return shown_as(re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", "\n".join(str(p) for p in parts)))


def click(at: AppTest, label: str) -> AppTest:
    """Click the (first) button labelled ``label`` and run the app."""
    button = next((b for b in at.button if b.label == label), None)
    assert button is not None, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return button.click().run()


def confirm(at: AppTest, starts: str) -> AppTest:
    """Tick the confirmation checkbox whose label starts with ``starts`` and run the app."""
    box = next((c for c in at.checkbox if c.label.startswith(starts)), None)
    assert box is not None, f"no checkbox {starts!r}; checkboxes: {[c.label for c in at.checkbox]}"
    return box.check().run()


def button(at: AppTest, label: str) -> Button:
    """The (first) button labelled ``label``."""
    found = next((b for b in at.button if b.label == label), None)
    assert found is not None, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return found


def elements(at: AppTest, kind: str) -> list[Element]:
    """``at.get(kind)`` for a kind of element without its own accessor on AppTest (a download
    button, a bidi component): each one found is an element, never a block."""
    found: list[Element] = []
    for node in at.get(kind):
        assert isinstance(node, Element), f"{kind}: a {type(node).__name__}, not an element"
        found.append(node)
    return found
