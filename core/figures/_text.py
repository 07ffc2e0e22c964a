"""Text that goes into plotly figures. Plotly renders a subset of HTML in titles, labels and hover text
(``<b>``, ``<a href>``, ``<br>``), so every user-supplied string (column names, class labels, group values) is
escaped before it reaches a figure; plotly decodes the entities back to the characters for display."""

from __future__ import annotations

import html
import textwrap


def plot_text(value: object) -> str:
    """A user value shown literally in a figure: ``<b>x</b>`` stays those characters, never bold text."""
    return html.escape(str(value), quote=False)


def wrap_lines(text: str, width: int = 80) -> str:
    """Break our own long sentences into lines for subtitles (plotly does not wrap text)."""
    return "<br>".join(textwrap.wrap(text, width=width)) or text


def legend_text(value: object, width: int) -> str:
    """A user-named legend entry (a run name) broken into lines of at most ``width`` characters, each escaped:
    plotly never wraps legend text, so a long name would otherwise run out of a narrow chart."""
    lines = textwrap.wrap(str(value), width=width, break_long_words=False, break_on_hyphens=False)
    return "<br>".join(plot_text(line) for line in lines) or plot_text(value)
