"""The app's own page chrome, set once in app.py: a narrower sidebar on laptop-width screens.

Streamlit's sidebar is 300 px wide, which at 1024 px leaves the Data page's two charts 274 px each. Below 1400 px the
sidebar takes 220 px (the longest page name still fits) and the page's side margins shrink to 2 rem; wider
screens keep Streamlit's defaults. Static CSS only:
no user text ever goes into this HTML.
"""

from __future__ import annotations

import streamlit as st

SIDEBAR_CSS = """<style>
@media (max-width: 1400px) {
  section[data-testid="stSidebar"] {width: 220px !important; min-width: 220px !important;}
  [data-testid="stMainBlockContainer"] {padding-left: 2rem !important; padding-right: 2rem !important;}
}
</style>"""


def app_chrome() -> None:
    st.html(SIDEBAR_CSS)
