"""Riskboard: the Streamlit entry point. It routes between pages and sets the page config; pages are thin."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.at_rest import plaintext_notice
from ui.auth import gate_page, require_sign_in, sign_out_control
from ui.chrome import app_chrome

# a local image, served by this app: an emoji or icon name makes the browser fetch the favicon from a CDN
ICON = Path(__file__).resolve().parent / "ui" / "riskboard-icon.png"
st.set_page_config(page_title="Riskboard", page_icon=str(ICON), layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/table:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/explain.py", title="Explain", icon=":material/insights:"),
    st.Page("pages/fairness.py", title="Fairness", icon=":material/balance:"),
    st.Page("pages/privacy.py", title="Privacy", icon=":material/lock:"),
    st.Page("pages/report.py", title="Report", icon=":material/description:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/activity.py", title="Activity", icon=":material/history:"),
]

# the sign-in gate runs before any page: a visitor who is not signed in reaches only the gate's own page
if require_sign_in() is None:
    st.navigation([st.Page(gate_page, title="Sign in", url_path="sign-in")], position="hidden").run()
else:
    app_chrome()
    page = st.navigation(PAGES)
    sign_out_control()
    plaintext_notice()
    page.run()
