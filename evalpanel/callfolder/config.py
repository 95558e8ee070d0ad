"""Parse and check ``call.toml``.

```toml
[call]
id = "ERASMUS-EDU-2026-PI-ALL-INNO"
title = "Alliances for Innovation 2026"
scheme = "erasmus-afi"          # a preset id of the scoring package
experts_per_proposal = 2
deadline = "2026-02-26"         # optional, ISO date

[lots.LOT1]
title = "Alliances for Education and Enterprises"
budget_eur = 31_000_000
experts_per_proposal = 2        # optional, overrides the call's
one_per = "ecosystem"           # optional: at most one funded proposal per ecosystem
max_grant_eur = 1_500_000       # optional: the largest EU grant a proposal may request

[scheme]                        # optional overrides of the preset's numbers
total_threshold = 70

[assignment]                    # optional
text_model = "tfidf"            # "tfidf", "embeddings" or "hybrid"; default: the best installed
```
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import tomllib
from typing import Any

from evalpanel import vocab
from evalpanel.callfolder.model import CallConfig, Lot
from evalpanel.callfolder.problems import Problem
from evalpanel.callfolder.schema import ID_LENGTH

FILE = "call.toml"
ONE_PER = ("ecosystem",)
CALL_KEYS = ("id", "title", "scheme", "experts_per_proposal", "deadline")
LOT_KEYS = ("budget_eur", "title", "one_per", "experts_per_proposal", "max_grant_eur")
TABLES = ("call", "lots", "scheme", "documents", "assignment")  # [documents]: evalpanel.documents
ASSIGNMENT_KEYS = ("text_model",)
TEXT_MODELS = vocab.TEXT_MODELS


def unknown_key(key: str, known: tuple[str, ...], what: str = "key") -> str:
    """The message for a key that is not in ``known``, naming the nearest known one."""
    close = difflib.get_close_matches(key, known, n=1)
    hint = f'did you mean "{close[0]}"? ' if close else ""
    return f"unknown {what}; {hint}expected one of {', '.join(known)}"


class Locator:
    """Finds the line of a table header or a key inside a table, for messages."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def table(self, dotted: str) -> int | None:
        pattern = re.compile(
            r"^\s*\[\s*" + r"\s*\.\s*".join(map(_key_re, dotted.split("."))) + r"\s*\]"
        )
        return next((i + 1 for i, line in enumerate(self.lines) if pattern.match(line)), None)

    def key(self, table: str, key: str) -> int | None:
        start = self.table(table)
        if start is None:
            return None
        key_pattern = re.compile(r"^\s*" + _key_re(key) + r"\s*=")
        for i in range(start, len(self.lines)):
            if self.lines[i].lstrip().startswith("["):
                break
            if key_pattern.match(self.lines[i]):
                return i + 1
        return start


def _key_re(key: str) -> str:
    return "(?:" + re.escape(key) + '|"' + re.escape(key) + '")'


