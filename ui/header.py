"""The strip at the top of every page: the current dataset, spec and run, and a link to the next step.

One call per page (``page_header("train")``) so every page agrees on what "current" means and where to go next.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.config import get_settings
from ui import state
from ui.text import md_escape
from ui.workflow import Context, Step, current_context, describe, step_after


def _is_routed(path: str) -> bool:
    """True when ``path`` is a page of the running app's router (a page run on its own, as in a unit test, has
    none, and ``st.page_link`` would raise there)."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return False
    return any(str(info.get("script_path", "")).replace("\\", "/").endswith(path)
               for info in ctx.pages_manager.get_pages().values())


def next_step_link(step: Step | None, *, label: str | None = None) -> None:
    """A link to ``step``'s page; as plain text when the page is not routed (never a broken link)."""
    if step is None:
        return
    text = label or f"Next: {step.title}"
    if _is_routed(step.path):
        st.page_link(step.path, label=text, icon=":material/arrow_forward:", help=step.action)
    else:
        st.caption(md_escape(text))


def session_context() -> Context:
    """The session's dataset, spec and run; a run named in the URL (a deep link, a reload) wins over the session's,
    so the header never names another run than the page below it shows."""
    run_id = st.query_params.get(state.RUN_QUERY_PARAM) or st.session_state.get(state.RUN_ID)
    return current_context(get_settings().home, st.session_state.get(state.DATASET_ID),
                           st.session_state.get(state.SPEC_ID), run_id)


def page_header(step_key: str) -> Context:
    """Show where the user stands and the way on; returns the context so the page need not resolve it again."""
    context = session_context()
    line = " · ".join(f"{label}: {text}" for label, text in describe(context))
    left, right = st.columns([3, 2], vertical_alignment="center")
    left.caption(md_escape(line))
    with right:
        next_step_link(step_after(step_key))
    return context
