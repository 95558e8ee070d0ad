"""Reading and validating a call folder (see DESIGN.md, "Call folder")."""

from evalpanel.callfolder.model import CallConfig, CallFolder, Lot
from evalpanel.callfolder.problems import CallFolderError, Problem
from evalpanel.callfolder.reader import read_call
from evalpanel.callfolder.vocab import isced_label

__all__ = [
    "CallConfig",
    "CallFolder",
    "CallFolderError",
    "Lot",
    "Problem",
    "isced_label",
    "read_call",
]
