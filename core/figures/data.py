"""Figures for the Data page: how balanced the target is and how big each audited group is."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.figures._text import plot_text

POSITIVE_COLOR = "#c0392b"
OTHER_COLOR = "#1f4e79"
SMALL_COLOR = "#e67e22"


def _label_positions(values: list[int], *, short: float = 0.2) -> list[str]:
    """Labels inside long bars, outside short ones (a label squeezed into a short bar is unreadable)."""
    top = max(values, default=0) or 1
    return ["outside" if v < short * top else "inside" for v in values]


def class_balance_figure(counts: pd.Series, positive_class: str | None = None) -> go.Figure:
    """Bar per target class with its row count and share; the positive class is highlighted."""
    raw = [str(i) for i in counts.index]
    labels = [plot_text(label) for label in raw]
    values = [int(v) for v in counts.to_numpy()]
    total = sum(values) or 1
    colors = [POSITIVE_COLOR if label == positive_class else OTHER_COLOR for label in raw]
    fig = go.Figure(go.Bar(
        x=labels, y=values, marker_color=colors,
        text=[f"{v:,} ({v / total:.1%})" for v in values], textposition=_label_positions(values),
        insidetextanchor="middle", cliponaxis=False,
        hovertemplate="%{x}: %{y:,} rows<extra></extra>",
    ))
    title = "Target classes" + (f" (positive: {plot_text(positive_class)})" if positive_class else "")
    fig.update_layout(title=title, xaxis_title="class", yaxis_title="rows", showlegend=False,
                      margin={"t": 50, "b": 40, "l": 50, "r": 10}, height=320, uniformtext={"minsize": 11})
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[0, max(values, default=1) * 1.15])  # room for labels above short bars
    return fig


PANEL_GAP_PX = 64  # between panels: room for the next panel's title below the axis above
BAR_PX = 26
PANEL_PAD_PX = 40


def group_sizes_figure(groups: Mapping[str, pd.Series], *, min_size: int = 20) -> go.Figure:
    """One panel per sensitive column: rows per group, groups under ``min_size`` drawn in orange as a warning.

    Each panel is as tall as its bars need and panels are a fixed number of pixels apart, so a subplot title never
    lands on the tick labels of the panel above, however many groups each has. Counts sit inside long bars and
    just outside short ones, with the axis extended so an outside label is never clipped.
    """
    names = list(groups)
    heights = [len(groups[n]) * BAR_PX + PANEL_PAD_PX for n in names] or [PANEL_PAD_PX]
    gaps = PANEL_GAP_PX * max(0, len(heights) - 1)
    plot_px = sum(heights) + gaps
    fig = make_subplots(rows=max(1, len(names)), cols=1, subplot_titles=[plot_text(n) for n in names] or ["no groups"],
                        row_heights=[h / sum(heights) for h in heights],
                        vertical_spacing=(PANEL_GAP_PX / plot_px) if len(names) > 1 else 0.0)
    for row, name in enumerate(names, start=1):
        sizes = groups[name]
        labels = [plot_text(i) for i in sizes.index]
        values = [int(v) for v in sizes.to_numpy()]
        fig.add_trace(go.Bar(
            x=values, y=labels, orientation="h", name=plot_text(name),
            marker_color=[SMALL_COLOR if v < min_size else OTHER_COLOR for v in values],
            text=[f"{v:,}" + (" (small)" if v < min_size else "") for v in values],
            textposition=_label_positions(values, short=0.3), cliponaxis=False,
            hovertemplate="%{y}: %{x:,} rows<extra></extra>",
        ), row=row, col=1)
        fig.update_yaxes(type="category", autorange="reversed", row=row, col=1)
        fig.update_xaxes(range=[0, max(values, default=1) * 1.3], row=row, col=1)
    fig.update_xaxes(title_text="rows", row=max(1, len(names)), col=1)
    top, bottom = 80, 45
    # the note on its own line: a half-width chart at 1024 px has no room for it beside the title
    fig.update_layout(title={"text": "Group sizes", "subtitle": {"text": f"orange: fewer than {min_size} rows"}},
                      showlegend=False,
                      height=plot_px + top + bottom, margin={"t": top, "b": bottom, "l": 120, "r": 20})
    return fig
