"""Risk frontier and overlay figures on hand-made runs: placement, Pareto rings, parent-to-child arrows, escaping."""

from __future__ import annotations

import math

import pytest

from core.figures.compare import frontier_figure, overlay_calibration_figure, overlay_loss_figure, overlay_roc_figure
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
    public = traces["non-private runs (epsilon infinity)"]
    assert list(public.x) == [0.20, 0.05, 0.25] and list(public.marker.line.width) == [3, 3, 0.5]
    assert list(public.error_x.arrayminus) == pytest.approx([0.02, 0.02, 0.02])
    assert public.marker.symbol == "diamond"
    private = traces["private runs (colour: epsilon)"]
    assert list(private.marker.color) == [0.0]  # log10(epsilon = 1)
    assert public.text[0] == "&lt;script&gt;alert(1)&lt;/script&gt;"  # a hostile run name stays text
    [arrow] = fig.layout.annotations
    assert (arrow.ax, arrow.ay, arrow.x, arrow.y) == (0.20, 0.90, 0.05, 0.87)  # parent -> mitigated child
    assert "1 run(s) without a disparity are not placed" in fig.layout.title.subtitle.text.replace("<br>", " ")
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


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
    assert tuple(gaps.data[0].error_x.array) == pytest.approx((0.07, 0.1, 0.1))
    assert gaps.layout.shapes[0].x0 == 0.1
    content = {"evaluation": {}, "history": [], "explanations": {"status": "done", "result": explain_result("r")},
               "fairness": {"status": "not run"}}
    assert [name for name, _ in card_figures(content)] == ["ROC curve", "Calibration", "Feature importance"]
