"""Fairness figures: bars carry the intervals, small groups are grey, heatmap cells greyed, text escaped."""

from __future__ import annotations

import numpy as np

from core.fairness import audit_groups
from core.figures.fairness import (
    GROUP_COLOR,
    SMALL_COLOR,
    fairness_accuracy_figure,
    group_bars_figure,
    intersection_heatmap_figure,
)


def _report(groups, seed=0, slicing="sex"):
    rng = np.random.default_rng(seed)
    groups = np.asarray(groups)
    return audit_groups(rng.integers(0, 2, len(groups)), rng.integers(0, 2, len(groups)), groups,
                        resamples=100, slicing=slicing)


def test_bars_have_intervals_counts_and_grey_small_groups():
    report = _report(["<b>F</b>"] * 200 + ["M"] * 200 + ["X"] * 10)
    bar = group_bars_figure(report, "selection_rate").data[0]
    assert list(bar.x) == ["&lt;b&gt;F&lt;/b&gt;", "M", "X"]
    assert list(bar.marker.color) == [GROUP_COLOR, GROUP_COLOR, SMALL_COLOR]
    first = report.groups[0]
    assert bar.y[0] == first.metrics["selection_rate"]
    assert bar.error_y.array[0] == first.intervals["selection_rate"][1] - first.metrics["selection_rate"]
    assert bar.error_y.arrayminus[0] == first.metrics["selection_rate"] - first.intervals["selection_rate"][0]
    assert "too few" in bar.text[2] and "10 rows, not enough data" in bar.customdata[2]


def test_heatmap_greys_small_cells_and_leaves_them_uncoloured():
    groups = ["F × a"] * 100 + ["F × b"] * 100 + ["M × a"] * 100 + ["M × b"] * 5
    fig = intersection_heatmap_figure(_report(groups, slicing="sex × race"))
    grey, values = fig.data[0], fig.data[1]
    assert list(values.y) == ["F", "M"] and list(values.x) == ["a", "b"]
    assert values.z[1][1] is None and grey.z[1][1] == 1.0
    assert values.z[0][0] is not None and np.isnan(grey.z[0][0])
    assert fig.layout.xaxis.title.text == "race" and fig.layout.yaxis.title.text == "sex"


def test_fairness_accuracy_chart_places_every_run():
    points = [{"run_id": "a", "label": "base", "accuracy": 0.8, "gap": 0.2, "gap_low": 0.15, "gap_high": 0.25,
               "kind": "train"},
              {"run_id": "b", "label": "<i>fair</i>", "accuracy": 0.78, "gap": 0.05, "gap_low": None,
               "gap_high": None, "kind": "mitigated"}]
    fig = fairness_accuracy_figure(points)
    assert [trace.name for trace in fig.data] == ["1. base", "2. &lt;i&gt;fair&lt;/i&gt;"]  # legend: run names
    assert [t.legendgroup for t in fig.data] == ["trained here", "mitigated"]  # plain words, not kinds
    assert [t.text[0] for t in fig.data] == ["1", "2"]  # numbered markers: no labels to collide
    assert fig.data[0].error_x.array[0] == 0.25 - 0.2
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text == "test accuracy"
    assert fairness_accuracy_figure([]).layout.annotations[0].text.startswith("No finished runs")


def test_many_groups_become_readable_horizontal_bars_and_heatmap_text_is_large():
    groups = [f"g{i}" for i in range(8) for _ in range(60)]
    bar = group_bars_figure(_report(groups), "selection_rate").data[0]
    assert bar.orientation == "h" and list(bar.y)[:2] == ["g0", "g1"]
