"""Reading and validating a call folder (see DESIGN.md, "Call folder")."""

from evalpanel.callfolder.model import CallConfig, CallFolder, Lot

__all__ = ["CallConfig", "CallFolder", "Lot"]
