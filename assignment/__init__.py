"""assignment."""

# solvers
from assignment.instance import AssignmentInstance as AssignmentInstance
from assignment.instance import InstanceError as InstanceError
from assignment.instance import build_instance as build_instance
from assignment.reassign import Reassignment as Reassignment
from assignment.reassign import reassign as reassign
from assignment.result import AssignmentResult as AssignmentResult
from assignment.solvers import assign as assign
