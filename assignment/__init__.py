"""assignment."""

# conflicts and affinity
from .affinity import (
    AffinityWeights,
    affinity_from_frame,
    compute_affinity,
    main_field_match,
)
from .text import profile_similarity

__all__ = [
    "AffinityWeights",
    "affinity_from_frame",
    "compute_affinity",
    "main_field_match",
    "profile_similarity",
]
