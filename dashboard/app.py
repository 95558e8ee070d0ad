"""The evalpanel dashboard (use ``evalpanel dashboard``, which starts Streamlit on
``dashboard/serve/app.py``; that script runs this one, see why there).

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
import numpy as np  # noqa: E402
import scipy.sparse.linalg  # noqa: E402, F401
import streamlit as st  # noqa: E402
from PIL import Image  # noqa: E402

from dashboard import cached, invite, login, warm  # noqa: E402
from dashboard.common import engine, error_boundary  # noqa: E402
from dashboard.context import CHOSEN, show_call  # noqa: E402
from dashboard.downloads import disable_table_export  # noqa: E402
from dashboard.nav import pages_for  # noqa: E402


def _icon() -> Image.Image:
    """A balance drawn as pixels: served by the dashboard itself (a ``:material/...:`` page icon
    is fetched from fonts.gstatic.com by every visitor's browser)."""
    icon = np.zeros((32, 32, 4), dtype=np.uint8)
    icon[..., :3] = (21, 101, 192)
    icon[6:9, 4:28, 3] = icon[6:28, 15:17, 3] = icon[25:28, 9:23, 3] = 255  # beam, post, foot
    icon[9:18, 5:7, 3] = icon[9:18, 25:27, 3] = icon[17:19, 2:10, 3] = icon[17:19, 22:30, 3] = 255
    return Image.fromarray(icon, "RGBA")


warm.start()  # the pages' heavy imports, while the sign-in page waits for its user
st.set_page_config(page_title="evalpanel", page_icon=_icon(), layout="wide")
disable_table_export()

# One error boundary around the sign-in and every page (see dashboard.common.error_boundary).
with error_boundary():
    current = login.current_session(engine())
    if current is None and invite.pending_link():  # a one-time link, before sign-in
        st.navigation([st.Page(invite.link_page, title="Welcome", icon=":material/key:")]).run()
    elif current is None:
        st.navigation([st.Page(login.login_page, title="Sign in", icon=":material/login:")]).run()
    else:
        login.sidebar(engine(), current)
        invite.signed_in(engine(), current)
        invite.show_note()
        navigation = st.navigation(pages_for(current.actor.role))
        if current.actor.role in ("manager", "expert"):
            show_call()
        chosen = st.session_state.get(CHOSEN)
        if current.actor.role == "manager" and chosen:
            cached.prefetch(str(chosen))  # the heavy pages' reads, ahead of their first visit
        with cached.page_run():  # the prefetch waits until the page has run
            navigation.run()
