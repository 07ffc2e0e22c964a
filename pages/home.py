"""Home: what Riskboard is for, the workflow as steps, where the user stands, and one button to the next step."""

from __future__ import annotations

import streamlit as st

from core.data.demo import ensure_demo
from ui.auth import can_edit
from ui.feedback import user_errors
from ui.header import _is_routed, session_context
from ui.loaders import dataset_store
from ui.router import require_app_router
from ui.text import md_escape
from ui.workflow import describe, workflow_steps

require_app_router()
st.title("Riskboard")
st.markdown("Riskboard weighs the risks of a classifier trained on a table before anyone relies on it: how well it "
            "really predicts, what drives its scores, whom it treats worse and what it gives away about the people "
            "it was trained on. Bring a table, say what to predict and whom to audit, and every page builds on "
            "that one choice.")

with user_errors():
    store = dataset_store()
    if not store.list() and can_edit():
        ensure_demo(store)  # a first visit has something to look at: the UCI Adult demo and its spec

context = session_context()
steps = workflow_steps()
upcoming = context.next_step()

st.subheader("The workflow")
columns = st.columns(len(steps)) if steps else []
for number, (column, step) in enumerate(zip(columns, steps, strict=True), start=1):
    marker = "→ " if upcoming is not None and step.key == upcoming.key else ""
    column.markdown(f"**{marker}{number}. {md_escape(step.title)}**")
    column.caption(md_escape(step.action))

st.subheader("Where you are")
for label, text in describe(context):
    st.markdown(f"**{label}:** {md_escape(text)}")

if upcoming is not None:
    label = f"Next: {upcoming.title}: {upcoming.action}"
    if st.button(label, type="primary", key="home-next", disabled=not _is_routed(upcoming.path)):
        st.switch_page(upcoming.path)
