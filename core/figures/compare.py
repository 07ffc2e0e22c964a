"""Figures of the Compare page and the risk frontier: data in (a ``Comparison``'s points, histories, evaluations),
``go.Figure`` out. Labels are run names chosen by users, so they pass :func:`plot_text`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from core.figures._text import plot_text, wrap_lines
from core.figures.evaluation import REFERENCE_COLOR, TEMPLATE
from core.jsonsafe import finite

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
NON_PRIVATE_COLOR = "#7f7f7f"


def _layout(fig: go.Figure, title: str, subtitle: str, x_title: str, y_title: str, **extra: Any) -> go.Figure:
    settings: dict[str, Any] = {"margin": {"t": 110, "b": 110}, "hovermode": "closest"} | extra
    fig.update_layout(title={"text": title, "subtitle": {"text": wrap_lines(subtitle, 80)}}, template=TEMPLATE,
                      xaxis_title=x_title, yaxis_title=y_title,
                      legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0}, **settings)
    return fig


def frontier_figure(points: Sequence[Any], pareto: Sequence[str]) -> go.Figure:
    """Test AUC (up is better) against disparity with its interval (left is better); private runs coloured by
    epsilon (log scale), non-private runs grey diamonds at epsilon infinity; Pareto runs ringed and joined; a dotted
    arrow from each parent run to its mitigated child."""
    placed = [p for p in points if p.auc is not None and p.disparity is not None]
    left_out = len(points) - len(placed)
    by_id = {p.run_id: p for p in placed}
    fig = go.Figure()
    for p in placed:  # parent -> child links first, so markers draw over them
        parent = by_id.get(p.parent_id) if p.parent_id else None
        if parent is not None:
            fig.add_annotation(x=p.disparity, y=p.auc, ax=parent.disparity, ay=parent.auc, xref="x", yref="y",
                               axref="x", ayref="y", showarrow=True, arrowhead=3, arrowwidth=1.5,
                               arrowcolor=REFERENCE_COLOR, text="")
    frontier = sorted((p for p in placed if p.run_id in pareto), key=lambda p: p.disparity)
    if len(frontier) > 1:
        fig.add_trace(go.Scatter(x=[p.disparity for p in frontier], y=[p.auc for p in frontier], mode="lines",
                                 name="risk frontier (Pareto set)", line={"color": "#444", "dash": "dot"},
                                 hoverinfo="skip"))
    for private in (True, False):
        group = [p for p in placed if math.isfinite(p.epsilon) == private]
        if not group:
            continue
        low = [p.disparity - p.disparity_interval[0] if p.disparity_interval else 0 for p in group]
        high = [p.disparity_interval[1] - p.disparity if p.disparity_interval else 0 for p in group]
        hover = [f"{plot_text(p.label)}<br>AUC {p.auc:.3f}<br>disparity {p.disparity:.3f}<br>epsilon "
                 f"{'infinity (not private)' if math.isinf(p.epsilon) else f'{p.epsilon:.2f}'}"
                 f"{'<br>on the frontier' if p.run_id in pareto else ''}" for p in group]
        marker: dict[str, Any] = {"size": 16, "line": {"width": [3 if p.run_id in pareto else 0.5 for p in group],
                                                       "color": "#111"}}
        if private:
            marker |= {"color": [math.log10(max(p.epsilon, 1e-3)) for p in group], "colorscale": "Viridis",
                       "colorbar": {"title": {"text": "epsilon"}, "tickvals": [-1, 0, 1, 2],
                                    "ticktext": ["0.1", "1", "10", "100"]}, "symbol": "circle"}
        else:
            marker |= {"color": NON_PRIVATE_COLOR, "symbol": "diamond"}
        fig.add_trace(go.Scatter(
            x=[p.disparity for p in group], y=[p.auc for p in group], mode="markers+text",
            text=[plot_text(p.name or p.run_id[-6:]) for p in group], textposition="top center",
            name="private runs (colour: epsilon)" if private else "non-private runs (epsilon infinity)",
            marker=marker, hovertext=hover, hoverinfo="text",
            error_x={"type": "data", "symmetric": False, "array": high, "arrayminus": low, "color": "#999"}))
    if not placed:
        fig.add_annotation(text="No run has both a test AUC and a disparity yet: compute fairness for the runs.",
                           showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    subtitle = ("Up is more accurate, left is fairer; ringed runs are Pareto-efficient (no run is better on AUC, "
                "disparity and epsilon at once). Bars: 95% interval of the disparity.")
    if left_out:
        subtitle += f" {left_out} run(s) without a disparity are not placed."
    return _layout(fig, "Risk frontier: accuracy, fairness and privacy", subtitle, "Disparity (0 = no gap)",
                   "Test ROC AUC")


def _runs(items: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    return [(plot_text(label), PALETTE[i % len(PALETTE)], value) for i, (label, value) in enumerate(items.items())]


def overlay_loss_figure(histories: Mapping[str, Sequence[Mapping[str, Any]]]) -> go.Figure:
    """Validation loss (solid) and training loss (dotted) per epoch for each run, one colour per run."""
    fig = go.Figure()
    for label, color, history in _runs(histories):
        epochs = [h.get("epoch") for h in history]
        fig.add_trace(go.Scatter(x=epochs, y=finite([h.get("val_loss") for h in history]), mode="lines+markers",
                                 name=f"{label}: validation", line={"color": color}))
        fig.add_trace(go.Scatter(x=epochs, y=finite([h.get("train_loss") for h in history]), mode="lines",
                                 name=f"{label}: training", line={"color": color, "dash": "dot"}))
    if not any(histories.values()):
        fig.add_annotation(text="No per-epoch history (imported runs have none).", showarrow=False, xref="paper",
                           yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(tickformat="d", dtick=1 if max((len(h) for h in histories.values()), default=0) <= 15 else None)
    return _layout(fig, "Loss per epoch", "Lower is better; a validation line rising while its training line falls "
                   "means overfitting.", "Epoch", "Loss (cross-entropy)")


def overlay_roc_figure(evaluations: Mapping[str, Mapping[str, Any]]) -> go.Figure:
    """Each run's test ROC curve, with its AUC in the legend, and the chance diagonal."""
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="random guessing",
                               line={"color": REFERENCE_COLOR, "dash": "dash"}, hoverinfo="skip"))
    for label, color, ev in _runs(evaluations):
        roc = ev.get("roc") or {}
        auc = (ev.get("metrics") or {}).get("roc_auc")
        fig.add_trace(go.Scatter(x=finite(roc.get("fpr", [])), y=finite(roc.get("tpr", [])), mode="lines",
                                 name=f"{label} (AUC {'undefined' if auc is None else f'{auc:.3f}'})",
                                 line={"color": color, "width": 2.5}))
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return _layout(fig, "ROC curves", "Closer to the top-left corner is better.",
                   "False positive rate (share of negatives wrongly flagged)",
                   "True positive rate (share of positives caught)")


def overlay_calibration_figure(evaluations: Mapping[str, Mapping[str, Any]]) -> go.Figure:
    """Each run's reliability curve (mean predicted vs observed positive share per bin) and the diagonal."""
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                               line={"color": REFERENCE_COLOR, "dash": "dash"}, hoverinfo="skip"))
    for label, color, ev in _runs(evaluations):
        cal = ev.get("calibration") or {}
        fig.add_trace(go.Scatter(x=finite(cal.get("mean_predicted", [])), y=finite(cal.get("fraction_positive", [])),
                                 mode="lines+markers", name=label, line={"color": color, "width": 2.5},
                                 customdata=cal.get("count", []),
                                 hovertemplate="predicted %{x:.3f}<br>observed %{y:.3f}<br>%{customdata} rows"
                                               "<extra></extra>"))
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return _layout(fig, "Calibration", "Points on the diagonal mean the probabilities can be taken at face value.",
                   "Predicted probability (mean within each bin)", "Observed share of positives in the bin")
