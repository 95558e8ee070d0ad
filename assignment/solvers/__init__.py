"""Assignment solvers and the public entry point :func:`assign`.

Each solver takes an :class:`~assignment.instance.AssignmentInstance` and returns new pairs as an
(n, 2) int64 array of (proposal index, expert index); :func:`assign` adds diagnostics and wraps
everything in an :class:`~assignment.result.AssignmentResult`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from assignment.diagnostics import diagnose
from assignment.diversity import DEFAULT_CHAIN
from assignment.instance import AssignmentInstance, InstanceError
from assignment.result import AssignmentResult, make_result
from assignment.solvers.max_total import Chain, solve_dense_baseline, solve_max_total

MODES = ("max-total", "fair", "randomized")

__all__ = ["MODES", "assign", "solve_dense_baseline"]


def _bad(name: str, allowed: str, got: object) -> InstanceError:
    return InstanceError(f"the `{name}` parameter of `assign` must be {allowed}; got {got!r}")


def _chain(diversity: bool | Chain) -> Chain:
    if diversity is True:
        return DEFAULT_CHAIN
    if diversity is False:
        return ()
    ok = isinstance(diversity, tuple) and all(
        isinstance(t, tuple)
        and len(t) == 2
        and t[0] in ("nationality", "org", "gender")
        and isinstance(t[1], int | float)
        and 0 <= t[1] <= 1
        for t in diversity
    )
    if not ok:
        raise _bad(
            "diversity",
            "True, False or a tuple of (attribute, penalty in [0, 1]) with "
            "attributes among nationality, org, gender",
            diversity,
        )
    return diversity


def assign(
    instance: AssignmentInstance,
    mode: str = "max-total",
    *,
    q: float = 0.5,
    seed: int = 0,
    diversity: bool | Chain = False,
    candidates: int | None = None,
    dense: bool | None = None,
    time_limit: float = 60.0,
) -> AssignmentResult:
    """Assign experts to proposals.

    ``mode``: ``"max-total"``, ``"fair"`` or ``"randomized"`` (probability cap ``q``, sample drawn
    with ``seed``). ``diversity``: penalise repeated nationality then organisation on a panel
    (True), or a chain of ``(attribute, penalty)`` (penalty in affinity units per extra expert);
    not used by ``fair``. ``candidates``: experts per proposal in the candidate set (default from
    k); ``dense=True`` solves over every eligible pair. ``time_limit``: seconds for CP-SAT (fair).
    """
    if mode not in MODES:
        raise _bad("mode", f"one of {', '.join(MODES)}", mode)
    if isinstance(q, bool) or not isinstance(q, int | float) or not 0 < q <= 1:
        raise _bad("q", "a number in (0, 1]", q)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _bad("seed", "an integer >= 0", seed)
    if candidates is not None and (not isinstance(candidates, int) or candidates < 1):
        raise _bad("candidates", "an integer >= 1 or None", candidates)
    if not isinstance(time_limit, int | float) or time_limit <= 0:
        raise _bad("time_limit", "a positive number of seconds", time_limit)
    chain = _chain(diversity)

    start = time.perf_counter()
    details: dict[str, Any] = {}
    marginals: pl.DataFrame | None = None
    if mode == "max-total":
        pairs, cert = solve_max_total(instance, diversity=chain, candidates=candidates, dense=dense)
    elif mode == "fair":
        from assignment.solvers.fair import solve_fair  # the max-total path does not import it

        pairs, cert, details = solve_fair(instance, candidates=candidates, time_limit=time_limit)
    else:
        from assignment.solvers.randomized import solve_randomized

        pairs, cert, details, (codes, prob) = solve_randomized(
            instance, q=float(q), seed=seed, diversity=chain, candidates=candidates
        )
        n_e = instance.n_experts
        marginals = pl.DataFrame(
            {
                "proposal_id": instance.proposal_ids[codes // n_e].tolist(),
                "expert_id": instance.expert_ids[codes % n_e].tolist(),
                "probability": prob,
            },
            schema={"proposal_id": pl.String, "expert_id": pl.String, "probability": pl.Float64},
        ).sort("proposal_id", "expert_id")
    solved = time.perf_counter()
    inst = instance
    if (
        int(
            (inst.free_demand - np.bincount(pairs[:, 0], minlength=inst.n_proposals)).max(initial=0)
        )
        > 0
    ):
        # explain with a maximum-coverage assignment (randomized samples may fall short of it)
        ref = pairs if mode != "randomized" else solve_max_total(inst, candidates=candidates)[0]
        shortfalls, messages = diagnose(inst, ref)
        if mode == "randomized":
            short = inst.free_demand - np.bincount(pairs[:, 0], minlength=inst.n_proposals)
            known = dict(zip(shortfalls["proposal_id"], shortfalls["reason"], strict=True))
            cap = f"the probability cap q = {q} leaves too few eligible experts: raise q"
            rows = [
                (
                    str(inst.proposal_ids[p]),
                    int(short[p]),
                    known.get(str(inst.proposal_ids[p]), cap),
                )
                for p in np.nonzero(short > 0)[0]
            ]
            shortfalls = pl.DataFrame(rows, schema=shortfalls.schema, orient="row")
    else:
        shortfalls, messages = diagnose(inst, pairs)
    warnings = inst.warnings()
    if warnings:
        details = {**details, "warnings": warnings}
    seconds = time.perf_counter() - start
    result = make_result(inst, mode, pairs, cert, seconds, shortfalls, messages, details, marginals)
    end = time.perf_counter()
    timings = {"solve": solved - start, "certify": cert.scan_seconds, "diagnostics": end - solved}
    return replace(result, timings=timings)
