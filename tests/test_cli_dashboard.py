"""`evalpanel dashboard --secrets FILE`: the secrets file is checked before the server starts
and handed to Streamlit as its only secrets file."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from evalpanel.commands.dashboard import AUTH_KEYS, check_secrets, streamlit_command

GOOD = {
    "redirect_uri": "http://127.0.0.1:{port}/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "panel",
    "client_secret": "s3cret",
    "server_metadata_url": "https://idp.example.org/.well-known/openid-configuration",
}


def write(path: Path, auth: dict[str, str] | None) -> Path:
    lines = [] if auth is None else ["[auth]", *(f'{k} = "{v}"' for k, v in auth.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_complete_auth_section_is_accepted(tmp_path: Path) -> None:
    pytest.importorskip("authlib")
    found = check_secrets(write(tmp_path / "secrets.toml", GOOD))
    assert found == (tmp_path / "secrets.toml").resolve()
    cmd = streamlit_command(8600, headless=True, secrets=found)
    assert cmd[cmd.index("--secrets.files") + 1] == str(found)
    assert "--secrets.files" not in streamlit_command(8600, headless=True)


@pytest.mark.parametrize("key", AUTH_KEYS)
def test_a_missing_key_is_named(tmp_path: Path, key: str) -> None:
    auth = {k: v for k, v in GOOD.items() if k != key}
    with pytest.raises(click.ClickException, match=f"lacks {key}"):
        check_secrets(write(tmp_path / "secrets.toml", auth))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no \\[auth\\] section"),
        ({**GOOD, "redirect_uri": "http://127.0.0.1:8501/"}, "must end with /oauth2callback"),
    ],
)
def test_bad_files_say_what_to_fix(
    tmp_path: Path, content: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(click.ClickException, match=message):
        check_secrets(write(tmp_path / "secrets.toml", content))


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(click.ClickException, match="cannot read the secrets file"):
        check_secrets(tmp_path / "absent.toml")
    (tmp_path / "bad.toml").write_text("[auth\n", encoding="utf-8")
    with pytest.raises(click.ClickException, match="not valid TOML"):
        check_secrets(tmp_path / "bad.toml")


def test_an_unusable_secrets_file_exits_2_before_any_server_starts(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from evalpanel.cli import cli

    db = f"sqlite:///{tmp_path / 'panel.sqlite'}"
    bad = write(tmp_path / "secrets.toml", None)
    result = CliRunner().invoke(cli, ["dashboard", "--db", db, "--secrets", str(bad)])
    assert result.exit_code == 2
    assert "has no [auth] section" in result.output
    assert "evalpanel dashboard on" not in result.output  # the server was never started


def test_the_command_line_never_prompts_and_listens_on_loopback() -> None:
    for headless in (True, False):
        cmd = streamlit_command(None, headless=headless)
        options = dict(zip(cmd[5::2], cmd[6::2], strict=True))
        assert options["--server.showEmailPrompt"] == "false"  # the prompt Streamlit checks
        assert options["--browser.gatherUsageStats"] == "false"
        assert options["--server.headless"] == str(headless).lower()
        assert options["--server.address"] == "127.0.0.1"
        assert options["--client.showErrorDetails"] == "none"
        assert "--server.baseUrlPath" not in options
    cmd = streamlit_command(None, headless=True, address="0.0.0.0", base_url_path="/panel/")
    assert cmd[cmd.index("--server.address") + 1] == "0.0.0.0"
    assert cmd[cmd.index("--server.baseUrlPath") + 1] == "panel"


def test_an_unreachable_database_is_named_without_its_password() -> None:
    from click.testing import CliRunner

    from evalpanel.cli import cli

    url = "postgresql+psycopg://panel:Sup3r-s3cret@127.0.0.1:1/evalpanel"
    result = CliRunner().invoke(cli, ["dashboard", "--db", url])
    assert result.exit_code == 2
    assert "cannot open the database postgresql+psycopg://panel:***@127.0.0.1:1/evalpanel" in (
        result.output)
    assert "Sup3r-s3cret" not in result.output
