"""An assignment preview in words for the call manager: which panels are weak, when to try the
``fair`` objective instead of ``max-total``, and what publishing the change-set would do.

The weak-panel rule: a panel is weak when its experts' mean affinity is below
:data:`WEAK_PANEL` (``assignment.explain.LOW_AFFINITY``, 0.4: the same mark that calls the best
available expert weak). A ``max-total`` preview suggests ``fair`` when at least
:data:`WEAK_SHARE` of the panels (5 %, and at least one) are weak: ``max-total`` buys total
affinity with such panels, ``fair`` raises the worst panel first. Both numbers are this
product's choice, not a programme rule.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from assignment.explain import LOW_AFFINITY
from evalpanel.store import Names, with_names

WEAK_PANEL: Final = LOW_AFFINITY
WEAK_SHARE: Final = 0.05
EXAMPLES: Final = 5  # proposals named per kind of change


def weak_panels(pairs: pl.DataFrame) -> pl.DataFrame:
    """``proposal_id, experts, mean_affinity`` of the panels (``pairs``: ``proposal_id,
    expert_id, affinity``) whose mean affinity is below :data:`WEAK_PANEL`, weakest first."""
    return (pairs.group_by("proposal_id").agg(experts=pl.len(),
                                              mean_affinity=pl.col("affinity").mean())
            .filter(pl.col("mean_affinity") < WEAK_PANEL)
            .sort("mean_affinity", "proposal_id"))


def fair_suggestion(mode: str, pairs: pl.DataFrame) -> str | None:
    """The advice to try ``fair`` when a ``max-total`` preview leaves panels weak (see the
    module docstring); None otherwise."""
    if mode != "max-total" or pairs.is_empty():
        return None
    weak = weak_panels(pairs).height
    panels = pairs["proposal_id"].n_unique()
    if weak == 0 or weak < WEAK_SHARE * panels:
        return None
    return (f"{weak} of {panels} panels are weak (their experts' mean affinity is below "
            f"{WEAK_PANEL:g}); max-total maximises the sum and accepts them. Try the fair "
            f"objective, which raises the weakest panel first (suggested when at least "
            f"{WEAK_SHARE:.0%} of the panels are weak).")


def _named(changes: pl.DataFrame, names: Names | None) -> list[str]:
    rows = with_names(changes, names) if names is not None else changes
    out = []
    for row in rows.head(EXAMPLES).iter_rows(named=True):
        expert = row.get("expert_name") or row["expert_id"]
        title = row.get("title")
        out.append(f"{expert} ({row['expert_id']}) on {row['proposal_id']}"
                   + (f" \u201c{title}\u201d" if title else ""))
    more = changes.height - len(out)
    return out + ([f"{more} more"] if more > 0 else [])


def change_set_words(changes: pl.DataFrame, names: Names | None = None) -> str:
    """What publishing the change-set (``proposal_id, expert_id, change``) does, in words:
    tasks added (to how many proposals), kept, withdrawn and left alone because the conflict
    rule now excludes them, naming the experts and proposals withdrawn or held."""
    def of(kind: str) -> pl.DataFrame:
        return changes.filter(pl.col("change") == kind)

    added, kept, removed, held = of("added"), of("kept"), of("removed"), of("conflicted")
    if changes.is_empty():
        return "Publishing changes nothing: the preview holds no pair."
    parts = [f"Publishing adds {added.height} task(s) to {added['proposal_id'].n_unique()} "
             f"proposal(s) and keeps {kept.height} published task(s)"]
    if removed.height:
        parts.append(f"it withdraws {removed.height} task(s): " + "; ".join(_named(removed, names)))
    else:
        parts.append("it withdraws none")
    if held.height:
        parts.append(f"{held.height} started task(s) the conflict rule now excludes are left as "
                     "they are: " + "; ".join(_named(held, names)))
    return ", ".join(parts[:2]) + (". " + parts[2][0].upper() + parts[2][1:] if len(parts) > 2
                                   else "") + "."
