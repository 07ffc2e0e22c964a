"""Explanation figures: what they draw (values, order, folding into 'other features', escaping), not how."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core.explain import Attributions
from core.figures.explain import (
    beeswarm_figure,
    dependence_figure,
    group_importance_data,
    group_importance_figure,
    importance_figure,
    waterfall_data,
    waterfall_figure,
)


def make_result(n_rows: int = 40, n_features: int = 4, *, draws: int = 3) -> Attributions:
    rng = np.random.default_rng(0)
    scale = np.arange(n_features, 0, -1, dtype=np.float64)  # feature 0 most important
    values = rng.standard_normal((n_rows, n_features)) * scale
    names = tuple(f"f{j}" for j in range(n_features))
    data = pd.DataFrame({name: rng.standard_normal(n_rows) for name in names})
    if n_features >= 2:
        data[names[1]] = np.where(rng.random(n_rows) < 0.5, "red", "<b>blue</b>")
    base = -0.5
    scores = base + values.sum(axis=1)
    intervals = {name: (j + 1, min(n_features, j + 2)) for j, name in enumerate(names)}
    return Attributions(values=values, base_value=base, data=data, feature_names=names, method="deeplift-rescale",
                        background=50, seed=0, additivity_max_error=1e-7, seconds=0.1, scores=scores,
                        probabilities=1 / (1 + np.exp(-scores)), rows=np.arange(n_rows), total_rows=n_rows,
                        rank_intervals=intervals, draws=draws)


def test_importance_bars_are_sorted_with_rank_intervals():
    result = make_result()
    fig = importance_figure(result)
    bar = fig.data[0]
    assert list(bar.y)[::-1] == list(result.importance()["feature"])
    np.testing.assert_allclose(list(bar.x)[::-1], np.sort(np.abs(result.values).mean(axis=0))[::-1])
    top_label = list(bar.text)[-1]
    assert top_label == f"rank {result.rank_intervals[bar.y[-1]][0]}-{result.rank_intervals[bar.y[-1]][1]}"
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert "40 rows explained" in fig.layout.title.subtitle.text.replace("<br>", " ")


def test_many_features_fold_into_other_features():
    result = make_result(n_features=60)
    fig = importance_figure(result, top_k=15)
    bar = fig.data[0]
    assert len(bar.y) == 16 and bar.y[0] == "45 other features"
    mean_abs = np.abs(result.values).mean(axis=0)
    assert bar.x[0] == pytest.approx(np.sort(mean_abs)[:45].sum())
    swarm = beeswarm_figure(result, top_k=12)
    assert len(swarm.data) == 12
    assert "48 less important features" in swarm.layout.title.subtitle.text.replace("<br>", " ")


def test_beeswarm_points_are_the_values():
    result = make_result()
    fig = beeswarm_figure(result, top_k=2)
    top = fig.data[-1]  # the most important feature is drawn last (on top)
    assert top.name == "f0"
    np.testing.assert_allclose(top.x, result.values[:, 0])
    assert set(np.round(top.y)) == {1.0}
    capped = beeswarm_figure(make_result(n_rows=300), top_k=1, max_points=100)
    assert len(capped.data[0].x) == 100
    assert "Showing 100 of 300 rows" in capped.layout.title.subtitle.text.replace("<br>", " ")


def test_dependence_plots_value_against_shap_coloured_by_a_category():
    result = make_result()
    fig = dependence_figure(result, "f0", color_by="f1")
    trace = fig.data[0]
    np.testing.assert_allclose(trace.x, result.data["f0"].to_numpy())
    np.testing.assert_allclose(trace.y, result.values[:, 0])
    assert list(trace.marker.colorbar.ticktext) == ["&lt;b&gt;blue&lt;/b&gt;", "red"]
    categorical = dependence_figure(result, "f1")
    assert set(categorical.data[0].x) == {"red", "&lt;b&gt;blue&lt;/b&gt;"}
    assert "f1" in categorical.layout.xaxis.title.text


def test_waterfall_ends_at_the_rows_score():
    result = make_result(n_features=14)
    fig = waterfall_figure(result, 3, top_k=10)
    trace = fig.data[0]
    assert set(trace.measure) == {"relative"}  # every bar is a push; the base is where they start, not a bar
    assert trace.base == pytest.approx(result.base_value)
    assert sum(trace.x) + trace.base == pytest.approx(result.scores[3])
    lines = sorted(shape.x0 for shape in fig.layout.shapes)
    assert lines == pytest.approx(sorted([result.base_value, result.scores[3]]))
    assert trace.y[-1] == "4 other features"
    assert "red bars push the score right" in fig.layout.title.subtitle.text.replace("<br>", " ")
    steps = waterfall_data(result.values[3], result.feature_names, result.data.iloc[3].tolist(),
                           base_value=result.base_value, top_k=3)
    assert list(np.abs(steps["shap"][:3])) == sorted(np.abs(steps["shap"][:3]), reverse=True)
    assert f"{result.probabilities[3]:.1%}" in fig.layout.title.subtitle.text


def test_importance_split_by_group_gives_each_group_its_own_mean():
    result = make_result()
    groups = ["A"] * 30 + ["B"] * 10
    data = group_importance_data(result, groups, top_k=2)
    a = data[(data["group"] == "A") & (data["feature"] == "f0")]["mean_abs_shap"].item()
    assert a == pytest.approx(np.abs(result.values[:30, 0]).mean())
    assert data[data["group"] == "B"]["n"].iloc[0] == 10
    fig = group_importance_figure(result, groups, group_name="sex", top_k=2, min_size=20)
    names = [trace.name for trace in fig.data]
    assert names == ["A (n=30)", "B (n=10) - too few rows to trust"]
    assert isinstance(fig, go.Figure) and fig.layout.barmode == "group"
    with pytest.raises(ValueError, match="one group label per explained row"):
        group_importance_data(result, ["A"])
