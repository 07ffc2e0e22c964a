"""Plotly figures for training progress and held-out evaluation: data in, ``go.Figure`` out, no computation.

Inputs are what the run store keeps: the per-epoch history (``EpochRecord.to_dict()`` rows, or a DataFrame of
them) and ``Evaluation.to_dict()``. Titles and axis labels are written for readers who are not ML specialists
("share of positives caught"), and every chart still renders with no data yet (a live run before its first epoch,
a one-class test set) so a page never breaks on an edge case.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.figures._text import plot_text, wrap_lines
from core.jsonsafe import finite

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "val_accuracy", "val_auc", "seconds")
TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#ff7f0e"
AUC_COLOR = "#2ca02c"
REFERENCE_COLOR = "#9e9e9e"
#: The ROC x-axis title, short enough for a chart two to a row at 1024 px (about 400 px wide).
FPR_TITLE = "False positive rate (negatives wrongly flagged)"
TEMPLATE = "plotly_white"


def _clean(values: Sequence[Any]) -> list[Any]:
    """Plain Python values with NaN/inf as None, so traces hold exactly what was stored and gaps show as gaps."""
    return finite(list(values))


def _history(history: Sequence[Mapping[str, Any]] | pd.DataFrame) -> dict[str, list[Any]]:
    frame = history if isinstance(history, pd.DataFrame) else pd.DataFrame(list(history))
    columns: dict[str, list[Any]] = {}
    for name in HISTORY_COLUMNS:
        columns[name] = _clean(frame[name].tolist()) if name in frame.columns else [None] * len(frame)
    return columns


def _as_dict(evaluation: Mapping[str, Any] | Any) -> Mapping[str, Any]:
    return evaluation.to_dict() if hasattr(evaluation, "to_dict") else evaluation


def _empty_note(fig: go.Figure, text: str) -> None:
    fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font={"size": 14, "color": "#555"})


def _layout(fig: go.Figure, title: str, subtitle: str, x_title: str, y_title: str, **extra: Any) -> go.Figure:
    """Short title, one plain-language reading hint as subtitle, labelled axes, legend above the plot."""
    # Charts sit two to a row: at a 1024-px projector each is about 400 px wide, so lines stay short and the top
    # margin grows with the number of lines instead of cutting the title off.
    title_text, subtitle_text = wrap_lines(title, 44), wrap_lines(subtitle, 58)
    lines = title_text.count("<br>") + subtitle_text.count("<br>") + 2
    settings: dict[str, Any] = {"hovermode": "x unified", "margin": {"t": 40 + 22 * lines, "b": 110}} | extra
    fig.update_layout(title={"text": title_text, "subtitle": {"text": subtitle_text}}, xaxis_title=x_title,
                      yaxis_title=y_title, template=TEMPLATE,
                      legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0}, **settings)
    return fig


def _epoch_axis(fig: go.Figure, epochs: list[Any]) -> None:
    if len(epochs) <= 15:
        fig.update_xaxes(tickmode="linear", dtick=1, tick0=1)
    if len(epochs) <= 1:
        fig.update_xaxes(range=[0.5, 1.5 if not epochs else float(epochs[0]) + 0.5])


def loss_curve_figure(history: Sequence[Mapping[str, Any]] | pd.DataFrame) -> go.Figure:
    """Training and validation loss per epoch; the live chart of the Train page (0, 1 or many epochs)."""
    data = _history(history)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=data["epoch"], y=data["train_loss"], mode="lines+markers", name="training loss",
                             line={"color": TRAIN_COLOR}))
    fig.add_trace(go.Scatter(x=data["epoch"], y=data["val_loss"], mode="lines+markers", name="validation loss",
                             line={"color": VAL_COLOR}))
    if not data["epoch"]:
        _empty_note(fig, "Waiting for the first epoch to finish...")
    _epoch_axis(fig, data["epoch"])
    return _layout(fig, "Loss per epoch", "Lower is better. Validation loss rising while training loss falls means "
                   "the model is memorising the training rows (overfitting).", "Epoch", "Loss (cross-entropy)")


def val_metrics_figure(history: Sequence[Mapping[str, Any]] | pd.DataFrame) -> go.Figure:
    """Validation accuracy and ROC AUC per epoch (higher is better)."""
    data = _history(history)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=data["epoch"], y=data["val_accuracy"], mode="lines+markers",
                             name="validation accuracy", line={"color": VAL_COLOR}))
    fig.add_trace(go.Scatter(x=data["epoch"], y=data["val_auc"], mode="lines+markers", name="validation ROC AUC",
                             line={"color": AUC_COLOR}))
    if not data["epoch"]:
        _empty_note(fig, "Waiting for the first epoch to finish...")
    _epoch_axis(fig, data["epoch"])
    return _layout(fig, "Validation accuracy and AUC per epoch", "Higher is better; measured on rows held out "
                   "from training.", "Epoch", "Score (0 to 1)")


def _metric(evaluation: Mapping[str, Any], key: str) -> str:
    value = (evaluation.get("metrics") or {}).get(key)
    return "undefined" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.3f}"


def _positive(evaluation: Mapping[str, Any]) -> str:
    names = evaluation.get("class_names") or []
    index = evaluation.get("positive_index", 1)
    return plot_text(evaluation.get("positive_name") or (names[index] if index < len(names) else index))


def _no_curve_note(fig: go.Figure, evaluation: Mapping[str, Any]) -> None:
    notes = evaluation.get("notes") or []
    note = next((n for n in notes if "undefined" in n), notes[0]) if notes else None
    _empty_note(fig, "No curve: the evaluated rows hold a single class." if note is None else
                "No curve: " + wrap_lines(plot_text(note)))


def roc_figure(evaluation: Mapping[str, Any] | Any) -> go.Figure:
    """ROC curve of the positive class against the rest, with the chance diagonal."""
    ev = _as_dict(evaluation)
    roc = ev.get("roc") or {}
    fpr, tpr = _clean(roc.get("fpr", [])), _clean(roc.get("tpr", []))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0.0, 1.0], y=[0.0, 1.0], mode="lines", name="random guessing (AUC 0.5)",
                             line={"color": REFERENCE_COLOR, "dash": "dash"}, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=f"model (AUC {_metric(ev, 'roc_auc')})",
                             line={"color": TRAIN_COLOR, "width": 3}))
    if not fpr:
        _no_curve_note(fig, ev)
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return _layout(fig, f"ROC curve for '{_positive(ev)}'", "Closer to the top-left corner is better; the dashed "
                   "line is random guessing.", FPR_TITLE,
                   "True positive rate (share of positives caught)", hovermode="closest")


def pr_figure(evaluation: Mapping[str, Any] | Any) -> go.Figure:
    """Precision against recall for the positive class, with the no-skill line at the positive rate."""
    ev = _as_dict(evaluation)
    pr = ev.get("pr") or {}
    recall, precision = _clean(pr.get("recall", [])), _clean(pr.get("precision", []))
    prevalence = float(ev.get("prevalence") or 0.0)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0.0, 1.0], y=[prevalence, prevalence], mode="lines",
                             name=f"random guessing (precision {prevalence:.3f})",
                             line={"color": REFERENCE_COLOR, "dash": "dash"}, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=recall, y=precision, mode="lines",
                             name=f"model (average precision {_metric(ev, 'pr_auc')})",
                             line={"color": TRAIN_COLOR, "width": 3}))
    if not recall:
        _no_curve_note(fig, ev)
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return _layout(fig, f"Precision-recall curve for '{_positive(ev)}'", "Closer to the top-right corner is better; "
                   "the dashed line is what flagging rows at random would give.", "Recall (share of positives caught)",
                   "Precision (flagged rows truly positive)",
                   hovermode="closest")


def calibration_figure(evaluation: Mapping[str, Any] | Any) -> go.Figure:
    """Reliability diagram: mean predicted probability vs observed positive rate per bin, with row counts."""
    ev = _as_dict(evaluation)
    cal = ev.get("calibration") or {}
    predicted = _clean(cal.get("mean_predicted", []))
    observed = _clean(cal.get("fraction_positive", []))
    counts = _clean(cal.get("count", []))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0.0, 1.0], y=[0.0, 1.0], mode="lines", name="perfectly calibrated",
                             line={"color": REFERENCE_COLOR, "dash": "dash"}, hoverinfo="skip"))
    biggest = max(counts, default=1) or 1
    sizes = [6 + 12 * math.sqrt(c / biggest) for c in counts]  # a bin of 2 rows should not look like one of 2,000
    fig.add_trace(go.Scatter(x=predicted, y=observed, mode="lines+markers", name="model", customdata=counts,
                             marker={"size": sizes},
                             line={"color": TRAIN_COLOR, "width": 3},
                             hovertemplate="predicted %{x:.3f}<br>observed %{y:.3f}<br>%{customdata} rows"
                                           "<extra></extra>"))
    if not predicted:
        _empty_note(fig, "No rows to show.")
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return _layout(fig, f"Calibration for '{_positive(ev)}'",
                   f"Brier score {_metric(ev, 'brier')}. Points on the diagonal mean the predicted probabilities "
                   "can be taken at face value; hover for the rows in each bin.",
                   "Predicted probability (mean within each bin)",
                   "Observed share of positives in the bin",
                   hovermode="closest")


def confusion_figure(evaluation: Mapping[str, Any] | Any) -> go.Figure:
    """Annotated heatmap of true (rows) vs predicted (columns) classes; each cell shows count and row share."""
    ev = _as_dict(evaluation)
    confusion = ev.get("confusion") or {}
    matrix = [[int(v) for v in row] for row in confusion.get("matrix", [])]
    labels = [plot_text(x) for x in confusion.get("labels", ev.get("class_names", []))]
    text = []
    for row in matrix:
        total = sum(row)
        text.append([f"{v:,}<br>({v / total:.0%} of row)" if total else f"{v:,}" for v in row])
    fig = go.Figure(go.Heatmap(z=matrix, x=labels, y=labels, text=text, texttemplate="%{text}",
                               colorscale="Blues", showscale=False,
                               hovertemplate="true %{y}<br>predicted %{x}<br>%{z} rows<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom")
    rule = (f"positive score at threshold {ev.get('threshold', 0.5):g}" if len(labels) == 2
            else "most probable class")
    return _layout(fig, "Confusion matrix", f"Predicted class = {rule}. The diagonal holds correct predictions.",
                   "Predicted class", "True class", hovermode="closest")


def per_class_figure(evaluation: Mapping[str, Any] | Any) -> go.Figure:
    """Precision, recall and F1 of every class (one-vs-rest) as grouped bars, macro F1 as a dashed line."""
    ev = _as_dict(evaluation)
    rows = list(ev.get("per_class") or [])
    names = [plot_text(r["class"]) for r in rows]
    fig = go.Figure()
    for key, label in (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1")):
        fig.add_trace(go.Bar(x=names, y=_clean([r.get(key) for r in rows]), name=label,
                             hovertemplate=f"class %{{x}}<br>{label} %{{y:.3f}}<extra></extra>"))
    macro = ((ev.get("averages") or {}).get("macro") or {}).get("f1")
    if isinstance(macro, int | float) and macro == macro:
        fig.add_hline(y=float(macro), line_dash="dash", annotation_text=f"macro F1 {macro:.3f}")
    if not rows:
        _empty_note(fig, "No per-class results stored for this run")
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[0, 1.05])
    return _layout(fig, "Every class", "Each class against the rest on the test rows; the most probable class is "
                   "the prediction.", "Class", "Score", barmode="group")
