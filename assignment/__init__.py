"""assignment: conflicts of interest, expertise affinity, the instance, solvers, diagnostics.

A pure package: polars frames and numpy arrays in, results out; no I/O, no database.

- conflicts: :func:`find_conflicts` -> frame ``proposal_id, expert_id, reason, detail`` (hard
  exclusions), :func:`find_potential_conflicts` -> the same columns (likely name matches);
  :func:`excluded_pairs`, the hard exclusions of given pairs (the rule every new task is
  checked by); :func:`conflict_set` -> :class:`Conflicts`, the same exclusions as integers (for
  the instance and the counts; ``.frame()`` gives the rows);
- affinity: :func:`compute_affinity` -> (P, E) float32 in [0, 1], :func:`affinity_from_frame`;
- instance: :func:`build_instance` -> :class:`AssignmentInstance` (owns ids and orientation);
- solving: :func:`assign` (``max-total``, ``fair``, ``randomized``) -> :class:`AssignmentResult`;
- repair: :func:`reassign` -> :class:`Reassignment`.
"""

from assignment.affinity import (
    AffinityWeights,
    affinity_from_frame,
    compute_affinity,
    main_field_match,
)
from assignment.conflict_set import Conflicts
from assignment.conflicts import (
    POTENTIAL_REASON,
    REASONS,
    conflict_mask,
    conflict_set,
    excluded_pairs,
    find_conflicts,
    find_potential_conflicts,
)
from assignment.instance import AssignmentInstance, InstanceError, build_instance
from assignment.reassign import Reassignment, reassign
from assignment.result import AssignmentResult
from assignment.solvers import assign
from assignment.text import profile_similarity

__all__ = [
    "POTENTIAL_REASON",
    "REASONS",
    "AffinityWeights",
    "AssignmentInstance",
    "AssignmentResult",
    "Conflicts",
    "InstanceError",
    "Reassignment",
    "affinity_from_frame",
    "assign",
    "build_instance",
    "compute_affinity",
    "conflict_mask",
    "conflict_set",
    "excluded_pairs",
    "find_conflicts",
    "find_potential_conflicts",
    "main_field_match",
    "profile_similarity",
    "reassign",
]
