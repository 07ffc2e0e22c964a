"""Small result tables as HTML (``st.table``): a canvas-drawn grid (``st.dataframe``) cannot wrap, so at 1024 px it
cuts long names and pushes numbers past its right edge, where a stakeholder never scrolls. An HTML table wraps its
text, every cell is text in the page (the browser suite checks it like any other text), and every number is written
by the one formatter, ``core.text.format_number``, so a column never mixes 0.625 with 0.7185. An HTML table has no
CSV download, so no cell can reach a spreadsheet; its cells render Markdown, so text is escaped to show as typed."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.text import format_number
from ui.text import md_escape


def cell_text(value: object, digits: int = 3) -> str:
    """A cell as shown: numbers by ``format_number`` (whole numbers with thousands separators), text as is."""
    shown = format_number(value, digits)
    return str(value) if shown is None else shown


def show_table(frame: pd.DataFrame, *, digits: int = 3, container=st) -> None:
    """``frame`` as a wrapping HTML table without its index, numbers with ``digits`` decimals."""
    container.table(pd.DataFrame({md_escape(c): [md_escape(cell_text(v, digits)) for v in frame[c].tolist()]
                                  for c in frame.columns}))


def text_width(values: object) -> int:
    """Pixels a canvas-drawn grid column needs for its longest text (Streamlit's 14 px font averages under 7.2 px a
    character; 8 px of padding a side), so a long run name is never cut at the column's edge."""
    return int(max((len(str(v)) for v in values), default=4) * 7.2) + 24
