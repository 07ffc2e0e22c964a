"""Explain page: SHAP values for a trained run (importance with stability, beeswarm, dependence, by group) and the
what-if editor. Thin: the numbers come from ``core.explain``, the figures from ``core.figures.explain``."""

from __future__ import annotations

import streamlit as st

from core import jobs
from core.config import get_settings
from ui import explain_view
from ui.class_picker import class_picker
from ui.feedback import user_errors
from ui.header import page_header
from ui.loaders import run_store
from ui.router import require_app_router

require_app_router()
st.title("Explain")
context = page_header("explain")
st.caption("Which features move the model's score, for the whole test set and for one row. SHAP values are in "
           "log-odds of the positive class (for 3+ classes, the logit of the class chosen below): the base value plus "
           "a row's SHAP values is exactly its score.")

settings = get_settings()
runs = run_store()
with user_errors():
    jobs.refresh(runs, settings)
    run_id = explain_view.pick_run(runs, fallback=context.run.id if context.run else None)
    if run_id:
        class_name = class_picker(run_id, "explain", help_text="Multiclass run: the SHAP values explain this "
                                  "class's logit (its score before the softmax), so each class can be read on its own.")
        run = explain_view.loaded_run(str(settings.home), run_id, class_name)
        rows, background, seed, summary = explain_view.settings(len(run.test), agnostic=run.agnostic)
        result = explain_view.compute(runs, run, rows, background, seed, summary)
        explain_view.summary(result, run)
        explain_view.views(result, run)
        with user_errors():
            explain_view.whatif(result, run, background, seed)
