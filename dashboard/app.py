"""The evalpanel dashboard (``streamlit run dashboard/app.py``; use ``evalpanel dashboard``).

Sign-in comes first; the navigation is then built for the signed-in role only (see
:mod:`dashboard.nav`), so pages of other roles are not reachable by URL.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

# scipy's sparse linear algebra is imported by the scoring package only when leniency is fitted;
# the server imports it once at start so that the reliability page's first visit does not pay it
import scipy.sparse.linalg  # noqa: E402, F401
import streamlit as st  # noqa: E402

from dashboard import login  # noqa: E402
from dashboard.common import engine, error_boundary  # noqa: E402
from dashboard.nav import pages_for  # noqa: E402

st.set_page_config(page_title="evalpanel", page_icon=":material/balance:", layout="wide")

# One error boundary around the sign-in and every page (see dashboard.common.error_boundary).
with error_boundary():
    current = login.current_session(engine())
    if current is None:
        st.navigation([st.Page(login.login_page, title="Sign in", icon=":material/login:")]).run()
    else:
        login.sidebar(engine(), current)
        st.navigation(pages_for(current.actor.role)).run()
