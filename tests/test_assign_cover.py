"""Growing a candidate set until it can fill every slot (``assignment.solvers._cover``), against
the exact formulation solved on every eligible pair."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from assignment import AssignmentInstance, InstanceError, _sets
from assignment.instance import IntArray
from assignment.solvers._cover import cover_candidates
from assignment.solvers._network import FlowSpec, Uncoverable, solve_network
from assignment.solvers._sparse import PER_ROW, eligible_codes
from assignment.solvers.max_total import flow_spec
from benchmarks.synthetic import small_instance


def _fills(inst: AssignmentInstance, spec: FlowSpec, codes: IntArray) -> bool:
    try:
        solve_network(inst, spec, codes, with_potentials=False)
    except Uncoverable:
        return False
    return True


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_p=st.integers(2, 12),
    n_e=st.integers(2, 10),
    k=st.integers(1, 3),
    loads=st.sampled_from([(0, 2), (1, 3), (2, 4), (3, 6)]),
    keep=st.floats(0.0, 0.6),
    per=st.sampled_from([1, 2, PER_ROW]),
)
def test_grown_set_fills_every_slot_exactly_when_the_whole_pair_set_can(
    seed: int, n_p: int, n_e: int, k: int, loads: tuple[int, int], keep: float, per: int
) -> None:
    try:
        inst = small_instance(seed, n_p, n_e, k, conflict_rate=0.25, max_load=loads,
                              min_load_rate=0.5, pins=1)  # fmt: skip
    except InstanceError:  # the pinned pair's expert has no load
        assume(False)
    spec = replace(flow_spec(inst), exact=True)
    blocked = inst.blocked_codes()
    eligible = eligible_codes(inst, blocked)
    rng = np.random.default_rng(seed)
    first = eligible[rng.random(eligible.size) < keep]
    grown, impossible = cover_candidates(inst, spec, blocked, first, per)
    assert _sets.member(first, grown).all()  # only grows
    assert _sets.member(grown, eligible).all()  # never a blocked, conflicted or fixed pair
    assert np.array_equal(grown, _sets.unique(grown))
    whole = _fills(inst, spec, eligible)
    assert impossible == (not whole)  # proven impossible exactly when it is
    assert _fills(inst, spec, grown) == whole


def test_minimum_loads_grow_the_set_from_the_experts_side() -> None:
    # the first set (every pair with experts 0-9, 3 slots each) fills the 30 slots, but
    # experts 10 and 11 must review at least one proposal and have no pair in it
    inst = small_instance(4, 30, 12, 1, conflict_rate=0.0, max_load=(3, 3))
    n_e = inst.n_experts
    low = (np.arange(n_e) >= 10).astype(np.int64)
    spec = replace(flow_spec(inst), exact=True, low=low)
    first = _sets.unique(np.arange(30)[:, None] * n_e + np.arange(10))
    assert _fills(inst, replace(spec, low=low * 0), first) and not _fills(inst, spec, first)
    grown, impossible = cover_candidates(inst, spec, inst.blocked_codes(), first, 1)
    assert not impossible and _fills(inst, spec, grown)
    new = _sets.difference(grown, first)
    new = new[np.argsort(new % n_e)]
    assert (new % n_e).tolist() == [10, 11]  # one pair each, their best proposal
    assert (new // n_e == np.argmax(inst.affinity[:, 10:], axis=0)).all()
    # a minimum load above the number of proposals cannot be met with any pairs
    many = replace(spec, low=low + (np.arange(n_e) == 0) * 31,
                   capacity=spec.capacity + (np.arange(n_e) == 0) * 31)  # fmt: skip
    _, impossible = cover_candidates(inst, many, inst.blocked_codes(), first, 1)
    assert impossible
