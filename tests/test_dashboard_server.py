"""`evalpanel dashboard` as a service starts it: no terminal (stdin from /dev/null), a fresh
home directory without Streamlit's credentials file, no --headless flag. It must serve HTTP,
listen on 127.0.0.1 only by default, and never print the database password."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.browser_support import ARTIFACTS, ROOT, chromium, free_port, needs_chromium, settle
from tests.store_fixtures import PG_ENV, worker_schema_url

pytestmark = pytest.mark.slow


@contextmanager
def unattended(db_url: str, home: Path, *args: str) -> Iterator[tuple[str, Path]]:
    """Start ``evalpanel dashboard --db URL --port P [args]`` the way a service manager does and
    yield its base URL and output file once it answers; stop it afterwards."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(home / ".config"))
    out = home / "server.log"
    base = f"http://127.0.0.1:{port}"
    with out.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "evalpanel.cli", "dashboard", "--db", db_url,
             "--port", str(port), *args],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            cwd=home, start_new_session=True)  # no controlling terminal either
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the dashboard did not serve:\n{out.read_text('utf-8')}")
                time.sleep(0.3)
            yield base, out
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def outside_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
        except OSError:
            return None
        address = str(s.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_serves_without_a_terminal_or_credentials(tmp_path: Path) -> None:
    home = tmp_path / "home"
    db = tmp_path / "panel.sqlite"
    with unattended(f"sqlite:///{db}", home) as (base, out):
        with urllib.request.urlopen(base, timeout=10) as r:
            assert r.status == 200 and b"<html" in r.read().lower()
        printed = out.read_text("utf-8")
        assert "listening on 127.0.0.1" in printed
        assert "Email" not in printed and "email" not in printed
        assert not (home / ".streamlit" / "credentials.toml").exists()
        outside = outside_address()
        if outside is not None:  # not listening on the machine's other interfaces
            with socket.socket() as s:
                s.settimeout(2)
                assert s.connect_ex((outside, int(base.rsplit(":", 1)[1]))) != 0
    assert db.stat().st_mode & 0o777 == 0o600


def test_the_database_password_is_never_printed(tmp_path: Path) -> None:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"needs a PostgreSQL URL with a password in {PG_ENV}")
    url = worker_schema_url(url)
    password = sa.make_url(url).password
    if not password:
        pytest.skip(f"{PG_ENV} has no password to hide")
    with unattended(url, tmp_path / "home", "--headless") as (base, out):
        with urllib.request.urlopen(base, timeout=10) as r:
            assert r.status == 200
        time.sleep(1)  # let the server write its start-up lines
        printed = out.read_text("utf-8")
    assert "evalpanel dashboard on postgresql+psycopg://" in printed and "***@" in printed
    assert f":{password}@" not in printed  # (the test database's user may share the word)


@pytest.mark.browser
@needs_chromium
def test_a_page_address_as_first_visit_gets_the_sign_in(tmp_path: Path) -> None:
    """A fresh server's first visit to a page's address goes through the sign-in: Streamlit's
    old multipage layout (a pages/ folder next to the main script) would run the page file on
    its own and list every page."""
    with unattended(f"sqlite:///{tmp_path / 'panel.sqlite'}", tmp_path / "home",
                    "--headless") as (base, _), chromium() as browser:
        page = browser.new_page()
        page.goto(f"{base}/manager_overview")
        page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
        settle(page)
        shown = page.evaluate("() => document.body.innerText")
        page.screenshot(path=str(ARTIFACTS / "first-visit-page-address.png"))
        assert "manager reliability" not in shown and "Call overview" not in shown
