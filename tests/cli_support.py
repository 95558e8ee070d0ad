"""Running the real ``evalpanel`` command line in-process, for the CLI tests."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from evalpanel.cli import cli

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "fixtures" / "tiny"


def run(*args: str) -> tuple[int, str]:
    """``evalpanel ARGS``: (exit status, output). A crash (not a clean exit) fails the test."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output
