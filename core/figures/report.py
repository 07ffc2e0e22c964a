"""Figures the model card adds to the evaluation ones: importance from an ``explain`` result, disparities with their
intervals from a ``fairness`` result. Inputs are the analyses' ``--json`` objects; nothing is computed here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from core.figures._text import plot_text, wrap_lines
from core.figures.evaluation import REFERENCE_COLOR, TEMPLATE, TRAIN_COLOR, VAL_COLOR
from core.labels import disparity_label

TOP_FEATURES = 15
#: The disparities the report's chart draws, each named by :func:`core.labels.disparity_label`.
CHARTED_DISPARITIES = ("demographic_parity_difference", "equalized_odds_difference", "equal_opportunity_difference")


def _layout(fig: go.Figure, title: str, subtitle: str, x_title: str, y_title: str, **extra: Any) -> go.Figure:
    fig.update_layout(title={"text": title, "subtitle": {"text": wrap_lines(subtitle, 75)}}, template=TEMPLATE,
                      xaxis_title=x_title, yaxis_title=y_title, margin={"t": 100, "l": 10, "r": 10}, **extra)
    return fig


def importance_figure(explanation: Mapping[str, Any], top: int = TOP_FEATURES) -> go.Figure:
    """Mean |SHAP| per original feature, largest on top, with each feature's rank interval in its label."""
    items = list(explanation.get("importance") or [])[:top]
    items.reverse()  # plotly draws the first bar at the bottom
    labels = [f"{plot_text(i['feature'])} (rank {i['rank_interval'][0]}-{i['rank_interval'][1]})" for i in items]
    fig = go.Figure(go.Bar(x=[i["mean_abs_shap"] for i in items], y=labels, orientation="h",
                           marker={"color": TRAIN_COLOR},
                           hovertemplate="%{y}<br>mean |SHAP| %{x:.4f}<extra></extra>"))
    if not items:
        fig.add_annotation(text="No features to show.", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return _layout(fig, "What the model leans on", "Average size of each feature's push on the score (log-odds). "
                   "A narrow rank range means the ordering held over three background draws.",
                   "Mean |SHAP value| (log-odds)", "Feature (rank range)", height=max(320, 40 + 28 * len(items)))


def disparity_figure(fairness: Mapping[str, Mapping[str, Any]], *, limit: float | None = None) -> go.Figure:
    """Each disparity per slicing as a point with its 95% interval; the team's maximum as a dashed line."""
    fig = go.Figure()
    colors = [TRAIN_COLOR, VAL_COLOR, "#2ca02c", "#9467bd", "#8c564b"]
    for position, (slicing, result) in enumerate(fairness.items()):
        names, values, low, high = [], [], [], []
        for key in CHARTED_DISPARITIES:
            item = (result.get("disparities") or {}).get(key) or {}
            if item.get("value") is None:
                continue
            ci = item.get("ci") or [None, None]
            names.append(disparity_label(key))
            values.append(item["value"])
            low.append(item["value"] - ci[0] if ci[0] is not None else 0)
            high.append(ci[1] - item["value"] if ci[1] is not None else 0)
        fig.add_trace(go.Scatter(x=values, y=names, mode="markers", name=f"by {plot_text(slicing)}",
                                 marker={"size": 11, "color": colors[position % len(colors)]},
                                 error_x={"type": "data", "symmetric": False, "array": high, "arrayminus": low},
                                 hovertemplate="%{y}: %{x:.3f}<extra>" + plot_text(slicing) + "</extra>"))
    if limit is not None:
        fig.add_vline(x=limit, line={"color": REFERENCE_COLOR, "dash": "dash"},
                      annotation_text=f"team maximum {limit:g}")
    return _layout(fig, "Gaps between groups", "Each point is a gap with its 95% interval; 0 means equal treatment. "
                   "A disparity passes only when its whole interval is left of the team's maximum.",
                   "Disparity (0 = no gap)", "", height=360,
                   legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0})


def card_figures(content: Mapping[str, Any]) -> list[tuple[str, go.Figure]]:
    """The report's charts in reading order, as ``(short name, figure)``: evaluation first, then the analyses that
    have results. Shared by the Report page's preview and its presentation mode (one chart at a time)."""
    from core.figures.evaluation import calibration_figure, loss_curve_figure, roc_figure

    evaluation = content.get("evaluation") or {}
    charts = [("ROC curve", roc_figure(evaluation)), ("Calibration", calibration_figure(evaluation))]
    if content.get("history"):
        charts.append(("Loss per epoch", loss_curve_figure(content["history"])))
    explanations = content.get("explanations") or {}
    if explanations.get("status") == "done":
        charts.append(("Feature importance", importance_figure(explanations["result"])))
    fairness = content.get("fairness") or {}
    if fairness.get("status") == "done":
        limit = (fairness.get("thresholds") or {}).get("max_disparity")
        charts.append(("Gaps between groups", disparity_figure(fairness["results"], limit=limit)))
    return charts
