"""``evalpanel dashboard``: start the Streamlit app on a database.

The database URL reaches the app through the ``EVALPANEL_DB_URL`` environment variable (the
embedded SQLite file of :func:`evalpanel.store.default_url` unless ``--db`` is given); messages
show it with its password hidden.

The server starts unattended (a service, a container, CI: no terminal, no Streamlit credentials
file): Streamlit's first-run e-mail prompt is always switched off (``server.showEmailPrompt``,
the setting Streamlit checks before prompting, besides ``server.headless``), and so are usage
statistics. It listens on ``--address`` (default 127.0.0.1, this machine only); behind a reverse
proxy give the proxy's path prefix with ``--base-url-path`` (see the README, "Security").

Sign-in through an OpenID Connect provider (Streamlit's ``st.login``; needs the ``oidc`` extra,
i.e. Authlib) is configured in a Streamlit secrets file with one ``[auth]`` section::

    [auth]
    redirect_uri = "https://panel.example.org/oauth2callback"   # this server + /oauth2callback
    cookie_secret = "<a long random string>"  # signs the login cookie
    client_id = "<the client registered at the provider>"
    client_secret = "<its secret>"
    server_metadata_url = "https://idp.example.org/.well-known/openid-configuration"

``redirect_uri`` may contain ``{port}`` (replaced by the served port) and must be registered at
the provider; the browser must open the dashboard on the same scheme, host and port. Pass the file
with ``--secrets FILE`` (checked before the server starts; Streamlit then reads that file only),
or put it where Streamlit looks by default: ``.streamlit/secrets.toml`` in the directory the
command is started from, or ``~/.streamlit/secrets.toml``. Each person who signs in this way is
linked once to an evalpanel account with ``evalpanel user link-oidc USERNAME ISSUER SUBJECT``
(ISSUER exactly the id token's ``iss`` claim, SUBJECT its ``sub``; stored as provider
``"oidc:" + iss``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tomllib
from pathlib import Path

import click

DB_ENV = "EVALPANEL_DB_URL"


class Unusable(click.ClickException):
    """A secrets file or database the server cannot start with: exit 2, as for bad input."""

    exit_code = 2


def app_path() -> Path:
    """The Streamlit entry script, ``dashboard/serve/app.py`` (it runs ``dashboard/app.py`` from
    a folder without ``pages/``; see its docstring). Found by the dashboard package's import
    spec, without importing it: the command line sits below the dashboard in the layers and
    never runs its code (the Streamlit server does)."""
    spec = importlib.util.find_spec("dashboard")
    if spec is None or spec.origin is None:
        raise Unusable("the dashboard package is not installed with evalpanel")
    return Path(spec.origin).resolve().parent / "serve" / "app.py"


AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret",
             "server_metadata_url")


def check_secrets(path: Path) -> Path:
    """The absolute path of a secrets file whose ``[auth]`` section has every key ``st.login``
    needs (:data:`AUTH_KEYS`); an :class:`Unusable` error saying what to fix otherwise."""
    path = path.expanduser().resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise Unusable(f"cannot read the secrets file {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise Unusable(f"the secrets file {path} is not valid TOML: {exc}") from None
    auth = data.get("auth")
    if not isinstance(auth, dict):
        raise Unusable(
            f"the secrets file {path} has no [auth] section; OIDC sign-in needs one with "
            f"{', '.join(AUTH_KEYS)}")
    missing = [k for k in AUTH_KEYS if not str(auth.get(k, "")).strip()]
    if missing:
        raise Unusable(
            f"the [auth] section of {path} lacks {', '.join(missing)} (one provider, keys "
            "directly under [auth])")
    if not str(auth["redirect_uri"]).endswith("/oauth2callback"):
        raise Unusable(
            f"redirect_uri in {path} must end with /oauth2callback (the dashboard's address "
            "followed by /oauth2callback, as registered at the provider)")
    try:
        import authlib  # noqa: F401
    except ImportError:
        raise Unusable(
            "OIDC sign-in needs Authlib: pip install 'evalpanel[oidc]'") from None
    return path


DEFAULT_ADDRESS = "127.0.0.1"


def streamlit_command(
    port: int | None,
    *,
    headless: bool,
    secrets: Path | None = None,
    address: str = DEFAULT_ADDRESS,
    base_url_path: str = "",
) -> list[str]:
    """The ``streamlit run`` command line for the app (reading only ``secrets`` if given). It
    never prompts, whether or not it opens a browser, and never shows error details itself (the
    app's error boundary logs them)."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_path()),
           "--browser.gatherUsageStats", "false", "--server.headless", str(headless).lower(),
           "--server.showEmailPrompt", "false", "--server.address", address,
           "--client.toolbarMode", "viewer", "--client.showErrorDetails", "none",
           # tables have no raw CSV download or copy; pages export through the export code
           "--client.disableDataExport", "true"]
    if port is not None:
        cmd += ["--server.port", str(port)]
    if base_url_path.strip("/"):
        cmd += ["--server.baseUrlPath", base_url_path.strip("/")]
    if secrets is not None:
        cmd += ["--secrets.files", str(secrets)]
    return cmd


