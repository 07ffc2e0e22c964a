"""Privacy figures: titled, labelled, log-log ROC, escaped user text, render with no data."""

from __future__ import annotations

import numpy as np

from core.figures.privacy import (
    audit_roc_figure,
    budget_heatmap_figure,
    budget_meter_figure,
    epsilon_curve_figure,
    group_leakage_figure,
    privacy_utility_figure,
)
from core.privacy import attack_report


def _titled(fig, x=True):
    assert fig.layout.title.text
    if x:
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_epsilon_curve_and_empty():
    fig = epsilon_curve_figure([1, 2, 3], [0.3, 0.5, float("nan")], target=1.0)
    _titled(fig)
    assert list(fig.data[0].y) == [0.3, 0.5, None]
    _titled(epsilon_curve_figure([], []))


def test_heatmap_marks_cells_within_target():
    fig = budget_heatmap_figure([0.5, 1.0], [1, 10], [[2.0, 9.0], [0.4, 1.5]], target=1.0)
    _titled(fig)
    assert fig.data[0].text[1][0].endswith("✓") and not fig.data[0].text[0][1].endswith("✓")


def test_meter_with_and_without_target():
    fig = budget_meter_figure(0.7, 1.0)
    assert fig.data[0].value == 0.7 and fig.data[0].gauge.threshold.value == 1.0
    assert budget_meter_figure(None, None).data[0].value == 0.0


def test_audit_roc_is_log_log_with_chance_line():
    rng = np.random.default_rng(0)
    report = attack_report("loss", rng.normal(0.5, 1, 500), rng.normal(0, 1, 500))
    fig = audit_roc_figure({"loss": report})
    _titled(fig)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert "AUC" in fig.data[0].name and fig.data[-1].name.startswith("chance")
    assert len(audit_roc_figure({}).data) == 1


def test_group_and_utility_escape_user_text():
    groups = {"<b>x</b>": {"n_members": 5, "n_nonmembers": 6, "attack_auc": 0.7, "small": True}}
    fig = group_leakage_figure(groups, "<i>race</i>")
    assert "<b>" not in fig.data[0].x[0] and "&lt;b&gt;" in fig.data[0].x[0]
    assert "&lt;i&gt;" in fig.layout.title.text
    points = [{"run_id": "a", "name": "<script>", "epsilon": 1.0, "roc_auc": 0.8},
              {"run_id": "b", "name": "plain", "epsilon": None, "roc_auc": 0.85}]
    fig = privacy_utility_figure(points)
    _titled(fig)
    assert "&lt;script&gt;" in fig.data[0].text[0]
    _titled(privacy_utility_figure([]))


def test_non_private_runs_sit_in_their_own_labelled_lane_not_at_an_epsilon():
    points = [{"run_id": "a", "name": "ε 1", "epsilon": 1.0, "roc_auc": 0.88},
              {"run_id": "b", "name": "ε 8", "epsilon": 8.0, "roc_auc": 0.9},
              {"run_id": "c", "name": "plain", "epsilon": None, "roc_auc": 0.91}]
    fig = privacy_utility_figure(points)
    private, plain = fig.data
    assert list(private.x) == [1.0, 8.0] and private.xaxis == "x"
    assert list(plain.x) == ["no guarantee"] and plain.xaxis == "x2" and plain.yaxis == "y2"
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis2.type == "category"
    assert fig.layout.yaxis2.matches == "y" or fig.layout.yaxis2.anchor == "x2"
    assert "no guarantee" in fig.layout.title.subtitle.text
