"""Plotly figures for privacy: epsilon over epochs, the epochs x noise heatmap, the budget meter, the audit's ROC
on log-log axes, per-group leakage and the privacy-utility chart. Data in, ``go.Figure`` out, no computation.

Every chart renders with no data (a run before its first epoch, a dataset with no private run yet), and every user
string (group names, run names) passes through :func:`core.figures._text.plot_text`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from core.figures._text import plot_text, wrap_lines
from core.jsonsafe import finite

TEMPLATE = "plotly_white"
SPENT_COLOR = "#6a3d9a"
TARGET_COLOR = "#e31a1c"
CHANCE_COLOR = "#9e9e9e"
ATTACK_COLORS = {"loss": "#1f77b4", "reference": "#d62728"}
ATTACK_NAMES = {"loss": "Loss threshold", "reference": "Reference models (offline LiRA)"}


def _layout(fig: go.Figure, title: str, subtitle: str, x_title: str, y_title: str, **extra: Any) -> go.Figure:
    """Title and subtitle wrapped for two charts a row at 1024 px; the top margin grows with the lines."""
    title_text, subtitle_text = wrap_lines(title, 44), wrap_lines(subtitle, 58)
    lines = title_text.count("<br>") + subtitle_text.count("<br>") + 2
    fig.update_layout(title={"text": title_text, "subtitle": {"text": subtitle_text}}, xaxis_title=x_title,
                      yaxis_title=y_title, template=TEMPLATE, margin={"t": 40 + 22 * lines, "b": 90},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0}, **extra)
    return fig


def _note(fig: go.Figure, text: str) -> None:
    fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font={"size": 14, "color": "#555"})


def epsilon_curve_figure(epochs: Sequence[int], epsilons: Sequence[float | None], *, target: float | None = None,
                         title: str = "Privacy spent over training") -> go.Figure:
    """Epsilon after each epoch, with the target as a dashed line."""
    fig = go.Figure()
    ys = finite(list(epsilons))
    if epochs:
        fig.add_trace(go.Scatter(x=list(epochs), y=ys, mode="lines+markers", name="epsilon spent",
                                 line={"color": SPENT_COLOR}))
    else:
        _note(fig, "No epochs yet")
    if target is not None:
        fig.add_hline(y=target, line={"color": TARGET_COLOR, "dash": "dash"}, annotation_text=f"target {target:g}")
    return _layout(fig, title, "Each pass over the data lets the model learn more about every row, so epsilon (the "
                   "privacy loss) only grows. Lower is more private.", "epoch", "epsilon (privacy loss)")


def _cell(value: float) -> str:
    """A heatmap cell's epsilon in two significant digits, never in scientific notation ("130", not "1.3e+02")."""
    return f"{value:,.0f}" if value >= 10 else f"{value:.2g}"


def budget_heatmap_figure(noise_multipliers: Sequence[float], epochs: Sequence[int],
                          grid: Sequence[Sequence[float]], *, target: float | None = None) -> go.Figure:
    """Epsilon for each (noise multiplier, epochs) pair; cells at or under the target are marked with a tick."""
    values = [[None if v is None or not math.isfinite(v) else float(v) for v in row] for row in grid]
    text = [[("–" if v is None else _cell(v) + (" ✓" if target is not None and v <= target else ""))
             for v in row] for row in values]
    logs = [[None if v is None or v <= 0 else math.log10(v) for v in row] for row in values]
    fig = go.Figure(go.Heatmap(z=logs, x=[str(e) for e in epochs], y=[f"{s:g}" for s in noise_multipliers],
                               text=text, texttemplate="%{text}", textfont={"size": 11}, colorscale="RdYlGn_r",
                               colorbar={"title": "log10 epsilon"},
                               hovertemplate="epochs %{x}, noise %{y}: epsilon %{text}<extra></extra>"))
    subtitle = "More noise buys a smaller epsilon; more epochs spend more. RDP accountant (a valid upper bound)."
    if target is not None:
        subtitle += f" Ticks: within the target {target:g}."
    return _layout(fig, "Epsilon by epochs and noise", subtitle, "epochs", "noise multiplier")


def budget_meter_figure(spent: float | None, budget: float | None, *, label: str = "target") -> go.Figure:
    """A gauge of epsilon spent so far against the target (or the planned final epsilon)."""
    value = 0.0 if spent is None or not math.isfinite(spent) else float(spent)
    top = budget if budget is not None and budget > 0 else max(value, 1.0)
    fig = go.Figure(go.Indicator(
        mode="gauge+number+delta" if budget else "gauge+number", value=value,
        number={"valueformat": ".3f", "suffix": " ε"},
        delta={"reference": budget, "increasing": {"color": TARGET_COLOR}, "valueformat": ".3f"} if budget else None,
        gauge={"axis": {"range": [0, top * 1.05]}, "bar": {"color": SPENT_COLOR},
               "threshold": {"line": {"color": TARGET_COLOR, "width": 3}, "value": top} if budget else None}))
    fig.update_layout(title={"text": "Privacy budget meter", "subtitle": {
        "text": wrap_lines(f"Epsilon spent so far against the {label} ({top:.3g}).", 40)}},
        template=TEMPLATE, margin={"t": 100, "b": 20}, height=300)
    return fig


def _report(item: Any) -> Mapping[str, Any]:
    return item.to_dict() if hasattr(item, "to_dict") else item


