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


def class_balance_figure(counts: pd.Series, positive_class: str | None = None) -> go.Figure:
    """Bar per target class with its row count and share; the positive class is highlighted."""
    raw = [str(i) for i in counts.index]
    labels = [plot_text(label) for label in raw]
    values = [int(v) for v in counts.to_numpy()]
    total = sum(values) or 1
    colors = [POSITIVE_COLOR if label == positive_class else OTHER_COLOR for label in raw]
    fig = go.Figure(go.Bar(
        x=labels, y=values, marker_color=colors,
        text=[f"{v:,} ({v / total:.1%})" for v in values], textposition="auto",
        hovertemplate="%{x}: %{y:,} rows<extra></extra>",
    ))
    title = "Target classes" + (f" (positive: {plot_text(positive_class)})" if positive_class else "")
    fig.update_layout(title=title, xaxis_title="class", yaxis_title="rows", showlegend=False,
                      margin={"t": 50, "b": 40, "l": 50, "r": 10}, height=320)
    fig.update_xaxes(type="category")
    return fig


def group_sizes_figure(groups: Mapping[str, pd.Series], *, min_size: int = 20) -> go.Figure:
    """One panel per sensitive column: rows per group, groups under ``min_size`` drawn in orange as a warning."""
    names = list(groups)
    fig = make_subplots(rows=max(1, len(names)), cols=1, subplot_titles=[plot_text(n) for n in names] or ["no groups"],
                        vertical_spacing=0.12 if len(names) > 1 else 0.1)
    for row, name in enumerate(names, start=1):
        sizes = groups[name]
        labels = [plot_text(i) for i in sizes.index]
        values = [int(v) for v in sizes.to_numpy()]
        fig.add_trace(go.Bar(
            x=values, y=labels, orientation="h", name=plot_text(name),
            marker_color=[SMALL_COLOR if v < min_size else OTHER_COLOR for v in values],
            text=[f"{v:,}" + (" (small)" if v < min_size else "") for v in values], textposition="auto",
            hovertemplate="%{y}: %{x:,} rows<extra></extra>",
        ), row=row, col=1)
        fig.update_yaxes(type="category", autorange="reversed", row=row, col=1)
    fig.update_layout(title=f"Group sizes (orange: fewer than {min_size} rows)", showlegend=False,
                      height=max(260, 200 * len(names)), margin={"t": 70, "b": 30, "l": 120, "r": 10})
    return fig
