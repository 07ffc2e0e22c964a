"""Sliced metrics and their intervals: hand values, fairlearn as the reference, flags, coverage."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, precision_score, roc_auc_score

from core.data.spec import SensitiveColumn
from core.errors import FairnessError
from core.fairness import FairnessReport, audit_groups, group_labels
from core.fairness._auc import delong_auc
from core.fairness._bootstrap import percentile_interval, resample_counts, spread
from core.fairness._metrics import confusion_counts, rates
from core.fairness._report import BAD_LENGTHS
from core.fairness._summary import summarise

HAND_TRUE = [1, 0, 1, 1, 0, 1, 0, 0]
HAND_PRED = [1, 0, 0, 1, 1, 1, 0, 1]
HAND_GROUP = list("aaaabbbb")


def test_hand_table_gives_the_reference_values():
    report = audit_groups(HAND_TRUE, HAND_PRED, HAND_GROUP, min_group=1, max_ci_width=1.0, resamples=100)
    a, b = report.group("a"), report.group("b")
    assert a.metrics["selection_rate"] == 0.5 and b.metrics["selection_rate"] == 0.75
    assert a.metrics["tpr"] == pytest.approx(2 / 3, abs=1e-12) and b.metrics["tpr"] == 1.0
    assert report.disparities["demographic_parity_difference"].value == pytest.approx(0.25, abs=1e-12)
    assert (a.count, b.count) == (4, 4)


def _random_table(n=3000, seed=1):
    rng = np.random.default_rng(seed)
    group = rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < np.where(group == "x", 0.4, 0.25)).astype(int)
    score = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
    pred = (score >= np.where(group == "z", 0.45, 0.5)).astype(int)
    return y, pred, score, group


def test_point_estimates_equal_fairlearn_on_the_rows():
    y, pred, score, group = _random_table()
    report = audit_groups(y, pred, group, score=score, resamples=50)
    frame = MetricFrame(metrics={"selection_rate": selection_rate, "accuracy": accuracy_score,
                                 "tpr": true_positive_rate, "fpr": false_positive_rate,
                                 "fnr": false_negative_rate, "precision": precision_score,
                                 "base_rate": lambda t, p: float(np.mean(t))},
                        y_true=y, y_pred=pred, sensitive_features=group).by_group
    for name in ("x", "y", "z"):
        for metric in frame.columns:
            assert report.group(name).metrics[metric] == pytest.approx(frame.loc[name, metric], abs=1e-12)
        rows = group == name
        assert report.group(name).metrics["roc_auc"] == pytest.approx(roc_auc_score(y[rows], score[rows]), abs=1e-12)
        assert report.group(name).metrics["mean_score"] == pytest.approx(score[rows].mean(), abs=1e-12)
    d = report.disparities
    assert d["demographic_parity_difference"].value == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=group), abs=1e-12)
    assert d["demographic_parity_ratio"].value == pytest.approx(
        demographic_parity_ratio(y, pred, sensitive_features=group), abs=1e-12)
    assert d["equalized_odds_difference"].value == pytest.approx(
        equalized_odds_difference(y, pred, sensitive_features=group), abs=1e-12)
    for disparity in d.values():
        assert disparity.low <= disparity.value <= disparity.high


def test_intervals_are_seeded():
    y, pred, _, group = _random_table(800)
    first, again, other = (json.dumps(audit_groups(y, pred, group, resamples=200, seed=seed).to_dict())
                           for seed in (3, 3, 4))
    assert first == again
    assert first != other


def test_missing_values_form_an_explicit_group_listed_last():
    frame = pd.DataFrame({"sex": ["F", None, "M", "F", None, "M"] * 20})
    labels = group_labels(frame, ["sex"])["sex"]
    report = audit_groups([0, 1] * 60, [1, 1, 0] * 40, labels, resamples=50, min_group=10)
    assert [g.group for g in report.groups] == ["F", "M", "missing"]
    assert report.group("missing").count == 40


def test_small_groups_are_flagged_not_ranked_and_left_out_of_gaps():
    rng = np.random.default_rng(0)
    group = np.array(["big"] * 400 + ["other"] * 400 + ["tiny"] * 12)
    y = rng.integers(0, 2, len(group))
    pred = np.where(group == "tiny", 1, rng.integers(0, 2, len(group)))
    report = audit_groups(y, pred, group, resamples=200, min_group=30)
    tiny = report.group("tiny")
    assert tiny.small and tiny.rank is None and "12 rows, fewer than 30" in tiny.reason
    assert {report.group("big").rank, report.group("other").rank} == {1, 2}
    gap = report.disparities["demographic_parity_difference"]
    assert gap.excluded == ("tiny",) and "tiny" not in gap.groups
    assert gap.value < 0.2  # the tiny group's selection rate of 1.0 would make it about 0.5


def test_too_wide_interval_flags_a_group():
    group = np.array(["a"] * 200 + ["b"] * 40)
    y = np.tile([0, 1], 120)
    pred = np.tile([0, 1, 1, 0], 60)
    report = audit_groups(y, pred, group, resamples=300, min_group=30, max_ci_width=0.2)
    assert report.group("b").small and "interval" in report.group("b").reason
    assert not report.group("a").small
    assert report.disparities["demographic_parity_difference"].value is None


def test_intersectional_groups_and_binned_numeric_columns():
    frame = pd.DataFrame({"sex": ["F", "M", "F", "M"] * 30, "age": [20, 30, 50, 70] * 30,
                          "race": ["p", "p", "q", "q"] * 30})
    age = SensitiveColumn("age", binning="edges", edges=(25.0, 45.0))
    labels = group_labels(frame, [SensitiveColumn("sex"), age], intersect=True)
    assert list(labels) == ["sex × age"]
    counts = labels["sex × age"].value_counts().to_dict()
    assert counts == {"F × [-∞, 25)": 30, "M × [25, 45)": 30, "F × [45, ∞)": 30, "M × [45, ∞)": 30}
    separate = group_labels(frame, ["sex", "race"], rows=np.arange(4))
    assert list(separate) == ["sex", "race"] and separate["race"].tolist() == ["p", "p", "q", "q"]


def test_many_groups_state_the_gaps_chance_would_produce():
    rng = np.random.default_rng(5)
    group = rng.choice([f"g{i}" for i in range(10)], 5000)
    report = audit_groups(rng.integers(0, 2, 5000), rng.integers(0, 2, 5000), group, resamples=400)
    c = report.comparisons
    assert (c.groups, c.pairs, c.expected_by_chance) == (10, 45, 2.25)
    assert c.differing_adjusted <= c.differing <= 10
    assert c.adjusted_level == pytest.approx(1 - 0.05 / 45)
    assert any("chance alone would produce about 2.25" in line for line in summarise(report))


def test_summary_names_the_ratio_interval_and_counts():
    rng = np.random.default_rng(2)
    group = np.array(["women"] * 1530 + ["men"] * 3355)
    pred = (rng.random(len(group)) < np.where(group == "women", 0.1, 0.32)).astype(int)
    report = audit_groups(rng.integers(0, 2, len(group)), pred, group, resamples=300)
    first = summarise(report)[0]
    pair = report.selection_pair
    assert first.startswith(f"women is selected at {pair['ratio']:.2f} the rate of men; interval ")
    assert "1,530 women and 3,355 men rows in the test set" in first
    assert pair["ci"][0] < pair["ratio"] < pair["ci"][1]
    assert report.four_fifths == "fails" and report.four_fifths_flag


def test_report_round_trips_through_json_dicts():
    y, pred, score, group = _random_table(600)
    report = audit_groups(y, pred, group, score=score, resamples=50)
    again = FairnessReport.from_dict(report.to_dict())
    assert json.dumps(again.to_dict()) == json.dumps(report.to_dict())


def test_bad_inputs_raise_typed_errors():
    with pytest.raises(FairnessError, match=BAD_LENGTHS.split("{")[0]):
        audit_groups([0, 1], [0, 1, 1], ["a", "b"])
    with pytest.raises(FairnessError, match="Labels must be 0/1 values"):
        audit_groups([0, 2], [0, 1], ["a", "b"])
    with pytest.raises(FairnessError, match="pick at least one column"):
        group_labels(pd.DataFrame({"a": [1]}), [])
    with pytest.raises(FairnessError, match="'nope' is not in this table"):
        group_labels(pd.DataFrame({"a": [1]}), ["nope"])


def test_count_resampling_matches_its_multinomial_moments():
    counts = np.array([[50, 10, 5, 35], [20, 20, 30, 30]])
    boot = resample_counts(counts, 4000, np.random.default_rng(0))
    assert (boot.sum(axis=2) == counts.sum(axis=1)).all()  # stratified: group sizes kept
    assert boot.mean(axis=0) == pytest.approx(counts, rel=0.03)


def test_interval_covers_the_true_gap_about_95_percent_of_the_time():
    """Coverage of the count bootstrap (the code path ``audit_groups`` uses) over 300 seeded small draws."""
    rng = np.random.default_rng(11)
    true_gap, covered, draws = 0.2, 0, 300
    for _ in range(draws):
        codes = np.repeat([0, 1], 150)
        y = rng.integers(0, 2, 300)
        pred = (rng.random(300) < np.where(codes == 0, 0.5, 0.3)).astype(int)
        boot = rates(resample_counts(confusion_counts(y, pred, codes, 2), 500, rng))
        low, high = percentile_interval(spread(boot["selection_rate"]))
        covered += int(low <= true_gap <= high)
    assert 0.91 <= covered / draws <= 0.985


def test_delong_matches_sklearn_and_the_quadratic_variance():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 300)
    score = np.round(rng.random(300) + 0.4 * y, 1)  # ties on purpose
    auc, low, high = delong_auc(y, score)
    assert auc == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    pos, neg = score[y == 1], score[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    var = psi.mean(axis=1).var(ddof=1) / len(pos) + psi.mean(axis=0).var(ddof=1) / len(neg)
    assert (high - low) / 2 == pytest.approx(1.959963984540054 * math.sqrt(var), rel=1e-9)
    assert all(math.isnan(v) for v in delong_auc([1, 1], [0.2, 0.3]))


def test_a_tiny_group_with_a_rate_of_zero_never_gets_a_zero_width_interval():
    """0 of 12 selected: every bootstrap resample is 0 again; the interval is the exact one, 0 to 0.2646."""
    y_true = np.array([0, 1] * 6 + [0, 1] * 100)
    y_pred = np.array([0] * 12 + [0, 1] * 100)
    groups = np.array(["tiny"] * 12 + ["big"] * 200)
    report = audit_groups(y_true, y_pred, groups, resamples=200, min_group=30)
    low, high = report.group("tiny").intervals["selection_rate"]
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 12), abs=1e-9)  # Clopper-Pearson, k = 0
    assert report.group("tiny").small
    big = report.group("big").intervals["selection_rate"]
    assert big[0] < 0.5 < big[1] and big[1] - big[0] < 0.2  # ordinary groups keep their bootstrap interval
