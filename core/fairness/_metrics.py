"""Per-group confusion counts and the rates that are functions of them.

Every count-based metric (selection rate, accuracy, TPR, FPR, FNR, precision, base rate) is a function of a group's
four confusion cells. The point estimates come from fairlearn's :class:`MetricFrame`, evaluated on the *weighted
cells* (one row per group x (label, decision) cell, weight = its count): that gives exactly the row-level values
but costs milliseconds, where ``MetricFrame`` over a million rows took 25 s here. The same cells are what the
bootstrap resamples (see ``_bootstrap``), so point estimates and intervals are computed from one source.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

# cell order along the last axis of every counts array
TN, FP, FN, TP = range(4)
RATE_NAMES = ("base_rate", "selection_rate", "accuracy", "tpr", "fpr", "fnr", "precision")


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """``(n_groups, 4)`` int64 counts of [TN, FP, FN, TP] in one ``bincount`` pass over the rows."""
    cell = codes.astype(np.int64) * 4 + y_true.astype(np.int64) * 2 + y_pred.astype(np.int64)
    return np.bincount(cell, minlength=n_groups * 4).reshape(n_groups, 4)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def rates(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Every count-based rate for counts of shape ``(..., 4)``; NaN where a rate is undefined (no positives...)."""
    c = counts.astype(np.float64)
    tn, fp, fn, tp = c[..., TN], c[..., FP], c[..., FN], c[..., TP]
    n = tn + fp + fn + tp
    return {
        "base_rate": _ratio(fn + tp, n),
        "selection_rate": _ratio(fp + tp, n),
        "accuracy": _ratio(tn + tp, n),
        "tpr": _ratio(tp, tp + fn),
        "fpr": _ratio(fp, fp + tn),
        "fnr": _ratio(fn, fn + tp),
        "precision": _ratio(tp, tp + fp),
    }


def rate_parts(counts: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(numerator, denominator) counts of every rate in :func:`rates`, for exact binomial intervals."""
    c = counts.astype(np.int64)
    tn, fp, fn, tp = c[..., TN], c[..., FP], c[..., FN], c[..., TP]
    n = tn + fp + fn + tp
    return {"base_rate": (fn + tp, n), "selection_rate": (fp + tp, n), "accuracy": (tn + tp, n),
            "tpr": (tp, tp + fn), "fpr": (fp, fp + tn), "fnr": (fn, fn + tp), "precision": (tp, tp + fp)}


def _base_rate(y_true, y_pred, *, sample_weight=None) -> float:
    return float(np.average(y_true, weights=sample_weight))


def _precision(y_true, y_pred, *, sample_weight=None) -> float:
    from sklearn.metrics import precision_score

    return float(precision_score(y_true, y_pred, sample_weight=sample_weight, zero_division=np.nan))


def _frame_metrics() -> dict:
    """fairlearn's and scikit-learn's metric functions, imported here: reading a cached report needs neither."""
    from fairlearn.metrics import false_negative_rate, false_positive_rate, selection_rate, true_positive_rate
    from sklearn.metrics import accuracy_score

    return {"base_rate": _base_rate, "selection_rate": selection_rate, "accuracy": accuracy_score,
            "tpr": true_positive_rate, "fpr": false_positive_rate, "fnr": false_negative_rate,
            "precision": _precision}


def metric_frame(counts: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Point estimates per group from fairlearn's ``MetricFrame`` on the weighted confusion cells.

    Rates whose denominator is zero in a group (TPR without positives, precision without selections) are NaN, not
    the 0 that scikit-learn substitutes, so an undefined rate is never mistaken for a measured one.
    """
    from fairlearn.metrics import MetricFrame

    metrics = _frame_metrics()
    group_index, cell_index = np.nonzero(counts)
    y_true = np.array([0, 0, 1, 1])[cell_index]
    y_pred = np.array([0, 1, 0, 1])[cell_index]
    weight = counts[group_index, cell_index].astype(np.float64)
    sensitive = pd.Series(np.asarray(names, dtype=object)[group_index], name="group")
    params = {name: {"sample_weight": weight} for name in metrics}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined rates are masked below
        frame = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=sensitive,
                            sample_params=params).by_group
    frame = frame.reindex(names).astype(np.float64)
    defined = rates(counts)
    for name in RATE_NAMES:
        frame.loc[np.isnan(defined[name]), name] = np.nan
    frame.insert(0, "count", counts.sum(axis=1))
    return frame
