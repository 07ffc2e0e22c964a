"""evaluate(): hand-computed binary and multiclass cases, one-class sets, curve thinning, JSON round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score

from core.training.evaluate import METRIC_KEYS, Evaluation, calibration_bins, evaluate

Y = np.array([0, 0, 1, 1])
P1 = np.array([0.1, 0.4, 0.35, 0.8])


def _binary(p1: np.ndarray) -> np.ndarray:
    return np.column_stack([1 - p1, p1])


def test_binary_hand_values() -> None:
    ev = evaluate(Y, _binary(P1), positive_index=1, class_names=["no", "yes"])
    assert tuple(ev.metrics) == METRIC_KEYS
    expected = {
        "accuracy": 0.75,  # predictions at 0.5: [0, 0, 0, 1]
        "balanced_accuracy": 0.75,  # (1 + 0.5) / 2
        "precision": 1.0,
        "recall": 0.5,
        "f1": 2 / 3,
        "roc_auc": 0.75,  # 3 of 4 positive/negative pairs ordered correctly
        "pr_auc": 0.5 * 1 + 0.5 * (2 / 3),  # recall steps times precision
        "log_loss": -np.mean(np.log([0.9, 0.6, 0.35, 0.8])),
        "brier": (0.1**2 + 0.4**2 + 0.65**2 + 0.2**2) / 4,
    }
    for key, value in expected.items():
        assert ev.metrics[key] == pytest.approx(value, abs=1e-12), key
    assert ev.confusion == [[2, 0], [1, 1]]
    assert ev.roc["fpr"] == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert ev.roc["tpr"] == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert ev.roc["thresholds"] == [math.inf, 0.8, 0.4, 0.35, 0.1]
    assert ev.pr["recall"] == [1.0, 1.0, 0.5, 0.5, 0.0]
    assert ev.pr["precision"] == pytest.approx([0.5, 2 / 3, 0.5, 1.0, 1.0])
    assert ev.prevalence == 0.5 and ev.n_rows == 4 and ev.positive_name == "yes" and ev.notes == []


def test_threshold_moves_the_predictions() -> None:
    ev = evaluate(Y, _binary(P1), positive_index=1, threshold=0.3)
    assert ev.confusion == [[1, 1], [0, 2]]  # predictions [0, 1, 1, 1]
    assert ev.metrics["recall"] == 1.0 and ev.metrics["precision"] == pytest.approx(2 / 3)
    assert ev.metrics["roc_auc"] == 0.75  # ranking metrics do not depend on the threshold


def test_positive_class_zero() -> None:
    ev = evaluate(Y, _binary(P1), positive_index=0)
    # class 0 score = 1 - P1; predicted 0 when that score >= 0.5 -> [0, 0, 0, 1], as before
    assert ev.confusion == [[2, 0], [1, 1]]
    assert ev.metrics["precision"] == pytest.approx(2 / 3) and ev.metrics["recall"] == 1.0
    assert ev.metrics["roc_auc"] == 0.75 and ev.prevalence == 0.5


def test_multiclass_hand_values() -> None:
    y = np.array([0, 1, 2, 2, 1])
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6], [0.5, 0.3, 0.2], [0.1, 0.3, 0.6]])
    ev = evaluate(y, proba, positive_index=2, class_names=["a", "b", "c"])
    assert ev.confusion == [[1, 0, 0], [0, 1, 1], [1, 0, 1]]
    expected = {"accuracy": 0.6, "balanced_accuracy": 2 / 3, "precision": 0.5, "recall": 0.5, "f1": 0.5,
                "roc_auc": 3.5 / 6, "pr_auc": 0.5, "brier": 1.26 / 5,
                "log_loss": -np.mean(np.log([0.7, 0.6, 0.6, 0.2, 0.3]))}
    for key, value in expected.items():
        assert ev.metrics[key] == pytest.approx(value, abs=1e-12), key
    assert len(ev.notes) == 1 and "most probable" in ev.notes[0] and "'c'" in ev.notes[0]


def test_single_class_set_is_not_a_crash() -> None:
    ev = evaluate(np.zeros(4, dtype=int), _binary(P1), positive_index=1)
    assert math.isnan(ev.metrics["roc_auc"]) and math.isnan(ev.metrics["pr_auc"])
    assert ev.roc["fpr"] == [] and ev.pr["recall"] == []
    assert any("undefined" in note for note in ev.notes)
    assert ev.metrics["accuracy"] == 0.75 and ev.confusion == [[3, 1], [0, 0]]
    data = ev.to_dict()
    assert data["metrics"]["roc_auc"] is None
    json.dumps(data, allow_nan=False)


def test_calibration_bins() -> None:
    table = calibration_bins(np.array([0, 1, 0, 1]), np.array([0.05, 0.15, 0.12, 0.95]))
    assert table == {"bin_lower": [0.0, 0.1, 0.9], "bin_upper": [0.1, 0.2, 1.0],
                     "mean_predicted": [0.05, pytest.approx(0.135), 0.95], "fraction_positive": [0.0, 0.5, 1.0],
                     "count": [1.0, 2.0, 1.0]}
    rng = np.random.default_rng(0)
    score = rng.random(5000)
    truth = rng.random(5000) < score
    table = calibration_bins(truth, score)
    prob_true, prob_pred = calibration_curve(truth, score, n_bins=10)
    np.testing.assert_allclose(table["fraction_positive"], prob_true, rtol=1e-12)
    np.testing.assert_allclose(table["mean_predicted"], prob_pred, rtol=1e-12)
    assert sum(table["count"]) == 5000


def test_curves_are_thinned_but_aucs_are_exact() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 20_000)
    p1 = np.clip(0.5 + 0.2 * (y - 0.5) + rng.normal(0, 0.2, y.size), 0.001, 0.999)
    ev = evaluate(y, _binary(p1), positive_index=1)
    assert len(ev.roc["fpr"]) <= 200 and len(ev.pr["recall"]) <= 200
    assert (ev.roc["fpr"][0], ev.roc["tpr"][0], ev.roc["fpr"][-1], ev.roc["tpr"][-1]) == (0.0, 0.0, 1.0, 1.0)
    assert ev.metrics["roc_auc"] == roc_auc_score(y, p1)


def test_json_round_trip() -> None:
    ev = evaluate(Y, _binary(P1), positive_index=1, class_names=["no", "yes"])
    text = json.dumps(ev.to_dict(), allow_nan=False)
    again = Evaluation.from_dict(json.loads(text))
    assert again == ev
    assert again.to_dict() == ev.to_dict()
    assert ev.to_dict()["roc"]["thresholds"][0] is None  # +inf is not valid JSON


@pytest.mark.parametrize(("y", "proba", "kwargs", "message"), [
    (Y, P1, {}, "proba must be"),
    (Y[:3], _binary(P1), {}, "one label per proba row"),
    (np.array([0, 1, 2, 1]), _binary(P1), {}, "class indices 0..1"),
    (Y, _binary(P1), {"positive_index": 2}, "positive_index 2"),
    (Y, _binary(P1), {"threshold": 1.0}, "threshold"),
    (Y, _binary(np.array([0.1, np.nan, 0.3, 0.2])), {}, "NaN"),
])
def test_bad_inputs(y, proba, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(y, proba, **({"positive_index": 1} | kwargs))
