"""Metric tiles that wrap into rows instead of shrinking: a value is always shown whole.

``st.columns(7)`` gives each tile a seventh of the page, which at 1024 px is too narrow for "0.873" and Streamlit
shows "0.…". A wrapping horizontal container with tiles of a fixed width keeps every value whole at any width; the
tiles simply flow onto a second row on a projector.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

TILE_WIDTH = 170  # px: fits "Balanced accuracy" and a 6-character value at the default font size


def metric_tiles(items: Iterable[tuple[str, str]], *, help_texts: dict[str, str] | None = None) -> None:
    """One bordered tile per (label, value), flowing left to right and wrapping onto new rows."""
    with st.container(horizontal=True, wrap=True, gap="small"):
        for label, value in items:
            st.metric(label, value, border=True, width=TILE_WIDTH, help=(help_texts or {}).get(label))
