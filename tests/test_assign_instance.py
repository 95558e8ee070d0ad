"""Instance building and input checks with messages that say what to change."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl
import pytest

from assignment import InstanceError, assign, build_instance


def frames(n_p: int = 3, n_e: int = 3) -> tuple[pl.DataFrame, pl.DataFrame]:
    proposals = pl.DataFrame(
        {"proposal_id": [f"P{i}" for i in range(n_p)], "lot": ["L1"] * (n_p - 1) + ["L2"]}
    )
    experts = pl.DataFrame(
        {"expert_id": [f"X{i}" for i in range(n_e)], "max_load": [2] * n_e, "min_load": [0] * n_e}
    )
    return proposals, experts


def test_orientation_and_k_per_lot() -> None:
    proposals, experts = frames()
    aff = np.arange(9, dtype=float).reshape(3, 3) / 10
    inst = build_instance(proposals, experts, aff, k=2, k_by_lot={"L2": 1})
    assert inst.k.tolist() == [2, 2, 1]
    assert inst.pairs_frame(np.array([[2, 0]]))["affinity"].item() == pytest.approx(0.6)
    assert inst.pairs_frame(np.array([[2, 0]]))["proposal_id"].item() == "P2"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"affinity": np.full((2, 3), 0.5)}, "shape"),
        ({"affinity": np.full((3, 3), 1.5)}, "in [0, 1]"),
        ({"affinity": np.full((3, 3), np.nan)}, "finite"),
        ({"k": 0}, "`k` parameter"),
        ({"min_load": [3, 0, 0]}, "lower their min_load or raise their max_load"),
        ({"min_load": [2, 2, 2]}, "lower min_load"),
        ({"pinned": [("P0", "X9")]}, "unknown ids"),
        ({"pinned": [("P0", "X0"), ("P0", "X1"), ("P0", "X2")]}, "raise k"),
        ({"conflicted_pin": True}, "remove it from the pinned pairs"),
    ],
)
def test_bad_input_says_what_to_change(change: dict[str, Any], needle: str) -> None:
    proposals, experts = frames()
    aff = change.get("affinity", np.full((3, 3), 0.5))
    if "min_load" in change:
        experts = experts.with_columns(min_load=pl.Series(change["min_load"]))
    pins = change.get("pinned", [("P0", "X0")] if "conflicted_pin" in change else [])
    pinned = pl.DataFrame(pins, schema=["proposal_id", "expert_id"], orient="row")
    conflicts = pl.DataFrame(
        {"proposal_id": ["P0"], "expert_id": ["X0"], "reason": ["declared"], "detail": [""]}
    )
    with pytest.raises(InstanceError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        build_instance(
            proposals,
            experts,
            aff,
            conflicts,
            k=change.get("k", 1),
            pinned=pinned,
        )


def test_capacity_warning_and_partial_result() -> None:
    proposals, experts = frames(3, 2)
    experts = experts.with_columns(max_load=pl.Series([1, 1]))
    inst = build_instance(proposals, experts, np.full((3, 2), 0.5), k=2)
    (warning,) = inst.warnings()
    assert "raise max_load" in warning and "4 slots stay empty" in warning
    res = assign(inst)
    assert res.status == "partial" and res.coverage == pytest.approx(2 / 6)
    assert res.to_json_dict()["status"] == "partial"
    assert res.load_histogram == {1: 2}


def test_result_summary_is_json_and_counts_main_field() -> None:
    proposals, experts = frames(3, 3)
    aff = np.array([[0.9, 0.1, 0.2], [0.1, 0.8, 0.3], [0.2, 0.1, 0.7]])
    main = np.zeros((3, 3), dtype=bool)
    main[0, 0] = main[1, 0] = True  # P0's best expert is in its field; P1's best is not
    inst = build_instance(proposals, experts, aff, k=1, main_field=main)
    res = assign(inst)
    assert res.pairs.select("proposal_id", "expert_id").rows() == [
        ("P0", "X0"),
        ("P1", "X1"),
        ("P2", "X2"),
    ]
    assert res.main_field_share == pytest.approx(1 / 3)
    assert res.objective == pytest.approx(2.4)
    assert res.min_proposal_affinity == pytest.approx(0.7)
    text = json.dumps(res.to_json_dict())
    assert json.loads(text)["certificate"]["violations"] == 0


def pins(*pairs: tuple[str, str]) -> pl.DataFrame:
    return pl.DataFrame(list(pairs), schema=["proposal_id", "expert_id"], orient="row")


def test_min_load_beyond_open_slots_is_a_warning_when_pairs_are_pinned() -> None:
    # every proposal is pinned: no slot is open, yet X0 and X1 still ask for tasks
    proposals, experts = frames(3, 3)
    experts = experts.with_columns(min_load=pl.Series([2, 1, 0]))
    aff = np.full((3, 3), 0.5)
    pinned = pins(("P0", "X2"), ("P1", "X2"), ("P2", "X1"))
    inst = build_instance(proposals, experts, aff, k=1, pinned=pinned)
    assert inst.free_min_load.tolist() == [0, 0, 0]
    (warning,) = inst.warnings()
    assert "min_load asks for 2 more tasks" in warning
    assert "0 open slots" in warning and "not enforced" in warning
    res = assign(inst)
    assert res.status == "complete"
    assert set(res.pairs.select("proposal_id", "expert_id").rows()) == {
        ("P0", "X2"),
        ("P1", "X2"),
        ("P2", "X1"),
    }
    assert res.details["warnings"] == [warning]


def test_unenforced_min_load_leaves_the_open_slot_to_the_best_expert() -> None:
    # one open slot (P2) but X1 asks for 2 tasks: the slot goes by affinity, not to X1
    proposals, experts = frames(3, 3)
    experts = experts.with_columns(min_load=pl.Series([0, 2, 0]))
    aff = np.array([[0.5, 0.1, 0.1], [0.5, 0.1, 0.1], [0.1, 0.2, 0.9]])
    inst = build_instance(proposals, experts, aff, k=1, pinned=pins(("P0", "X0"), ("P1", "X0")))
    assert inst.warnings() and "not enforced" in inst.warnings()[0]
    res = assign(inst)
    assert ("P2", "X2") in res.pairs.select("proposal_id", "expert_id").rows()


def test_min_load_that_fits_is_still_enforced_next_to_pinned_pairs() -> None:
    proposals, experts = frames(3, 3)
    experts = experts.with_columns(min_load=pl.Series([0, 0, 1]))
    aff = np.array([[0.9, 0.8, 0.1], [0.1, 0.9, 0.2], [0.1, 0.9, 0.2]])
    inst = build_instance(proposals, experts, aff, k=1, pinned=pins(("P0", "X0")))
    assert inst.warnings() == [] and inst.free_min_load.tolist() == [0, 0, 1]
    res = assign(inst)
    loads = res.pairs.group_by("expert_id").len()
    assert dict(loads.iter_rows())["X2"] == 1


def test_min_load_above_demand_without_fixed_pairs_is_refused() -> None:
    proposals, experts = frames(3, 3)
    experts = experts.with_columns(min_load=pl.Series([2, 2, 0]))
    with pytest.raises(InstanceError, match="lower min_load") as info:
        build_instance(proposals, experts, np.full((3, 3), 0.5), k=1)
    assert "min_load asks for 4 tasks but only 3 reviewer slots are open" in str(info.value)


def test_existing_work_beyond_max_load_is_kept_and_takes_no_new_slot() -> None:
    proposals, experts = frames(n_p=3, n_e=3)
    aff = np.full((3, 3), 0.1)
    aff[:, 0] = 0.9  # everyone's favourite
    existing = pl.DataFrame({"proposal_id": ["P0", "P1", "P2"], "expert_id": ["X0"] * 3})
    inst = build_instance(proposals, experts, aff, k=2, existing=existing)  # X0: 3 tasks, max 2
    assert inst.free_capacity.tolist() == [0, 2, 2]
    result = assign(inst)
    assert result.status == "complete"
    assert result.pairs.filter(pl.col("expert_id") == "X0").height == 3  # kept, none added
    pinned = pl.DataFrame({"proposal_id": ["P0", "P1", "P2"], "expert_id": ["X0"] * 3})
    with pytest.raises(InstanceError, match="more pinned and existing tasks than max_load"):
        build_instance(proposals, experts, aff, k=2, pinned=pinned)


@pytest.mark.parametrize("bad", [np.nan, -0.25, 1.5])
@pytest.mark.parametrize("at", [0, 2**18 - 1, 2**18, 700 * 500 - 1])
def test_one_bad_cell_of_a_large_matrix_is_found_wherever_it_is(bad: float, at: int) -> None:
    # 350,000 cells: scanned in blocks (the first, a block edge, the last partial block)
    proposals, experts = frames(700, 500)
    aff = np.random.default_rng(at).random((700, 500), dtype=np.float32)
    build_instance(proposals, experts, aff, k=2)  # the matrix as it is passes
    aff.reshape(-1)[at] = bad
    with pytest.raises(InstanceError, match=r"finite and in \[0, 1\]"):
        build_instance(proposals, experts, aff, k=2)
    with pytest.raises(InstanceError, match=r"finite and in \[0, 1\]"):  # in Fortran order: not scanned in blocks
        build_instance(proposals, experts, np.asfortranarray(aff), k=2)
