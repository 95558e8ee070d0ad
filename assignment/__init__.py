"""assignment."""

# solvers
from assignment.instance import AssignmentInstance, InstanceError, build_instance
from assignment.reassign import Reassignment, reassign
from assignment.result import AssignmentResult
from assignment.solvers import assign

__all__ = [
    "AssignmentInstance",
    "AssignmentResult",
    "InstanceError",
    "Reassignment",
    "assign",
    "build_instance",
    "reassign",
]
