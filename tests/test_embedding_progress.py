"""Embedding progress on the command line: on standard error when it is a terminal or when
``--progress`` is asked, never on standard output (where ``--json`` and CSV go)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalpanel import embeddings
from evalpanel.cli import cli
from evalpanel.commands._output import progress_reporter
from tests.cli_support import TINY

NEEDS_MODEL = pytest.mark.skipif(not embeddings.available(),
                                 reason="the embeddings extra is not installed")


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_no_progress_off_a_terminal_unless_asked() -> None:
    assert progress_reporter(False, io.StringIO()) is None


def test_asked_off_a_terminal_one_line_per_step() -> None:
    out = io.StringIO()
    report = progress_reporter(True, out)
    assert report is not None
    report(256, 700)
    report(700, 700)
    assert out.getvalue() == "embedding texts: 256 of 700\nembedding texts: 700 of 700\n"


@pytest.mark.parametrize("asked", [False, True])
def test_on_a_terminal_one_line_rewritten(asked: bool) -> None:
    out = Terminal()
    report = progress_reporter(asked, out)
    assert report is not None
    report(256, 700)
    assert out.getvalue() == "\rembedding texts: 256 of 700"
    report(700, 700)
    assert out.getvalue() == "\rembedding texts: 256 of 700\rembedding texts: 700 of 700\n"


@NEEDS_MODEL
@pytest.mark.slow  # loads torch and the model
def test_assign_reports_embedding_on_stderr_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    for asked, cache in ((True, "first"), (False, "second")):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / cache))  # nothing cached yet
        args = ["assign", str(TINY), "--text-model", "embeddings", "--json"]
        result = runner.invoke(cli, [*args, "--progress"] if asked else args)
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)  # standard output is the JSON and nothing else
        assert summary["text_model"] == "embeddings"
        steps = re.findall(r"embedding texts: (\d+) of (\d+)", result.stderr)
        if asked:
            assert steps and steps[-1][0] == steps[-1][1] and int(steps[-1][1]) > 0
        else:  # the runner's standard error is not a terminal
            assert steps == []
