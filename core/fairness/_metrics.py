"""Per-group confusion counts and the rates that are functions of them.

Every count-based metric (selection rate, accuracy, TPR, FPR, FNR, precision, base rate) is a function of a group's
four confusion cells, counted in one pass over the rows. Point estimates and the bootstrap's resamples (see
``_bootstrap``) are the same functions of the same cells, so they come from one source; the tests hold the point
estimates equal to fairlearn's ``MetricFrame`` on the rows (which took 25 s over a million rows here).
"""

from __future__ import annotations

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


def metric_frame(counts: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Point estimates per group (rows ``names``): the row count, then every rate of :func:`rates`.

    The same rates the bootstrap resamples, so point estimates and intervals come from one source; NaN where a
    rate's denominator is zero in a group (TPR without positives, precision without selections), never the 0 that
    scikit-learn substitutes. The tests hold them equal to fairlearn's ``MetricFrame`` on the rows; computing them
    here spares every audit the import of fairlearn, scikit-learn and scipy.stats (1.1 s of 2.3 s on a million rows).
    """
    frame = pd.DataFrame(rates(counts), index=pd.Index(names, name="group"), columns=list(RATE_NAMES))
    frame.insert(0, "count", counts.sum(axis=1))
    return frame
