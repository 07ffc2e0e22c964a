"""Figures of the Compare page and the risk frontier: data in (a ``Comparison``'s points, histories, evaluations),
``go.Figure`` out. Labels are run names chosen by users, so they pass :func:`plot_text`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from core.figures._text import legend_text, plot_text, wrap_lines
from core.figures.evaluation import FPR_TITLE, REFERENCE_COLOR, TEMPLATE
from core.jsonsafe import finite
from core.text import plural

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
NON_PRIVATE_COLOR = "#7f7f7f"
#: Legend names are run names a user may have made long; plotly never wraps them, so they are broken into lines
#: that fit a chart two to a row at 1024 px (about 400 px) or one full-width chart (about 700 px).
HALF_LEGEND_CHARS = 44
FULL_LEGEND_CHARS = 90


def _layout(fig: go.Figure, title: str, subtitle: str, x_title: str, y_title: str, **extra: Any) -> go.Figure:
    settings: dict[str, Any] = {"margin": {"t": 110, "b": 110}, "hovermode": "closest",
                                "legend": {"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0}} | extra
    fig.update_layout(title={"text": title, "subtitle": {"text": wrap_lines(subtitle, 80)}}, template=TEMPLATE,
                      xaxis_title=x_title, yaxis_title=y_title, **settings)
    return fig


#: Runs closer than this share of the axis span on both axes are drawn side by side, not on top of each other.
DODGE_SHARE = 0.03
#: The AUC axis never spans less than this: a 0.007 gap must not fill the chart.
MIN_AUC_SPAN = 0.1


def auc_axis_range(values: Sequence[float]) -> list[float]:
    """An AUC axis over ``values`` (points and interval ends): padded, at least :data:`MIN_AUC_SPAN` tall, and
    never below 0 or above 1 (an AUC cannot leave [0, 1])."""
    lo, hi = (min(values), max(values)) if values else (0.5, 1.0)
    pad = max(0.02, 0.1 * (hi - lo))
    lo, hi = lo - pad, hi + pad
    if hi - lo < MIN_AUC_SPAN:
        middle = (lo + hi) / 2
        lo, hi = middle - MIN_AUC_SPAN / 2, middle + MIN_AUC_SPAN / 2
    if hi > 1.0:
        lo, hi = max(0.0, lo - (hi - 1.0)), 1.0
    if lo < 0.0:
        lo, hi = 0.0, min(1.0, hi - lo)
    return [lo, hi]


def dodge_offsets(xs: Sequence[float], ys: Sequence[float], x_span: float, y_span: float) -> list[float]:
    """Horizontal offsets that spread runs sitting (nearly) on the same spot side by side, centred on it."""
    offsets = [0.0] * len(xs)
    clusters: list[list[int]] = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        for cluster in clusters:
            j = cluster[0]
            if abs(xs[j] - x) <= DODGE_SHARE * x_span and abs(ys[j] - y) <= DODGE_SHARE * y_span:
                cluster.append(i)
                break
        else:
            clusters.append([i])
    step = 2 * DODGE_SHARE * x_span
    for cluster in clusters:
        for k, i in enumerate(cluster):
            offsets[i] = (k - (len(cluster) - 1) / 2) * step
    return offsets


def _epsilon_colours(placed: Sequence[Any]) -> tuple[dict[str, str], tuple[float, float] | None]:
    """A colour per private run from its log epsilon, and the (low, high) of the scale when epsilon varies."""
    from plotly.colors import sample_colorscale

    logs = {p.run_id: math.log10(max(p.epsilon, 1e-3)) for p in placed if math.isfinite(p.epsilon)}
    if not logs:
        return {}, None
    lo, hi = min(logs.values()), max(logs.values())
    if hi - lo < 1e-9:
        return dict.fromkeys(logs, sample_colorscale("Viridis", [0.35])[0]), None
    return {k: sample_colorscale("Viridis", [(v - lo) / (hi - lo)])[0] for k, v in logs.items()}, (lo, hi)


def _point_trace(p: Any, number: int, x: float, colour: str, on_frontier: bool, twin: str | None) -> go.Scatter:
    private = math.isfinite(p.epsilon)
    low_x = p.disparity - p.disparity_interval[0] if p.disparity_interval else 0
    high_x = p.disparity_interval[1] - p.disparity if p.disparity_interval else 0
    low_y = p.auc - p.auc_interval[0] if p.auc_interval else 0
    high_y = p.auc_interval[1] - p.auc if p.auc_interval else 0
    hover = (f"{number}. {plot_text(p.label)}<br>AUC {p.auc:.3f}"
             + (f" (95% {p.auc_interval[0]:.3f} to {p.auc_interval[1]:.3f})" if p.auc_interval else "")
             + f"<br>disparity {p.disparity:.3f}<br>epsilon "
             + (f"{p.epsilon:.2f}" if private else "none (no privacy guarantee)")
             + ("<br>on the frontier" if on_frontier else "")
             + (f"<br>same values as run {twin}: drawn beside it" if twin else ""))
    return go.Scatter(
        x=[x], y=[p.auc], mode="markers+text", text=[str(number)], textposition="middle center",
        textfont={"color": "white", "size": 11}, name=legend_text(f"{number}. {p.label}", FULL_LEGEND_CHARS),
        marker={"size": 22, "color": colour, "symbol": "circle" if private else "diamond",
                "line": {"width": 3 if on_frontier else 0.5, "color": "#111"}},
        hovertext=[hover], hoverinfo="text",
        error_x={"type": "data", "symmetric": False, "array": [high_x], "arrayminus": [low_x], "color": "#999"},
        error_y={"type": "data", "symmetric": False, "array": [high_y], "arrayminus": [low_y], "color": "#bbb"})


def frontier_figure(points: Sequence[Any], pareto: Sequence[str]) -> go.Figure:
    """Test AUC with its interval (up is better) against disparity with its interval (left is better). Each run is
    a numbered marker (its name in the legend and on hover), so labels never collide; runs on the same spot are
    drawn side by side. Private runs are coloured by epsilon (a colour bar only when epsilon varies), runs
    without privacy are grey diamonds; Pareto runs are ringed and joined; a dotted arrow goes from each parent
    run to its mitigated child. The AUC axis stays inside [0, 1] and never zooms into a tiny gap."""
    placed = [p for p in points if p.auc is not None and p.disparity is not None]
    left_out = len(points) - len(placed)
    fig = go.Figure()
    xs = [p.disparity for p in placed] + [v for p in placed for v in (p.disparity_interval or ())]
    ys = [p.auc for p in placed] + [v for p in placed for v in (p.auc_interval or ())]
    y_range = auc_axis_range(ys)
    x_span = max(max(xs, default=0.1), 0.05)
    shift = dodge_offsets([p.disparity for p in placed], [p.auc for p in placed], x_span, y_range[1] - y_range[0])
    where = {p.run_id: (p.disparity + d, p.auc) for p, d in zip(placed, shift, strict=True)}
    numbers = {p.run_id: i + 1 for i, p in enumerate(points)}  # the same numbers as the page's table
    for p in placed:  # parent -> child links first, so markers draw over them
        if p.parent_id in where:
            (x0, y0), (x1, y1) = where[p.parent_id], where[p.run_id]
            fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                               arrowhead=3, arrowwidth=1.5, arrowcolor=REFERENCE_COLOR, text="", standoff=12)
    frontier = sorted((p for p in placed if p.run_id in pareto), key=lambda p: where[p.run_id][0])
    if len(frontier) > 1:
        fig.add_trace(go.Scatter(x=[where[p.run_id][0] for p in frontier], y=[p.auc for p in frontier],
                                 mode="lines", name="risk frontier (Pareto set)", line={"color": "#444", "dash": "dot"},
                                 hoverinfo="skip"))
    colours, scale = _epsilon_colours(placed)
    for i, p in enumerate(placed):
        twin = next((str(numbers[q.run_id]) for q in placed[:i] if q.disparity == p.disparity and q.auc == p.auc),
                    None)
        fig.add_trace(_point_trace(p, numbers[p.run_id], where[p.run_id][0],
                                   colours.get(p.run_id, NON_PRIVATE_COLOR), p.run_id in pareto, twin))
    lines = sum(1 + (trace.name or "").count("<br>") for trace in fig.data[-len(placed):]) if placed else 0
    if scale is not None:  # the colour bar only when there are two or more epsilons to tell apart
        lo, hi = scale
        ticks = [t for t in (-2, -1, 0, 1, 2, 3) if lo - 1e-9 <= t <= hi + 1e-9] or [lo, hi]
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                                 marker={"color": [lo], "cmin": lo, "cmax": hi, "colorscale": "Viridis",
                                         "showscale": True, "colorbar": {"title": {"text": "epsilon"},
                                                                         "tickvals": ticks,
                                                                         "ticktext": [f"{10 ** t:g}" for t in ticks]}}))
    if not placed:
        fig.add_annotation(text="No run has both a test AUC and a disparity yet: compute fairness for the runs.",
                           showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    subtitle = ("Up is more accurate, left is fairer; bars are 95% intervals. Ringed runs are Pareto-efficient (no "
                "run is better on AUC, disparity and epsilon at once). Grey diamonds: no privacy guarantee.")
    if left_out:
        subtitle += f" {plural(left_out, 'run')} without a disparity {'is' if left_out == 1 else 'are'} not placed."
    fig.update_yaxes(range=y_range)
    fig.update_xaxes(range=[-0.04 * x_span, 1.06 * x_span])  # a run at no gap is drawn whole, not cut by the axis
    return _layout(fig, "Risk frontier: accuracy, fairness and privacy", subtitle, "Disparity (0 = no gap)",
                   "Test ROC AUC", legend={"orientation": "v", "yanchor": "top", "y": -0.2, "x": 0},
                   margin={"t": 110, "b": 60 + 22 * lines}, height=460 + 22 * lines)


#: Height of the plotting area of a half-width overlay, and of one legend line, in pixels.
PLOT_HEIGHT, LEGEND_LINE = 260, 18


def _room_for_legend(fig: go.Figure) -> dict[str, Any]:
    """Margin and height that fit every line of the legend under the axis title, however many lines the run
    names wrap into: otherwise plotly shrinks the plot to make room and the legend rides up over the title."""
    lines = sum(1 + (trace.name or "").count("<br>") for trace in fig.data)
    bottom = 75 + LEGEND_LINE * lines
    return {"margin": {"t": 110, "b": bottom}, "height": 110 + PLOT_HEIGHT + bottom}


def _runs(items: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """(raw label, colour, value) per run: names go through :func:`legend_text`, which escapes them."""
    return [(label, PALETTE[i % len(PALETTE)], value) for i, (label, value) in enumerate(items.items())]


def overlay_loss_figure(histories: Mapping[str, Sequence[Mapping[str, Any]]]) -> go.Figure:
    """Validation loss (solid) and training loss (dotted) per epoch for each run, one colour per run."""
    fig = go.Figure()
    for label, color, history in _runs(histories):
        epochs = [h.get("epoch") for h in history]
        fig.add_trace(go.Scatter(x=epochs, y=finite([h.get("val_loss") for h in history]), mode="lines+markers",
                                 name=legend_text(f"{label}: validation", FULL_LEGEND_CHARS), line={"color": color}))
        fig.add_trace(go.Scatter(x=epochs, y=finite([h.get("train_loss") for h in history]), mode="lines",
                                 name=legend_text(f"{label}: training", FULL_LEGEND_CHARS),
                                 line={"color": color, "dash": "dot"}))
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
                                 name=legend_text(f"{label} (AUC {'undefined' if auc is None else f'{auc:.3f}'})",
                                                 HALF_LEGEND_CHARS),
                                 line={"color": color, "width": 2.5}))
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return _layout(fig, "ROC curves", "Closer to the top-left corner is better.", FPR_TITLE,
                   "True positive rate (share of positives caught)", **_room_for_legend(fig))


def overlay_calibration_figure(evaluations: Mapping[str, Mapping[str, Any]]) -> go.Figure:
    """Each run's reliability curve (mean predicted vs observed positive share per bin) and the diagonal."""
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                               line={"color": REFERENCE_COLOR, "dash": "dash"}, hoverinfo="skip"))
    for label, color, ev in _runs(evaluations):
        cal = ev.get("calibration") or {}
        fig.add_trace(go.Scatter(x=finite(cal.get("mean_predicted", [])), y=finite(cal.get("fraction_positive", [])),
                                 mode="lines+markers", name=legend_text(label, HALF_LEGEND_CHARS),
                                 line={"color": color, "width": 2.5},
                                 customdata=cal.get("count", []),
                                 hovertemplate="predicted %{x:.3f}<br>observed %{y:.3f}<br>%{customdata} rows"
                                               "<extra></extra>"))
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return _layout(fig, "Calibration", "Points on the diagonal mean the probabilities can be taken at face value.",
                   "Predicted probability (mean within each bin)", "Observed share of positives in the bin",
                   **_room_for_legend(fig))
