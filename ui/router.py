"""Keep every visit on app.py's ``st.navigation`` router.

Streamlit still has a legacy mode for apps with a ``pages/`` folder: when a fresh server's first visitor opens a
page URL directly (``/train``), it runs that page script on its own, app.py never runs, and the whole server stays
in the legacy mode (lower-case page names, no page config). Our pages live in ``pages/`` by design, so each page
calls :func:`require_app_router` first: in legacy mode it switches the flag off and reruns, and the rerun goes
through app.py and lands on the same page.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def require_app_router() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
