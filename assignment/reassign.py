"""Reassignment after a decline or a newly declared conflict: change only what must change.

``current``: frame ``proposal_id, expert_id`` of the published assignment. Pairs that were declined
or are now conflicted or forbidden in the instance are removed (and forbidden from then on); every
other current pair is kept as an existing pair, and only the open slots are filled again.
Frames returned: ``added`` / ``kept`` with ``proposal_id, expert_id, affinity``; ``removed`` with
``proposal_id, expert_id, affinity, reason`` (``declined`` or ``conflict``), all sorted by ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from assignment.instance import AssignmentInstance
from assignment.result import AssignmentResult
from assignment.solvers import assign


@dataclass(frozen=True, slots=True)
class Reassignment:
    result: AssignmentResult  # the whole new assignment (kept and added pairs)
    added: pl.DataFrame
    removed: pl.DataFrame
    kept: pl.DataFrame

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "added": self.added.to_dicts(),
            "removed": self.removed.to_dicts(),
            "kept": self.kept.height,
            "result": self.result.to_json_dict(),
        }


def reassign(
    instance: AssignmentInstance,
    current: pl.DataFrame,
    *,
    declined: pl.DataFrame | None = None,
    mode: str = "max-total",
    **options: Any,
) -> Reassignment:
    """Repair ``current`` for ``instance`` (whose conflicts include any newly declared ones).

    ``options`` are passed to :func:`assignment.assign` (``q``, ``seed``, ``diversity``, ...).
    """
    inst = instance
    cur = inst.pair_indices(current, "current assignment")
    dec = inst.pair_indices(declined, "declined")
    cur_codes, dec_codes = inst.codes(cur), inst.codes(dec)
    is_declined = np.isin(cur_codes, dec_codes)
    is_conflict = np.isin(cur_codes, inst.ineligible_codes()) & ~is_declined
    drop = is_declined | is_conflict
    kept = cur[~drop]
    kept_codes = inst.codes(kept)
    existing = np.unique(np.concatenate([inst.existing, kept]), axis=0).reshape(-1, 2)
    pinned = inst.pinned[~np.isin(inst.codes(inst.pinned), kept_codes)]
    forbidden = np.unique(np.concatenate([inst.forbidden, dec]), axis=0).reshape(-1, 2)
    repaired = inst.with_pairs(existing=existing, pinned=pinned, forbidden=forbidden)
    result = assign(repaired, mode, **options)

    removed = (
        inst.pairs_frame(cur[drop])
        .join(
            pl.DataFrame(
                {
                    "proposal_id": inst.proposal_ids[cur[drop][:, 0]].tolist(),
                    "expert_id": inst.expert_ids[cur[drop][:, 1]].tolist(),
                    "reason": np.where(is_declined[drop], "declined", "conflict").tolist(),
                },
                schema={"proposal_id": pl.String, "expert_id": pl.String, "reason": pl.String},
            ),
            on=["proposal_id", "expert_id"],
            how="left",
        )
        .sort("proposal_id", "expert_id")
    )
    kept_frame = inst.pairs_frame(kept)
    added = result.pairs.join(
        kept_frame.select("proposal_id", "expert_id"), on=["proposal_id", "expert_id"], how="anti"
    )
    existing_before = inst.pairs_frame(inst.existing).select("proposal_id", "expert_id")
    added = added.join(existing_before, on=["proposal_id", "expert_id"], how="anti")
    return Reassignment(result, added.sort("proposal_id", "expert_id"), removed, kept_frame)