def audit_roc_figure(reports: Mapping[str, Any]) -> go.Figure:
    """Attack ROC curves on log-log axes (the low-FPR corner is where membership leaks matter), chance diagonal."""
    fig = go.Figure()
    floor = 1.0
    for name, item in reports.items():
        report = _report(item)
        pairs = [(f, t) for f, t in zip(report.get("roc_fpr", []), report.get("roc_tpr", []), strict=False)
                 if f > 0 and t > 0]
        if not pairs:
            continue
        floor = min(floor, pairs[0][0], min(t for _, t in pairs))
        fig.add_trace(go.Scatter(x=[f for f, _ in pairs], y=[t for _, t in pairs], mode="lines",
                                 name=f"{ATTACK_NAMES.get(name, plot_text(name))} (AUC {report['auc']:.3f})",
                                 line={"color": ATTACK_COLORS.get(name)}))
    floor = max(min(floor, 1e-3), 1e-6)
    fig.add_trace(go.Scatter(x=[floor, 1], y=[floor, 1], mode="lines", name="chance (guessing)",
                             line={"color": CHANCE_COLOR, "dash": "dot"}))
    if len(fig.data) == 1:
        _note(fig, "No audit yet")
    return _layout(fig, "Membership attack ROC (log-log)", "How many training rows an attacker spots (up) for a "
                   "given share of false alarms (right). Curves above the dotted line leak; look at the left edge.",
                   "false positive rate (non-members flagged)", "true positive rate (members found)",
                   xaxis={"type": "log", "range": [math.log10(floor), 0]},
                   yaxis={"type": "log", "range": [math.log10(floor), 0]})


def group_leakage_figure(groups: Mapping[str, Mapping[str, Any]], column: str) -> go.Figure:
    """Attack AUC per group of one sensitive column, with member / non-member counts; small groups hatched."""
    names = list(groups)
    aucs = finite([groups[g].get("attack_auc") for g in names])
    labels = [f"{plot_text(g)}<br>n={groups[g]['n_members']:,}+{groups[g]['n_nonmembers']:,}" for g in names]
    fig = go.Figure(go.Bar(x=labels, y=aucs, marker={"color": SPENT_COLOR,
                                                     "pattern": {"shape": ["/" if groups[g].get("small") else ""
                                                                           for g in names]}},
                           hovertemplate="%{x}: attack AUC %{y:.3f}<extra></extra>"))
    fig.add_hline(y=0.5, line={"color": CHANCE_COLOR, "dash": "dot"}, annotation_text="coin flip")
    if not names:
        _note(fig, "No sensitive groups in this run's spec")
    return _layout(fig, f"Membership leakage by {plot_text(column)}", "Attack AUC per group: higher means that "
                   "group's training rows are easier to identify. Hatched bars: fewer than 30 rows a side.",
                   "group (members + non-members audited)", "attack AUC", yaxis={"range": [0.3, 1.0]},
                   xaxis={"tickangle": 0, "automargin": True})  # two short lines a label: none overprints


NO_GUARANTEE = "no guarantee"


def privacy_utility_figure(points: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Test AUC against epsilon over a dataset's runs. Non-private runs have no epsilon at all, so they sit in a
    separate, labelled "no guarantee" lane beside the epsilon axis (sharing the AUC axis), never at some made-up
    epsilon next to the private runs."""
    from plotly.subplots import make_subplots

    private = [p for p in points if p.get("epsilon") is not None]
    plain = [p for p in points if p.get("epsilon") is None]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.8, 0.2], horizontal_spacing=0.04)
    if private:
        fig.add_trace(go.Scatter(x=[p["epsilon"] for p in private], y=[p["roc_auc"] for p in private],
                                 mode="markers", name="private runs", marker={"color": SPENT_COLOR, "size": 10},
                                 text=[plot_text(p.get("name", p.get("run_id", ""))) for p in private],
                                 hovertemplate="%{text}: epsilon %{x:.3g}, test AUC %{y:.3f}<extra></extra>"),
                      row=1, col=1)
    fig.add_trace(go.Scatter(x=[NO_GUARANTEE] * len(plain), y=[p["roc_auc"] for p in plain], mode="markers",
                             name="without privacy (no guarantee)", marker={"color": TARGET_COLOR, "size": 10,
                                                                            "symbol": "x"},
                             text=[plot_text(p.get("name", p.get("run_id", ""))) for p in plain],
                             hovertemplate="%{text}: no privacy guarantee, test AUC %{y:.3f}<extra></extra>",
                             showlegend=bool(plain)), row=1, col=2)
    if not points:
        _note(fig, "No finished runs on this dataset yet")
    fig.update_xaxes(type="log", title_text="epsilon (log scale; left is more private)", row=1, col=1)
    fig.update_xaxes(type="category", categoryarray=[NO_GUARANTEE], title_text="no DP", row=1, col=2,
                     showgrid=False)
    fig = _layout(fig, "Privacy vs accuracy over this dataset's runs", "Each dot is a run: left is more private, "
                  "up is more accurate. Runs trained without privacy have no epsilon: they are the crosses in the "
                  "separate 'no guarantee' lane on the right.", "", "test ROC AUC")
    fig.update_layout(xaxis_title_text="epsilon (log scale; left is more private)", xaxis2_title_text="no DP",
                      legend={"y": -0.3}, margin={"b": 120})  # the legend clears the axis title
    fig.update_xaxes(dtick=1, row=1, col=1)  # powers of ten only: no "2 3 … 9 1 2 3" run of minor labels
    return fig
