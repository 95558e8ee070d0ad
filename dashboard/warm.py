"""Imports that the pages need, done once per server process in a background thread started by
the first run of the app (the sign-in page), so that the first page after a sign-in does not
pay them: pandas and altair (Streamlit imports them lazily, at a page's first table or chart:
about 2 s together on these machines), the workflow with its engines, and the cached reads.

The thread only imports modules; it reads nothing and touches no session. Python's import lock
makes a page that needs one of these modules meanwhile wait for it rather than import it twice.
"""

from __future__ import annotations

import importlib
import threading

MODULES = ("pandas", "altair", "pyarrow", "evalpanel.workflow", "evalpanel.ranking",
           "evalpanel.quality", "dashboard.cached", "dashboard.tables", "dashboard.paging")
_started = threading.Event()


def _import_all() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # a page importing it later reports the problem
            return


def start() -> threading.Thread | None:
    """Start the imports once per process (later calls do nothing and return None)."""
    if _started.is_set():
        return None
    _started.set()
    thread = threading.Thread(target=_import_all, name="evalpanel-warm-imports", daemon=True)
    thread.start()
    return thread