def parse_call_toml(text: str) -> tuple[CallConfig | None, list[Problem]]:
    """Return the configuration, or None with every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(match.group(1)) if match else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return None, [Problem(FILE, line, "", f"not valid TOML: {message}")]
    loc = Locator(text)
    problems: list[Problem] = []

    def bad(table: str, key: str, message: str) -> None:
        problems.append(Problem(FILE, loc.key(table, key), f"{table}.{key}", message))

    call = data.get("call")
    if not isinstance(call, dict):
        problems.append(
            Problem(
                FILE,
                None,
                "[call]",
                "missing table [call] (id, title, scheme, experts_per_proposal)",
            )
        )
        call = {}
    for key in ("id", "title", "scheme"):
        value = call.get(key)
        if not isinstance(value, str) or not value.strip():
            got = "missing" if value is None else f"got {value!r}"
            bad("call", key, f"must be a non-empty string; {got}")
        elif key != "title" and len(value.strip()) > ID_LENGTH:
            bad("call", key, f"is {len(value.strip())} characters long; at most {ID_LENGTH} "
                "are allowed")
    k = call.get("experts_per_proposal")
    if not _is_positive_int(k):
        bad("call", "experts_per_proposal", f"must be a whole number >= 1; got {k!r}")
    deadline = call.get("deadline")
    if deadline is not None and not _is_date(deadline):
        bad("call", "deadline", f"must be an ISO date such as 2026-02-26; got {deadline!r}")
    for key in sorted(set(call) - set(CALL_KEYS)):
        bad("call", key, unknown_key(key, CALL_KEYS))

    lots_raw = data.get("lots")
    lots: dict[str, Lot] = {}
    if not isinstance(lots_raw, dict) or not lots_raw:
        problems.append(
            Problem(FILE, None, "[lots]", "no lot defined: add a table [lots.<id>] with budget_eur")
        )
        lots_raw = {}
    for lot_id, lot in lots_raw.items():
        table = f"lots.{lot_id}"
        if len(lot_id) > ID_LENGTH:
            problems.append(
                Problem(FILE, loc.table(table), table,
                        f"the lot id is {len(lot_id)} characters long; at most {ID_LENGTH} "
                        "are allowed")
            )
        if not isinstance(lot, dict):
            bad("lots", lot_id, "must be a table with budget_eur")
            continue
        budget = lot.get("budget_eur")
        if budget is None:
            problems.append(
                Problem(FILE, loc.table(table), table, "lot has no budget: add budget_eur")
            )
        elif (
            isinstance(budget, bool)
            or not isinstance(budget, int | float)
            or not math.isfinite(budget)
            or budget < 0
        ):
            bad(table, "budget_eur", f"must be a finite number >= 0 (euros); got {budget!r}")
        lot_k = lot.get("experts_per_proposal")
        if lot_k is not None and not _is_positive_int(lot_k):
            bad(table, "experts_per_proposal", f"must be a whole number >= 1; got {lot_k!r}")
        one_per = lot.get("one_per")
        if one_per is not None and one_per not in ONE_PER:
            bad(table, "one_per", f"must be one of {', '.join(ONE_PER)}; got {one_per!r}")
        title = lot.get("title", "")
        if not isinstance(title, str):
            bad(table, "title", f"must be a string; got {title!r}")
        max_grant = lot.get("max_grant_eur")
        if max_grant is not None and not _is_positive_amount(max_grant):
            bad(table, "max_grant_eur", f"must be a number > 0 (euros); got {max_grant!r}")
        for key in sorted(set(lot) - set(LOT_KEYS)):
            bad(table, key, unknown_key(key, LOT_KEYS))
        if not problems:
            lots[lot_id] = Lot(
                id=lot_id,
                budget_eur=float(budget),  # type: ignore[arg-type]
                title=str(title),
                one_per=one_per,
                experts_per_proposal=lot_k,
                max_grant_eur=None if max_grant is None else float(max_grant),
            )
    scheme = data.get("scheme", {})
    if not isinstance(scheme, dict):
        problems.append(Problem(FILE, None, "scheme", "must be a table of overrides"))
    text_model = _assignment_table(data.get("assignment", {}), loc, problems, bad)
    for key in sorted(set(data) - set(TABLES)):
        problems.append(Problem(FILE, loc.table(key), key, unknown_key(key, TABLES, "table")))
    if problems:
        return None, problems
    config = CallConfig(
        id=call["id"].strip(),
        title=call["title"].strip(),
        scheme=call["scheme"].strip(),
        experts_per_proposal=int(k),  # type: ignore[arg-type]
        lots=lots,
        deadline=str(deadline) if deadline is not None else None,
        scheme_overrides=dict(scheme),
        text_model=text_model,
    )
    return config, []


def _assignment_table(
    table: Any, loc: Locator, problems: list[Problem], bad: Any
) -> str | None:
    """The ``[assignment]`` table's text model (None when not set)."""
    if not isinstance(table, dict):
        problems.append(Problem(FILE, loc.table("assignment"), "assignment", "must be a table"))
        return None
    for key in sorted(set(table) - set(ASSIGNMENT_KEYS)):
        bad("assignment", key, unknown_key(key, ASSIGNMENT_KEYS))
    model = table.get("text_model")
    if model is not None and model not in TEXT_MODELS:
        close = difflib.get_close_matches(str(model), TEXT_MODELS, n=1)
        hint = f'did you mean "{close[0]}"? ' if close else ""
        bad("assignment", "text_model", f"must be one of {', '.join(TEXT_MODELS)}; {hint}"
            f"got {model!r}")
        return None
    return None if model is None else str(model)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_positive_amount(value: Any) -> bool:
    """A finite number of euros above 0 (TOML also has inf and nan)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _is_date(value: Any) -> bool:
    if isinstance(value, dt.date):
        return True
    if not isinstance(value, str):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
