"""The call's scoring scheme: the preset named in call.toml with its ``[scheme]`` overrides,
and the check of score rows against it, both reported as located problems."""

from __future__ import annotations

import re

import polars as pl

import scoring
from evalpanel.callfolder.config import FILE as CONFIG_FILE
from evalpanel.callfolder.config import Locator
from evalpanel.callfolder.model import CallConfig
from evalpanel.callfolder.problems import Problem
from evalpanel.callfolder.tables import LINE

_LOCATED = re.compile(r"^(?P<file>[^:]+): (?P<key>[\w.\-]+): (?P<message>.*)$", re.S)


def scheme_for(config: CallConfig, toml_text: str) -> tuple[scoring.Scheme | None, list[Problem]]:
    """The scheme of the call, or None and the problems of call.toml's scheme settings."""
    try:
        return scoring.load_scheme(
            config.scheme, config.scheme_overrides or None, source=CONFIG_FILE
        ), []
    except scoring.SchemeError as exc:
        return None, [_problem(message, toml_text) for message in exc.messages]


def _problem(message: str, toml_text: str) -> Problem:
    match = _LOCATED.match(message)
    if match is None:
        line = Locator(toml_text).key("call", "scheme")
        return Problem(CONFIG_FILE, line, "call.scheme", message)
    file, key = match["file"], match["key"]
    parts = key.split(".")
    line = Locator(toml_text).key(".".join(parts[:-1]), parts[-1]) if file == CONFIG_FILE else None
    return Problem(file, line, key, match["message"])


def check_score_rows(file: str, scores: pl.DataFrame, scheme: scoring.Scheme) -> list[Problem]:
    """Range, step, criterion and completeness problems of ``scores`` (with its LINE column)."""
    found = scoring.check_scores(scores.drop(LINE), scheme)
    if found.height == 0:
        return []
    lines = scores[LINE]
    return [
        Problem(file, int(lines[row]), column, problem)
        for row, column, problem in found.select("row", "column", "problem").iter_rows()
    ]
