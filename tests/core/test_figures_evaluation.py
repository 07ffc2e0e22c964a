"""Figure builders: the traces hold exactly the stored numbers; empty and one-epoch inputs still render."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.figures.evaluation import (
    calibration_figure,
    confusion_figure,
    loss_curve_figure,
    pr_figure,
    roc_figure,
    val_metrics_figure,
)
from core.training.evaluate import evaluate

HISTORY = [
    {"epoch": 1, "train_loss": 0.6, "val_loss": 0.55, "val_accuracy": 0.7, "val_auc": 0.8, "seconds": 0.1},
    {"epoch": 2, "train_loss": 0.4, "val_loss": 0.45, "val_accuracy": 0.8, "val_auc": None, "seconds": 0.2},
    {"epoch": 3, "train_loss": 0.3, "val_loss": 0.5, "val_accuracy": 0.85, "val_auc": 0.9, "seconds": 0.3},
]


def _eval_dict() -> dict:
    y = np.array([0, 0, 1, 1])
    p1 = np.array([0.1, 0.4, 0.35, 0.8])
    return evaluate(y, np.column_stack([1 - p1, p1]), positive_index=1, class_names=["<=50K", ">50K"]).to_dict()


def _trace(fig: go.Figure, name_start: str) -> go.Scatter:
    return next(t for t in fig.data if t.name and t.name.startswith(name_start))


def test_loss_curve_many_epochs() -> None:
    fig = loss_curve_figure(HISTORY)
    train, val = _trace(fig, "training"), _trace(fig, "validation")
    assert list(train.x) == [1, 2, 3] and list(train.y) == [0.6, 0.4, 0.3]
    assert list(val.x) == [1, 2, 3] and list(val.y) == [0.55, 0.45, 0.5]
    assert fig.layout.xaxis.title.text == "Epoch" and "Loss" in fig.layout.title.text


def test_loss_curve_from_dataframe_equals_from_records() -> None:
    assert loss_curve_figure(pd.DataFrame(HISTORY)).to_dict() == loss_curve_figure(HISTORY).to_dict()


def test_loss_curve_zero_and_one_epoch() -> None:
    empty = loss_curve_figure([])
    assert [list(t.x) for t in empty.data] == [[], []]
    assert "Waiting for the first epoch" in empty.layout.annotations[0].text
    one = loss_curve_figure(HISTORY[:1])
    assert [list(t.y) for t in one.data] == [[0.6], [0.55]]
    assert all("markers" in t.mode for t in one.data)  # a single point must be visible
    assert list(one.layout.xaxis.range) == [0.5, 1.5]
    assert len(loss_curve_figure(pd.DataFrame()).data) == 2


def test_val_metrics_keep_gaps_for_undefined_auc() -> None:
    fig = val_metrics_figure([*HISTORY, {"epoch": 4, "train_loss": 0.2, "val_loss": 0.6, "val_accuracy": 0.86,
                                         "val_auc": float("nan"), "seconds": 0.4}])
    assert list(_trace(fig, "validation accuracy").y) == [0.7, 0.8, 0.85, 0.86]
    assert list(_trace(fig, "validation ROC AUC").y) == [0.8, None, 0.9, None]


def test_roc_figure() -> None:
    ev = _eval_dict()
    fig = roc_figure(ev)
    model = _trace(fig, "model")
    assert list(model.x) == [0.0, 0.0, 0.5, 0.5, 1.0] and list(model.y) == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert model.name == "model (AUC 0.750)"
    assert list(_trace(fig, "random").x) == [0.0, 1.0]
    assert "'&gt;50K'" in fig.layout.title.text  # user text is escaped for plotly's HTML subset
    assert "False positive rate" in fig.layout.xaxis.title.text


def test_pr_figure() -> None:
    ev = _eval_dict()
    fig = pr_figure(ev)
    model = _trace(fig, "model")
    assert list(model.x) == ev["pr"]["recall"] and list(model.y) == ev["pr"]["precision"]
    assert model.name == "model (average precision 0.833)"
    assert list(_trace(fig, "random").y) == [0.5, 0.5]


def test_calibration_figure() -> None:
    ev = _eval_dict()
    fig = calibration_figure(ev)
    model = _trace(fig, "model")
    assert list(model.x) == ev["calibration"]["mean_predicted"]
    assert list(model.y) == ev["calibration"]["fraction_positive"]
    assert list(model.customdata) == ev["calibration"]["count"]
    assert "Brier score 0.158." in fig.layout.title.subtitle.text and "&gt;50K" in fig.layout.title.text


def test_confusion_figure() -> None:
    fig = confusion_figure(_eval_dict())
    heatmap = fig.data[0]
    assert [list(r) for r in heatmap.z] == [[2, 0], [1, 1]]
    assert list(heatmap.x) == ["&lt;=50K", "&gt;50K"] and list(heatmap.y) == ["&lt;=50K", "&gt;50K"]
    assert heatmap.text[1][0] == "1<br>(50% of row)"
    assert fig.layout.title.text == "Confusion matrix"
    assert "positive score at threshold 0.5" in fig.layout.title.subtitle.text
    assert fig.layout.yaxis.autorange == "reversed"


def test_figures_accept_the_evaluation_object_and_one_class_sets() -> None:
    y = np.zeros(4, dtype=int)
    p1 = np.array([0.1, 0.4, 0.35, 0.8])
    ev = evaluate(y, np.column_stack([1 - p1, p1]), positive_index=1)
    for builder in (roc_figure, pr_figure):
        fig = builder(ev)
        assert list(_trace(fig, "model").x) == []
        assert "undefined" in fig.layout.annotations[0].text
    assert "undefined" in _trace(roc_figure(ev), "model").name
    assert math.isclose(sum(_trace(calibration_figure(ev), "model").customdata), 4)
    assert [list(r) for r in confusion_figure(ev).data[0].z] == [[3, 1], [0, 0]]
