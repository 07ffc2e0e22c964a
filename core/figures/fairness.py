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
    fig.update_layout(title={"text": title, "subtitle": {"text": wrap_lines(subtitle, 75)}}, xaxis_title=x_title,
                      yaxis_title=y_title, template=TEMPLATE, margin={"t": 110, "b": 90}, **extra)
    return fig


def group_bars_figure(report: FairnessReport, metric: str = "selection_rate") -> go.Figure:
    """One bar per group with its 95% interval; grey bars are groups with not enough data."""
    label = METRIC_LABELS.get(metric, metric)
    names, values, plus, minus, colors, texts = [], [], [], [], [], []
    for group in report.groups:
        value = _num(group.metrics.get(metric))
        low, high = (_num(v) for v in group.intervals.get(metric, (None, None)))
        names.append(plot_text(group.group))
        values.append(value)
        plus.append(None if value is None or high is None else max(high - value, 0.0))
        minus.append(None if value is None or low is None else max(value - low, 0.0))
        colors.append(SMALL_COLOR if group.small else GROUP_COLOR)
        shown = "undefined" if value is None else f"{value:.2f}"
        texts.append(f"{shown} (n={group.count:,}{', not enough data' if group.small else ''})")
    fig = go.Figure(go.Bar(x=names, y=values, marker={"color": colors}, text=texts, textposition="outside",
                           error_y={"type": "data", "symmetric": False, "array": plus, "arrayminus": minus},
                           name=label, hovertemplate="%{x}: %{text}<extra></extra>"))
    slicing = plot_text(report.slicing) if report.slicing else "group"
    return _layout(fig, f"{label.split(' (')[0].capitalize()} by {slicing}",
                   f"Bars show the 95% interval from {report.resamples:,} bootstrap resamples of "
                   f"{report.rows:,} rows. Grey: fewer than {report.min_group:,} rows or too wide an interval, "
                   "so not ranked.", slicing, label, yaxis={"rangemode": "tozero"}, showlegend=False)


def intersection_heatmap_figure(report: FairnessReport, metric: str = "selection_rate") -> go.Figure:
    """Rows = first column's groups, columns = second's; cells with not enough data are greyed, not coloured."""
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
        text[i][j] = f"{shown}<br>n={group.count:,}" + ("<br>(too few)" if group.small else "")
        if group.small:
            small[i][j] = 1.0
        elif v is not None:
            value[i][j] = v
    x, y = [plot_text(c) for c in cols], [plot_text(r) for r in rows]
    grey = [[text[i][j] if not math.isnan(small[i][j]) else "" for j in range(len(cols))] for i in range(len(rows))]
    fig = go.Figure()
    fig.add_trace(go.Heatmap(z=small.tolist(), x=x, y=y, text=grey, texttemplate="%{text}", showscale=False,
                             colorscale=[[0, SMALL_COLOR], [1, SMALL_COLOR]], name="not enough data",
                             hovertemplate="%{y} × %{x}: %{text}<extra></extra>"))
    fig.add_trace(go.Heatmap(z=[[None if math.isnan(v) else v for v in row] for row in value], x=x, y=y,
                             text=text, texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
                             colorbar={"title": {"text": metric}}, name=label,
                             hovertemplate="%{y} × %{x}: %{text}<extra></extra>"))
    names = report.slicing.split(INTERSECTION_SEP) if report.slicing else ["group", ""]
    return _layout(fig, f"{label.split(' (')[0].capitalize()} by {plot_text(report.slicing or 'group')}",
                   f"Each cell is one intersection with its test-set size; grey cells have fewer than "
                   f"{report.min_group:,} rows or too wide an interval to tell.",
                   plot_text(names[-1]), plot_text(names[0]))


def fairness_accuracy_figure(points: Sequence[Mapping[str, Any]], *, gap_name: str = "demographic parity "
                             "difference") -> go.Figure:
    """Every run of a dataset: accuracy against its disparity (with interval); lower right is better.

    Each point is ``{"run_id", "label", "accuracy", "gap", "gap_low", "gap_high", "kind"}``.
    """
    fig = go.Figure()
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for point in points:
        by_kind.setdefault(str(point.get("kind", "run")), []).append(point)
    for kind, items in sorted(by_kind.items()):
        gaps = [_num(p.get("gap")) for p in items]
        fig.add_trace(go.Scatter(
            x=gaps, y=[_num(p.get("accuracy")) for p in items], mode="markers+text", name=plot_text(kind),
            text=[plot_text(p.get("label", p.get("run_id", ""))) for p in items], textposition="top center",
            error_x={"type": "data", "symmetric": False,
                     "array": [None if g is None or _num(p.get("gap_high")) is None else _num(p["gap_high"]) - g
                               for g, p in zip(gaps, items, strict=True)],
                     "arrayminus": [None if g is None or _num(p.get("gap_low")) is None else g - _num(p["gap_low"])
                                    for g, p in zip(gaps, items, strict=True)]},
            marker={"size": 11}, hovertemplate="%{text}: gap %{x:.3f}, accuracy %{y:.3f}<extra></extra>"))
    if not points:
        fig.add_annotation(text="No finished runs with fairness results yet", showarrow=False, xref="paper",
                           yref="paper", x=0.5, y=0.5)
    return _layout(fig, "Fairness and accuracy of every run on this dataset",
                   f"Further left is fairer (smaller {gap_name}), higher is more accurate; whiskers are 95% "
                   "intervals of the gap on each run's test set.", gap_name, "test accuracy",
                   legend={"orientation": "h", "y": -0.25})
