"""assignment."""

# conflicts and affinity
from .affinity import (
    AffinityWeights,
    affinity_from_frame,
    compute_affinity,
    main_field_match,
)
from .conflicts import REASONS, conflict_mask, find_conflicts
from .text import profile_similarity

__all__ = [
    "REASONS",
    "AffinityWeights",
    "affinity_from_frame",
    "compute_affinity",
    "conflict_mask",
    "find_conflicts",
    "main_field_match",
    "profile_similarity",
]
