"""Wall time per phase of an assignment run, for ``evalpanel assign --json`` (``phases``).

The phases, in the order they run: ``read`` (the call folder read and checked), ``conflicts``
(conflicts of interest and potential conflicts), ``affinity`` (the affinity file or the text
model), ``plan`` (the instance built), ``solve`` (the flows), ``certify`` (the full-matrix
reduced-cost scans of the optimality certificate), ``summary`` (diagnostics, explanations and the
JSON summary) and ``write`` (the pairs written). Seconds, summed over every entry of a phase.

Phases overlap work running in background threads, so a phase's seconds are the main thread's
wait, not all the work it stands for: an ``affinity.parquet`` read as the matrix is decoded from
within ``read`` on, through ``conflicts``, and ``affinity`` is what is left of its decode when the
matrix is needed (``read_call(..., wait=False)``); the explanations' evidence is computed from
the end of ``read`` on, and ``summary`` counts only the wait for what is left of it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

PHASES = ("read", "conflicts", "affinity", "plan", "solve", "certify", "summary", "write")


class PhaseTimer:
    """Accumulates seconds per phase; ``with timer("read"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(PHASES, 0.0)

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        if phase not in self.seconds:
            raise ValueError(f"unknown phase {phase!r}; use one of {', '.join(PHASES)}")
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] += time.perf_counter() - start

    def move(self, seconds: float, source: str, target: str) -> None:
        """Count ``seconds`` measured inside ``source`` under ``target`` instead (e.g. the
        certificate's scans, timed by the solver, out of ``solve``)."""
        seconds = min(max(seconds, 0.0), self.seconds[source])
        self.seconds[source] -= seconds
        self.seconds[target] += seconds

    def rounded(self, digits: int = 3) -> dict[str, float]:
        return {phase: round(s, digits) for phase, s in self.seconds.items()}