def hidden(message: str, url: str) -> str:
    """``message`` with the password of ``url`` (if it has one) replaced by ``***``."""
    import sqlalchemy as sa

    try:
        password = sa.make_url(url).password
    except sa.exc.ArgumentError:
        return message
    return message.replace(str(password), "***") if password else message


@click.command()
@click.option("--db", "db_url", default=None, metavar="URL",
              help="SQLAlchemy URL or SQLite file of the database (default: the embedded one).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port to serve on (default: Streamlit's, 8501).")
@click.option("--address", default=DEFAULT_ADDRESS, show_default=True,
              help="Address to listen on (0.0.0.0: every interface; prefer a reverse proxy).")
@click.option("--base-url-path", default="", metavar="PATH",
              help="Path prefix the dashboard is served under behind a reverse proxy (e.g. panel "
                   "for https://host/panel/).")
@click.option("--headless/--browser", default=None,
              help="Do not open a browser window, or do (default: open one only when started "
                   "from a terminal). Neither ever waits for a prompt.")
@click.option("--secrets", "secrets_file", type=click.Path(path_type=Path), default=None,
              metavar="FILE",
              help="Streamlit secrets file with an [auth] section (redirect_uri, cookie_secret, "
                   "client_id, client_secret, server_metadata_url) to offer OIDC sign-in "
                   "(default: .streamlit/secrets.toml here or in your home, if present).")
def dashboard(
    db_url: str | None,
    port: int | None,
    address: str,
    base_url_path: str,
    headless: bool | None,
    secrets_file: Path | None,
) -> None:
    """Start the dashboard (Streamlit) on the embedded database unless --db is given.

    OIDC sign-in: see --secrets; link each person once to an account with
    `evalpanel user link-oidc USERNAME ISSUER SUBJECT` (the id token's "iss" and "sub").
    """
    from evalpanel.commands._database import shown
    from evalpanel.store import default_url, make_engine

    secrets = None if secrets_file is None else check_secrets(secrets_file)

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
        raise Unusable(f"cannot open the database {shown(url)}: {hidden(str(exc), url)}") from None
    env = dict(os.environ)
    env[DB_ENV] = url
    root = str(app_path().parent.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    if headless is None:
        headless = not (sys.stdin is not None and sys.stdin.isatty())
    click.echo(f"evalpanel dashboard on {shown(url)}, listening on {address}")
    # Become the Streamlit server (no child process): a stop signal sent to this process, by a
    # service manager or a test, reaches the server itself and leaves nothing running.
    command = streamlit_command(port, headless=headless, secrets=secrets, address=address,
                                base_url_path=base_url_path)
    os.execve(command[0], command, env)
