"""Riskboard: the Streamlit entry point. It routes between pages and sets the page config; pages are thin."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Riskboard", page_icon=":material/shield:", layout="wide")

PAGES = [
    st.Page("pages/data.py", title="Data", icon=":material/table:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/privacy.py", title="Privacy", icon=":material/lock:"),
]

st.navigation(PAGES).run()
