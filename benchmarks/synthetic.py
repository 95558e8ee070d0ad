"""Synthetic calls for assignment benchmarks and tests (seeded, importable).

``synthetic_call(P, E, k, seed)`` returns frames and a (P, E) float32 affinity in [0, 1]:
random ISCED-like fields give structure (0.55 for a shared field) plus a low-rank topic
similarity (0.45 weight); a few conflicts per proposal; max_load sized for ~1.3× the demand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from assignment.instance import AssignmentInstance, build_instance

COUNTRIES = (
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "EL",
    "ES",
    "FI",
    "FR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
)
REASONS = ("declared", "employment", "collaboration", "partner organisation", "preparation")


@dataclass(frozen=True)
class SyntheticCall:
    proposals: pl.DataFrame
    experts: pl.DataFrame
    affinity: np.ndarray
    conflicts: pl.DataFrame
    k: int

    def instance(self) -> AssignmentInstance:
        return build_instance(self.proposals, self.experts, self.affinity, self.conflicts, k=self.k)


def synthetic_call(
    n_proposals: int,
    n_experts: int,
    k: int = 4,
    seed: int = 0,
    *,
    n_fields: int = 60,
    conflicts_per_proposal: int = 3,
    slack: float = 1.3,
    dense: bool = False,
) -> SyntheticCall:
    """``dense=True`` draws every affinity from a continuous distribution (no ties at 0)."""
    rng = np.random.default_rng(seed)
    fields = np.array([f"{i:04d}" for i in range(100, 100 + n_fields)])
    pf = rng.integers(0, n_fields, size=n_proposals)
    ef = rng.integers(0, n_fields, size=(n_experts, 2))
    dim = 8
    u = rng.normal(size=(n_proposals, dim)).astype(np.float32)
    v = rng.normal(size=(n_experts, dim)).astype(np.float32)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    aff = np.empty((n_proposals, n_experts), dtype=np.float32)
    step = max(1, 4_000_000 // max(n_experts, 1))
    for i in range(0, n_proposals, step):
        sl = slice(i, min(i + step, n_proposals))
        match = (ef[None, :, 0] == pf[sl, None]) | (ef[None, :, 1] == pf[sl, None])
        topic = (u[sl] @ v.T + 1.0) / 2.0
        block = 0.55 * match + 0.45 * topic
        if not dense:
            block = np.where(block < 0.3, 0.0, block)
        aff[sl] = np.clip(block, 0.0, 1.0)
    demand = k * n_proposals
    base = max(1, int(np.ceil(slack * demand / n_experts)))
    max_load = np.maximum(1, base + rng.integers(-1, 2, size=n_experts))
    min_load = (rng.random(n_experts) < 0.1).astype(np.int64)
    cp = np.repeat(np.arange(n_proposals), conflicts_per_proposal)
    ce = rng.integers(0, n_experts, size=cp.size)
    pid = np.array([f"P{i:05d}" for i in range(n_proposals)])
    eid = np.array([f"X{i:05d}" for i in range(n_experts)])
    proposals = pl.DataFrame(
        {
            "proposal_id": pid,
            "lot": rng.choice(["L1", "L2"], size=n_proposals),
            "fields": [[f] for f in fields[pf].tolist()],
        }
    )
    experts = pl.DataFrame(
        {
            "expert_id": eid,
            "max_load": max_load,
            "min_load": min_load,
            "nationality": rng.choice(COUNTRIES, size=n_experts),
            "org_id": [f"O{i:05d}" for i in rng.integers(0, max(1, n_experts // 3), n_experts)],
            "gender": rng.choice(["F", "M"], size=n_experts),
        }
    )
    conflicts = pl.DataFrame(
        {
            "proposal_id": pid[cp],
            "expert_id": eid[ce],
            "reason": rng.choice(REASONS, size=cp.size),
            "detail": "",
        }
    ).unique(["proposal_id", "expert_id"])
    return SyntheticCall(proposals, experts, aff, conflicts, k)


def small_instance(
    seed: int,
    n_proposals: int,
    n_experts: int,
    k: int,
    *,
    conflict_rate: float = 0.15,
    max_load: tuple[int, int] = (0, 4),
    min_load_rate: float = 0.0,
    pins: int = 0,
    diversity_values: int = 3,
) -> AssignmentInstance:
    """A small random instance (for tests): affinities on a 0.01 grid, random conflicts,
    loads, optional pinned pairs and expert attributes."""
    rng = np.random.default_rng(seed)
    aff = np.round(rng.random((n_proposals, n_experts)), 2)
    pid = [f"P{i:03d}" for i in range(n_proposals)]
    eid = [f"X{i:03d}" for i in range(n_experts)]
    conflicted = rng.random((n_proposals, n_experts)) < conflict_rate
    cp, ce = np.nonzero(conflicted)
    loads = rng.integers(max_load[0], max_load[1] + 1, size=n_experts)
    mins = np.where(rng.random(n_experts) < min_load_rate, np.minimum(loads, 1), 0)
    free_p, free_e = np.nonzero(~conflicted)
    pick = rng.permutation(free_p.size)[:pins]
    pinned = pl.DataFrame(
        {
            "proposal_id": [pid[i] for i in free_p[pick]],
            "expert_id": [eid[j] for j in free_e[pick]],
        },
        schema={"proposal_id": pl.String, "expert_id": pl.String},
    )
    values = [chr(65 + i) for i in range(diversity_values)]
    nationality = rng.choice(values, n_experts)
    # an organisation sits in one country: nest it in the nationality
    org = [f"{n}-{o}" for n, o in zip(nationality, rng.choice(values, n_experts), strict=True)]
    experts = pl.DataFrame(
        {
            "expert_id": eid,
            "max_load": loads,
            "min_load": mins,
            "nationality": nationality,
            "org_id": org,
            "gender": rng.choice(["F", "M"], n_experts),
        }
    )
    proposals = pl.DataFrame({"proposal_id": pid, "fields": [["0714"]] * n_proposals})
    conflicts = pl.DataFrame(
        {
            "proposal_id": [pid[i] for i in cp],
            "expert_id": [eid[j] for j in ce],
            "reason": rng.choice(["declared", "employment"], cp.size).tolist(),
            "detail": "",
        },
        schema={
            "proposal_id": pl.String,
            "expert_id": pl.String,
            "reason": pl.String,
            "detail": pl.String,
        },
    )
    return build_instance(proposals, experts, aff, conflicts, k=k, pinned=pinned)
