"""The class a multiclass view looks at (one-vs-rest): one picker shared by the Fairness, Explain and Report pages,
so every page offers the same choice with the same default (the run's positive class)."""

from __future__ import annotations

import streamlit as st

from core.errors import RiskboardError
from core.training import artifacts
from ui.loaders import run_store
from ui.text import md_escape

CLASS_KEY = "class-{page}-{run_id}"


def class_picker(run_id: str, page: str, *, container=None, help_text: str | None = None) -> str | None:
    """A class selectbox for a run with 3+ classes (default its positive class); None for a binary run or one whose
    labels cannot be read (the page then shows the positive class, as before)."""
    try:
        classes, positive = artifacts.load_labels(run_store().artifacts(run_id))
    except (RiskboardError, OSError):
        return None
    if len(classes) <= 2:
        return None
    where = container or st
    return where.selectbox("Class", list(classes), index=positive, key=CLASS_KEY.format(page=page, run_id=run_id),
                           format_func=md_escape,
                           help=help_text or "Multiclass run: this view treats the chosen class as positive and "
                                             "every other class as negative (one-vs-rest).")
