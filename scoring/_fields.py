"""Located checks of scheme fields: each problem becomes ``<where>: <key path>: <message>``.

A key path is the tuple of TOML keys from the scheme document's root; a path set by the call's
overrides is reported in the overrides' file as ``scheme.<path>``, any other in the scheme file.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import Any


class Checker:
    """Collects located problems; a path is the tuple of keys from the document's root."""

    def __init__(self, base_name: str, source: str) -> None:
        self.base_name = base_name
        self.source = source
        self.overridden: set[tuple[str, ...]] = set()
        self.messages: list[str] = []

    def is_overridden(self, path: tuple[str, ...]) -> bool:
        return any(path[:i] in self.overridden for i in range(1, len(path) + 1))

    def where(self, *paths: tuple[str, ...]) -> str:
        for path in paths:
            if self.is_overridden(path):
                return f"{self.source}: scheme.{'.'.join(path)}"
        return f"{self.base_name}: {'.'.join(paths[0])}"

    def add(self, message: str, *paths: tuple[str, ...]) -> None:
        self.messages.append(f"{self.where(*paths)}: {message}")


def show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def number(doc: Mapping[str, Any], key: str, path: tuple[str, ...], check: Checker,
            lo: float | None = None, lo_open: bool = False, hi: float | None = None,
            default: float | None = None) -> float | None:
    value = doc.get(key, default)
    where = (*path, key)
    if value is None:
        check.add("missing: give a number", where)
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        check.add(f"{show(value)} is not a number", where)
        return None
    if not math.isfinite(value):  # TOML has nan and inf, which every comparison would let by
        check.add(f"{show(value)} is not a finite number", where)
        return None
    if lo is not None and (value <= lo if lo_open else value < lo):
        check.add(f"{show(value)} must be {'above' if lo_open else 'at least'} {show(lo)}",
                  where)
        return None
    if hi is not None and value > hi:
        check.add(f"{show(value)} must be at most {show(hi)}", where)
        return None
    return float(value)


def choice(doc: Mapping[str, Any], key: str, choices: Sequence[str], check: Checker,
            default: str | None = None) -> str | None:
    value = doc.get(key, default)
    if value not in choices:
        check.add(f"{show(value) if value is not None else 'missing'}: choose one of "
                  f"{', '.join(choices)}", (key,))
        return None
    return str(value)


def text(doc: Mapping[str, Any], key: str, path: tuple[str, ...], check: Checker,
          default: str | None = None) -> str | None:
    value = doc.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        check.add("missing: give a text" if value is None else f"{show(value)} is not a text",
                  (*path, key))
        return None
    return value


def texts(doc: Mapping[str, Any], key: str, path: tuple[str, ...],
           check: Checker) -> tuple[str, ...]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        check.add(f"{show(value)} is not a list of texts", (*path, key))
        return ()
    return tuple(value)


def unknown_keys(doc: Mapping[str, Any], allowed: Sequence[str], path: tuple[str, ...],
                  check: Checker) -> None:
    for key in doc:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f'did you mean "{close[0]}"? ' if close else ""
            check.add(f"unknown key; {hint}expected one of {', '.join(allowed)}",
                      (*path, str(key)))
