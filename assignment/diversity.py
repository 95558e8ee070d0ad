"""Soft panel diversity: group codes for the flow gadget and how often diversity was kept.

A diversity chain is a tuple of expert attributes (``"nationality"``, ``"org"``, ``"gender"``),
each level nested in the previous one: level ``L`` groups experts by the tuple of the first
``L + 1`` attributes. In the flow, proposal → (proposal, group) takes one expert of a group for
free and every further one at a penalty, so panels avoid two experts of the same nationality and,
within it, of the same organisation. An unknown value (``""``) puts the expert in a group of its
own (no penalty). Codes are (E,) int64 arrays in ``[0, E)``.
"""

from __future__ import annotations

import numpy as np

from assignment import _sets
from assignment.instance import AssignmentInstance, IntArray

ATTRIBUTES = ("nationality", "org", "gender")
DEFAULT_CHAIN = (("nationality", 0.05), ("org", 0.05))


def chain_codes(inst: AssignmentInstance, attributes: tuple[str, ...]) -> tuple[IntArray, ...]:
    """One (E,) code array per level of the chain."""
    out: list[IntArray] = []
    prev = np.zeros(inst.n_experts, dtype=np.int64)
    own = np.arange(inst.n_experts, dtype=np.int64)
    for name in attributes:
        if name not in ATTRIBUTES:
            raise ValueError(f"diversity attributes must be among {ATTRIBUTES}; got {name!r}")
        values = getattr(inst, name)
        _, code = np.unique(values, return_inverse=True)
        unknown = values == ""
        # unknown values get a code of their own: offset past every known value
        code = np.where(unknown, code.max(initial=0) + 1 + own, code).astype(np.int64)
        _, combined = np.unique(np.stack([prev, code], axis=1), axis=0, return_inverse=True)
        prev = combined.reshape(-1).astype(np.int64)
        out.append(prev)
    return tuple(out)


def _repeat_free(p: IntArray, e: IntArray, values: np.ndarray, n_p: int) -> tuple[int, int]:
    """Panels (with >= 2 known values) where no known value of the experts' ``values`` (E,)
    repeats: (kept, panels)."""
    _, codes = np.unique(values, return_inverse=True)  # once per expert, not per pair
    known = (values != "")[e]
    p, code = p[known], codes.reshape(-1)[e[known]]
    if p.size == 0:
        return 0, 0
    sizes = np.bincount(p, minlength=n_p)
    distinct = np.bincount(
        _sets.unique(p * (int(code.max()) + 1) + code) // (int(code.max()) + 1), minlength=n_p
    )
    panels = sizes >= 2
    return int((distinct[panels] == sizes[panels]).sum()), int(panels.sum())


def panel_stats(inst: AssignmentInstance, pairs: IntArray) -> dict[str, dict[str, float]]:
    """How often each diversity goal was kept over panels where it applies.

    nationality / organisation: panels of >= 2 experts (known values) with no repeat;
    gender: panels of >= 2 experts whose eligible pool has >= 2 genders that are mixed.
    """
    n_p = inst.n_proposals
    p, e = pairs[:, 0], pairs[:, 1]
    out: dict[str, dict[str, float]] = {}
    for name, attr in (("nationality", "nationality"), ("organisation", "org")):
        kept, panels = _repeat_free(p, e, getattr(inst, attr), n_p)
        out[name] = {"kept": kept, "panels": panels, "share": kept / panels if panels else 1.0}
    g = inst.gender[e]
    known = g != ""
    genders = np.unique(inst.gender[inst.gender != ""])
    sizes = np.bincount(p, minlength=n_p)
    mixed = np.zeros(n_p, dtype=bool)
    if genders.size >= 2:
        has = np.zeros((n_p, genders.size), dtype=bool)
        has[p[known], np.searchsorted(genders, g[known])] = True
        mixed = has.sum(axis=1) >= 2
    applies = (sizes >= 2) & (genders.size >= 2)
    kept = int((mixed & applies).sum())
    out["gender"] = {
        "kept": kept,
        "panels": int(applies.sum()),
        "share": kept / int(applies.sum()) if applies.any() else 1.0,
    }
    return out
