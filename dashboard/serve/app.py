"""The script ``evalpanel dashboard`` hands to Streamlit: it runs ``dashboard/app.py``.

Streamlit treats a ``pages/`` folder next to its main script as the old multipage layout until
the script first calls ``st.navigation``: the first visit of a fresh server to a page's address
(``/manager_overview``) would then run that page file on its own, before the sign-in, the role's
navigation and the error boundary, and list every page in the sidebar. This folder has no
``pages/``, so every run goes through ``dashboard/app.py``.
"""

from __future__ import annotations

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parent.parent / "app.py"), run_name="__main__")
