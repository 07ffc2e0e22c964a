"""Risk frontier and overlay figures on hand-made runs: placement, Pareto rings, parent-to-child arrows, escaping."""

from __future__ import annotations

import math

import pytest

from core.figures.compare import (
    auc_axis_range,
    frontier_figure,
    overlay_calibration_figure,
    overlay_loss_figure,
    overlay_roc_figure,
)
from core.figures.report import card_figures, disparity_figure, importance_figure
from core.report import RunPoint
from tests.core._report_runs import HOSTILE, explain_result, fairness_result


def point(run_id, auc, disparity, epsilon=math.inf, parent=None, name="") -> RunPoint:
    return RunPoint(run_id=run_id, name=name, kind="train", dataset_id="d", parent_id=parent, metrics={}, auc=auc,
                    auc_interval=None, disparity=disparity, disparity_interval=(disparity - 0.02, disparity + 0.03)
                    if disparity is not None else None, disparity_label="dpd", epsilon=epsilon, attack_auc=None)


def test_frontier_places_runs_and_marks_the_pareto_set():
    points = [point("base", 0.90, 0.20, name=HOSTILE), point("fair", 0.87, 0.05, parent="base"),
              point("private", 0.85, 0.10, epsilon=1.0), point("worse", 0.80, 0.25), point("none", 0.8, None)]
    fig = frontier_figure(points, pareto=["base", "fair", "private"])
    traces = {t.name: t for t in fig.data}
    line = traces["risk frontier (Pareto set)"]
    assert list(line.x) == [0.05, 0.10, 0.20] and list(line.y) == [0.87, 0.85, 0.90]  # sorted by disparity
    runs = [t for t in fig.data if t.name and t.name[0].isdigit()]
    assert [t.text[0] for t in runs] == ["1", "2", "3", "4"]  # numbered markers: labels cannot collide
    assert [t.x[0] for t in runs] == [0.20, 0.05, 0.10, 0.25]
    assert [t.marker.line.width for t in runs] == [3, 3, 3, 0.5]
    assert runs[0].error_x.arrayminus[0] == pytest.approx(0.02)
    assert runs[0].marker.symbol == "diamond" and runs[2].marker.symbol == "circle"
    assert runs[0].name == "1. &lt;script&gt;alert(1)&lt;/script&gt;"  # a hostile run name stays text
    assert not any(getattr(t.marker, "showscale", None) for t in fig.data)  # one epsilon: no colour bar
    [arrow] = fig.layout.annotations
    assert (arrow.ax, arrow.ay, arrow.x, arrow.y) == (0.20, 0.90, 0.05, 0.87)  # parent -> mitigated child
    assert "1 run without a disparity is not placed" in fig.layout.title.subtitle.text.replace("<br>", " ")
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_identical_runs_are_dodged_and_auc_axis_is_sane():
    twin = dict(auc=0.905, disparity=0.1)
    points = [point("a", **twin), point("b", **twin), point("c", 0.898, 0.12, epsilon=1.0),
              point("d", 0.90, 0.11, epsilon=8.0)]
    points = [RunPoint(**{**vars(p), "auc_interval": (p.auc - 0.01, p.auc + 0.01)}) for p in points]
    fig = frontier_figure(points, pareto=["a"])
    runs = [t for t in fig.data if t.name and t.name[0].isdigit()]
    a, b = runs[0].x[0], runs[1].x[0]
    assert a != b and (a + b) / 2 == pytest.approx(0.1)  # side by side, centred on the shared spot
    assert "same values as run 1" in runs[1].hovertext[0]
    assert runs[0].error_y.array[0] == pytest.approx(0.01)  # AUC intervals drawn
    low, high = fig.layout.yaxis.range
    assert high <= 1.0 and high - low >= 0.1 - 1e-9 and low <= 0.888 and high >= 0.915
    [bar] = [t for t in fig.data if getattr(t.marker, "showscale", None)]  # two epsilons: a colour bar
    assert list(bar.marker.colorbar.ticktext) == ["1"] and bar.marker.cmin == 0.0


def test_auc_axis_range_stays_in_zero_one():
    assert auc_axis_range([0.99, 1.0]) == pytest.approx([0.9, 1.0])
    assert auc_axis_range([0.0, 0.02]) == pytest.approx([0.0, 0.1])
    low, high = auc_axis_range([0.6, 0.95])
    assert 0.5 < low < 0.6 and 0.95 < high <= 1.0


def test_frontier_with_nothing_to_place_says_why():
    fig = frontier_figure([point("a", 0.9, None)], pareto=["a"])
    assert "compute fairness" in fig.layout.annotations[0].text


def test_overlays_one_trace_per_run():
    evaluation = {"metrics": {"roc_auc": 0.8}, "roc": {"fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1]},
                  "calibration": {"mean_predicted": [0.2, 0.8], "fraction_positive": [0.25, 0.7], "count": [5, 5]}}
    roc = overlay_roc_figure({"a": evaluation, HOSTILE: evaluation})
    assert [t.name for t in roc.data] == ["random guessing", "a (AUC 0.800)",
                                          "&lt;script&gt;alert(1)&lt;/script&gt; (AUC 0.800)"]
    assert len(overlay_calibration_figure({"a": evaluation}).data) == 2
    history = [{"epoch": 1, "train_loss": 0.7, "val_loss": 0.72}, {"epoch": 2, "train_loss": 0.6, "val_loss": None}]
    loss = overlay_loss_figure({"a": history, "b": []})
    assert [t.name for t in loss.data] == ["a: validation", "a: training", "b: validation", "b: training"]
    assert list(loss.data[0].y) == [0.72, None]


def test_report_figures_from_contract_objects():
    importance = importance_figure(explain_result("r"))
    assert list(importance.data[0].x) == [0.05, 1.2]  # largest on top (plotly draws bottom-up)
    assert importance.data[0].y[0].startswith("&lt;script&gt;")
    gaps = disparity_figure({"group": fairness_result(0.05, 0.01, 0.12)}, limit=0.1)
    assert tuple(gaps.data[0].x) == (0.05, 0.1, 0.1)
    assert tuple(gaps.data[0].y) == ("Gap in share selected", "Gap in error rates (equalized odds)",
                                     "Gap in true positive rates")
    assert tuple(gaps.data[0].error_x.array) == pytest.approx((0.07, 0.1, 0.1))
    assert gaps.layout.shapes[0].x0 == 0.1
    content = {"evaluation": {}, "history": [], "explanations": {"status": "done", "result": explain_result("r")},
               "fairness": {"status": "not run"}}
    assert [name for name, _ in card_figures(content)] == ["ROC curve", "Calibration", "Feature importance"]


def test_long_run_names_wrap_in_legends_and_stay_escaped():
    long = "Neural network · no privacy · thresholds: equal share selected per group (fixed thresholds) · 4 Dec"
    evaluation = {"metrics": {"roc_auc": 0.8}, "roc": {"fpr": [0, 1], "tpr": [0, 1]}}
    name = overlay_roc_figure({long: evaluation, HOSTILE * 3: evaluation}).data[1].name
    assert name.split("<br>") == ["Neural network · no privacy · thresholds:", "equal share selected per group (fixed",
                                  "thresholds) · 4 Dec (AUC 0.800)"]
    hostile = overlay_roc_figure({HOSTILE * 3: evaluation}).data[1].name
    assert "<script>" not in hostile and hostile.replace("<br>", "").count("&lt;script&gt;") == 3
