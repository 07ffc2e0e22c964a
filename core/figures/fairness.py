"""Fairness figures: per-group bars with interval error bars, an intersectional heatmap, and the fairness-accuracy
chart over a dataset's runs. Pure builders: a :class:`FairnessReport` (or plain points) in, ``go.Figure`` out.

Groups with not enough data are drawn in grey and labelled so; their bars stay visible (hiding them would hide the
people the data knows least about) but the reader is told they are not ranked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from core.fairness import INTERSECTION_SEP, FairnessReport
from core.figures._text import plot_text, wrap_lines

GROUP_COLOR = "#1f77b4"
SMALL_COLOR = "#bdbdbd"
TEMPLATE = "plotly_white"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
KIND_WORDS = {"train": "trained here", "import": "imported scores", "mitigated": "mitigated"}
METRIC_LABELS = {
    "selection_rate": "selection rate (share decided positive)",
    "base_rate": "base rate (share actually positive)",
    "accuracy": "accuracy",
    "tpr": "true positive rate (actual positives selected)",
    "fpr": "false positive rate (actual negatives selected)",
    "fnr": "false negative rate (actual positives missed)",
    "precision": "precision (selected who are actually positive)",
    "roc_auc": "ROC AUC (ranking quality)",
    "mean_score": "mean score",
}


def _num(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def _layout(fig: go.Figure, title: str, subtitle: str, x_title: str, y_title: str, **extra: Any) -> go.Figure:
    settings = {"margin": {"t": 110, "b": 90}} | extra
    fig.update_layout(title={"text": title, "subtitle": {"text": wrap_lines(subtitle, 75)}}, template=TEMPLATE,
                      **settings)
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def group_bars_figure(report: FairnessReport, metric: str = "selection_rate") -> go.Figure:
    """One bar per group with its 95% interval; grey bars are groups with not enough data. Many groups (an
    intersection) become horizontal bars, so every group name stays readable on its own line."""
    label = METRIC_LABELS.get(metric, metric)
    names, values, plus, minus, colors, texts, hovers = [], [], [], [], [], [], []
    for group in report.groups:
        value = _num(group.metrics.get(metric))
        low, high = (_num(v) for v in group.intervals.get(metric, (None, None)))
        names.append(plot_text(group.group))
        values.append(value)
        plus.append(None if value is None or high is None else max(high - value, 0.0))
        minus.append(None if value is None or low is None else max(value - low, 0.0))
        colors.append(SMALL_COLOR if group.small else GROUP_COLOR)
        shown = "undefined" if value is None else f"{value:.2f}"
        texts.append(shown + (" (too few)" if group.small else ""))
        hovers.append(f"{shown}, {group.count:,} rows{', not enough data to rank' if group.small else ''}")
    horizontal = len(names) > 6
    error = {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus, "color": "#555"}
    bar = go.Bar(x=values if horizontal else names, y=names if horizontal else values, marker={"color": colors},
                 orientation="h" if horizontal else "v", text=texts, cliponaxis=False, textfont={"size": 13},
                 # at the bar's base, clear of the whisker that an "outside" label at the bar's end sat under
                 textposition="inside", insidetextanchor="start", constraintext="none", textangle=0,
                 customdata=hovers, name=label,
                 hovertemplate=("%{y}" if horizontal else "%{x}") + ": %{customdata}<extra></extra>",
                 **({"error_x": error} if horizontal else {"error_y": error}))
    fig = go.Figure(bar)
    slicing = plot_text(report.slicing) if report.slicing else "group"
    value_axis = {"rangemode": "tozero", "automargin": True}
    extra = ({"xaxis": value_axis, "yaxis": {"automargin": True, "autorange": "reversed"},
              "height": 160 + 30 * len(names)} if horizontal else
             {"yaxis": value_axis, "xaxis": {"automargin": True, "tickangle": -30 if len(names) > 3 else 0}})
    return _layout(fig, f"{label.split(' (')[0].capitalize()} by {slicing}",
                   f"Whiskers show the 95% interval from {report.resamples:,} bootstrap resamples of "
                   f"{report.rows:,} rows. Grey: fewer than {report.min_group:,} rows or too wide an interval, "
                   "so not ranked.", label if horizontal else slicing, slicing if horizontal else label,
                   showlegend=False, **extra)


def intersection_heatmap_figure(report: FairnessReport, metric: str = "selection_rate") -> go.Figure:
    """Rows = first column's groups, columns = second's; cells with not enough data are greyed, not coloured.
    Cell text is large enough to read (13 px) and the axis labels are angled and given room, never overprinted."""
    label = METRIC_LABELS.get(metric, metric)
    parts = [g.group.split(INTERSECTION_SEP, 1) for g in report.groups]
    rows = sorted({p[0] for p in parts})
    cols = sorted({p[1] if len(p) > 1 else "" for p in parts})
    value = np.full((len(rows), len(cols)), np.nan)
    small = np.full((len(rows), len(cols)), np.nan)
    text = [["" for _ in cols] for _ in rows]
    for group, part in zip(report.groups, parts, strict=True):
        i, j = rows.index(part[0]), cols.index(part[1] if len(part) > 1 else "")
        v = _num(group.metrics.get(metric))
        shown = "—" if v is None else f"{v:.2f}"
        text[i][j] = f"{shown}<br>n={group.count:,}" + ("<br>too few" if group.small else "")
        if group.small:
            small[i][j] = 1.0
        elif v is not None:
            value[i][j] = v
    x, y = [plot_text(c) for c in cols], [plot_text(r) for r in rows]
    grey = [[text[i][j] if not math.isnan(small[i][j]) else "" for j in range(len(cols))] for i in range(len(rows))]
    fig = go.Figure()
    fig.add_trace(go.Heatmap(z=small.tolist(), x=x, y=y, text=grey, texttemplate="%{text}", showscale=False,
                             colorscale=[[0, SMALL_COLOR], [1, SMALL_COLOR]], name="not enough data",
                             textfont={"size": 13}, xgap=2, ygap=2,
                             hovertemplate="%{y} × %{x}: %{text}<extra></extra>"))
    fig.add_trace(go.Heatmap(z=[[None if math.isnan(v) else v for v in row] for row in value], x=x, y=y,
                             text=text, texttemplate="%{text}", textfont={"size": 13}, colorscale="Blues", zmin=0,
                             zmax=1, xgap=2, ygap=2, colorbar={"title": {"text": label.split(" (")[0]}},
                             name=label, hovertemplate="%{y} × %{x}: %{text}<extra></extra>"))
    names = report.slicing.split(INTERSECTION_SEP) if report.slicing else ["group", ""]
    return _layout(fig, f"{label.split(' (')[0].capitalize()} by {plot_text(report.slicing or 'group')}",
                   f"Each cell is one intersection with its test-set size; grey cells have fewer than "
                   f"{report.min_group:,} rows or too wide an interval to tell.",
                   plot_text(names[-1]), plot_text(names[0]), height=max(380, 150 + 62 * len(rows)),
                   xaxis={"tickangle": -30 if len(cols) > 3 else 0, "automargin": True, "side": "bottom"},
                   yaxis={"automargin": True})


def fairness_accuracy_figure(points: Sequence[Mapping[str, Any]], *, gap_name: str = "demographic parity "
                             "difference") -> go.Figure:
    """Every run of a dataset: accuracy against its disparity (with interval); lower right is better.

    Each point is ``{"run_id", "label", "accuracy", "gap", "gap_low", "gap_high", "kind"}``.
    """
    fig = go.Figure()
    symbols = {"trained here": "circle", "mitigated": "diamond", "imported scores": "square"}
    for number, point in enumerate(points, start=1):
        kind = KIND_WORDS.get(str(point.get("kind")), "other runs")
        gap, high, low = _num(point.get("gap")), _num(point.get("gap_high")), _num(point.get("gap_low"))
        name = plot_text(point.get("label", point.get("run_id", "")))
        fig.add_trace(go.Scatter(
            x=[gap], y=[_num(point.get("accuracy"))], mode="markers+text", text=[str(number)],
            textposition="middle center", textfont={"color": "white", "size": 11}, name=f"{number}. {name}",
            legendgroup=kind, legendgrouptitle={"text": kind},
            error_x={"type": "data", "symmetric": False, "array": [None if gap is None or high is None else high - gap],
                     "arrayminus": [None if gap is None or low is None else gap - low], "color": "#999"},
            marker={"size": 20, "symbol": symbols.get(kind, "circle"), "color": PALETTE[(number - 1) % len(PALETTE)]},
            hovertext=[f"{number}. {name}"],
            hovertemplate="%{hovertext}: gap %{x:.3f}, accuracy %{y:.3f}<extra></extra>"))
    if not points:
        fig.add_annotation(text="No finished runs with fairness results yet", showarrow=False, xref="paper",
                           yref="paper", x=0.5, y=0.5)
    return _layout(fig, "Fairness and accuracy of every run on this dataset",
                   f"Further left is fairer (smaller {gap_name}), higher is more accurate; whiskers are 95% "
                   "intervals of the gap on each run's test set.", gap_name, "test accuracy",
                   legend={"orientation": "v", "yanchor": "top", "y": -0.25, "x": 0},
                   height=460 + 24 * len(points), margin={"t": 110, "b": 90 + 24 * len(points)})
