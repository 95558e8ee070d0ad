"""``evalpanel dashboard``: start the Streamlit app on a database.

The database URL reaches the app through the ``EVALPANEL_DB_URL`` environment variable (the
embedded SQLite file of :func:`evalpanel.store.default_url` unless ``--db`` is given).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

DB_ENV = "EVALPANEL_DB_URL"


def app_path() -> Path:
    """The Streamlit entry script, ``dashboard/app.py`` next to the ``evalpanel`` package."""
    import dashboard

    return Path(dashboard.__file__).resolve().parent / "app.py"


def streamlit_command(port: int | None, *, headless: bool) -> list[str]:
    """The ``streamlit run`` command line for the app."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_path()),
           "--browser.gatherUsageStats", "false", "--server.headless", str(headless).lower(),
           "--client.toolbarMode", "viewer"]
    if port is not None:
        cmd += ["--server.port", str(port)]
    return cmd


@click.command()
@click.option("--db", "db_url", default=None, metavar="URL",
              help="SQLAlchemy URL or SQLite file of the database (default: the embedded one).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port to serve on (default: Streamlit's, 8501).")
@click.option("--headless/--browser", default=False,
              help="Do not open a browser window (for servers and tests).")
def dashboard(db_url: str | None, port: int | None, headless: bool) -> None:
    """Start the dashboard (Streamlit) on the embedded database unless --db is given."""
    from evalpanel.store import default_url, make_engine

    if db_url is None:
        url = default_url()
    elif "://" in db_url:
        url = db_url
    else:
        url = f"sqlite:///{Path(db_url).expanduser().resolve()}"
    # Fail here, with a clear message, rather than inside the app.
    try:
        make_engine(url).dispose()
    except Exception as exc:  # the driver's own errors vary by backend
        raise click.ClickException(f"cannot open the database {url}: {exc}") from None
    env = dict(os.environ)
    env[DB_ENV] = url
    root = str(app_path().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    click.echo(f"evalpanel dashboard on {url}")
    # Become the Streamlit server (no child process): a stop signal sent to this process, by a
    # service manager or a test, reaches the server itself and leaves nothing running.
    command = streamlit_command(port, headless=headless)
    os.execve(command[0], command, env)
