"""Score a trained classifier on held-out rows: the numbers and curves every later page and the report show.

One :class:`Evaluation` object carries the metrics, the confusion matrix, ROC / precision-recall / calibration
curves; figure builders only reshape it (shap-style: compute once, plot many times). Conventions:

* ``positive_index`` names the class the user cares about ("income >50K", "defaulted"). Threshold metrics
  (precision, recall, F1), ROC/PR curves, the Brier score and calibration are *positive vs rest*, so the same
  definitions hold for binary and multiclass targets.
* Binary predictions come from the positive score at ``threshold``; multiclass predictions are the argmax (a
  single threshold has no meaning there, and a note says so).
* A test set holding a single class makes ROC AUC / PR AUC undefined: they become NaN with a note instead of an
  exception, because a tiny upload should still show what can be shown.
* Every run also gets a per-class table (support, precision, recall, F1, one-vs-rest ROC AUC of each class) and
  macro (every class counts the same) and weighted (by support) averages of them, so a multiclass run is not
  judged by one class alone.
* Curves are thinned to at most ``max_curve_points`` (200) at construction, keeping the end points, so the object
  and its JSON form are the same thing; the AUCs are computed on the full curve first.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    log_loss,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from core.jsonsafe import finite

METRIC_KEYS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss",
               "brier")
N_BINS = 10
ONE_CLASS_NOTE = ("the evaluated rows hold only {which}, so ROC AUC and PR AUC are undefined (shown as NaN); "
                  "use a larger test set.")
MULTICLASS_NOTE = ("with {k} classes the predicted class is {how}. Precision, recall, F1, ROC, PR and "
                   "calibration treat class {name!r} as positive and all others as negative.")
BAD_INPUT = "cannot evaluate: {why}"


def _thin(n: int, max_points: int) -> np.ndarray:
    """Indices of at most ``max_points`` evenly spaced points, always keeping the first and the last."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(np.int64))


def _floats(values: np.ndarray) -> list[float | None]:
    """JSON-safe floats: non-finite (the +inf first ROC threshold, NaN) become None."""
    return finite(np.asarray(values, dtype=np.float64).tolist())


def _restore(values: Sequence[float | None], missing: float = math.nan) -> list[float]:
    return [missing if v is None else float(v) for v in values]


@dataclass(frozen=True)
class Evaluation:
    """Metrics and curves of one model on one set of rows (see the module docstring for the conventions)."""

    metrics: dict[str, float]
    confusion: list[list[int]]
    class_names: list[str]
    roc: dict[str, list[float]]
    pr: dict[str, list[float]]
    calibration: dict[str, list[float]]
    positive_index: int
    threshold: float
    n_rows: int
    prevalence: float
    notes: list[str] = field(default_factory=list)
    per_class: list[dict[str, Any]] = field(default_factory=list)
    averages: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def positive_name(self) -> str:
        return self.class_names[self.positive_index]

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready: NaN metrics and infinite thresholds become ``None``."""
        return {
            "metrics": finite(dict(self.metrics)),
            "confusion": {"labels": list(self.class_names), "matrix": [list(r) for r in self.confusion]},
            "class_names": list(self.class_names),
            "roc": {k: _floats(np.asarray(v)) for k, v in self.roc.items()},
            "pr": {k: _floats(np.asarray(v)) for k, v in self.pr.items()},
            "calibration": {k: _floats(np.asarray(v)) for k, v in self.calibration.items()},
            "positive_index": self.positive_index,
            "positive_name": self.positive_name,
            "threshold": self.threshold,
            "n_rows": self.n_rows,
            "prevalence": self.prevalence,
            "notes": list(self.notes),
            "per_class": [finite(dict(row)) for row in self.per_class],
            "averages": {k: finite(dict(v)) for k, v in self.averages.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        """Inverse of :meth:`to_dict` (``None`` thresholds come back as +inf, ``None`` metrics as NaN)."""
        def curve(part: dict[str, Any]) -> dict[str, list[float]]:
            return {k: _restore(v, math.inf if k == "thresholds" else math.nan) for k, v in part.items()}

        return cls(
            metrics={k: (math.nan if v is None else float(v)) for k, v in data["metrics"].items()},
            confusion=[[int(x) for x in row] for row in data["confusion"]["matrix"]],
            class_names=[str(c) for c in data["class_names"]],
            roc=curve(data["roc"]),
            pr=curve(data["pr"]),
            calibration={k: _restore(v) for k, v in data["calibration"].items()},
            positive_index=int(data["positive_index"]),
            threshold=float(data["threshold"]),
            n_rows=int(data["n_rows"]),
            prevalence=float(data["prevalence"]),
            notes=[str(n) for n in data.get("notes", [])],
            per_class=[{k: (math.nan if v is None else v) for k, v in row.items()}
                       for row in data.get("per_class", [])],
            averages={k: {m: (math.nan if v is None else float(v)) for m, v in part.items()}
                      for k, part in data.get("averages", {}).items()},
        )


def calibration_bins(truth: np.ndarray, score: np.ndarray, n_bins: int = N_BINS) -> dict[str, list[float]]:
    """Reliability table over ``n_bins`` equal-width bins of the score (sklearn's binning), non-empty bins only."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], score)
    count = np.bincount(ids, minlength=n_bins)
    sum_score = np.bincount(ids, weights=score, minlength=n_bins)
    sum_true = np.bincount(ids, weights=truth.astype(np.float64), minlength=n_bins)
    keep = count > 0
    return {
        "bin_lower": edges[:-1][keep].tolist(),
        "bin_upper": edges[1:][keep].tolist(),
        "mean_predicted": (sum_score[keep] / count[keep]).tolist(),
        "fraction_positive": (sum_true[keep] / count[keep]).tolist(),
        "count": count[keep].astype(np.float64).tolist(),
    }


AVERAGED = ("precision", "recall", "f1", "roc_auc")


def class_table(y: np.ndarray, p: np.ndarray, predicted: np.ndarray, names: Sequence[str]
                ) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    """Per-class rows (class, support, predicted, precision, recall, F1, one-vs-rest ROC AUC) and their macro and
    support-weighted averages; a class absent from the rows has an undefined (NaN) AUC and is left out of the
    AUC averages."""
    k = p.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        precision, recall, f1, support = precision_recall_fscore_support(y, predicted, labels=list(range(k)),
                                                                         average=None, zero_division=0.0)
    rows = []
    for c in range(k):
        truth = y == c
        auc = float(roc_auc_score(truth, p[:, c])) if 0 < truth.sum() < y.size else math.nan
        rows.append({"class": str(names[c]), "support": int(support[c]), "predicted": int((predicted == c).sum()),
                     "precision": float(precision[c]), "recall": float(recall[c]), "f1": float(f1[c]),
                     "roc_auc": auc})
    weights = support.astype(np.float64)
    averages: dict[str, dict[str, float]] = {"macro": {}, "weighted": {}}
    for key in AVERAGED:
        values = np.array([row[key] for row in rows], dtype=np.float64)
        known = np.isfinite(values)
        averages["macro"][key] = float(values[known].mean()) if known.any() else math.nan
        total = weights[known].sum()
        averages["weighted"][key] = float((values[known] * weights[known]).sum() / total) if total else math.nan
    return rows, averages


def _check(y_true: np.ndarray, proba: np.ndarray, positive_index: int, threshold: float) -> None:
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise ValueError(BAD_INPUT.format(why="proba must be an (n, K >= 2) array of class probabilities"))
    if y_true.ndim != 1 or y_true.shape[0] != proba.shape[0] or y_true.size == 0:
        raise ValueError(BAD_INPUT.format(why="y_true must be a non-empty 1-D array with one label per proba row"))
    if not np.issubdtype(y_true.dtype, np.integer) or y_true.min() < 0 or y_true.max() >= proba.shape[1]:
        raise ValueError(BAD_INPUT.format(why=f"y_true must hold class indices 0..{proba.shape[1] - 1}"))
    if not 0 <= positive_index < proba.shape[1]:
        raise ValueError(BAD_INPUT.format(why=f"positive_index {positive_index} is not a class index"))
    if not 0 < threshold < 1:
        raise ValueError(BAD_INPUT.format(why=f"threshold must be between 0 and 1; got {threshold}"))
    if not np.isfinite(proba).all():
        raise ValueError(BAD_INPUT.format(why="proba contains NaN or infinite values"))


def evaluate(y_true: np.ndarray, proba: np.ndarray, *, positive_index: int, threshold: float = 0.5,
             class_names: Sequence[str] | None = None, max_curve_points: int = 200,
             predicted: np.ndarray | None = None) -> Evaluation:
    """Compute the metrics and curves of ``proba`` (n x K class probabilities) against class indices ``y_true``.

    ``predicted`` (class indices) replaces the thresholded decisions of a binary model (or the argmax of a
    multiclass one) when a run decides by another rule (per-group thresholds of a fairness mitigation, an imported
    decision column).

    ``metrics`` has exactly the keys of :data:`METRIC_KEYS`. Raises ``ValueError`` for inconsistent inputs (a
    programming error, not a user one).
    """
    y = np.asarray(y_true)
    p = np.asarray(proba, dtype=np.float64)
    _check(y, p, positive_index, threshold)
    k = p.shape[1]
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(BAD_INPUT.format(why=f"{len(names)} class names for {k} classes"))
    score = p[:, positive_index]
    truth = y == positive_index
    notes: list[str] = []
    if k > 2:
        how = ("the most probable one; the threshold only applies to binary targets" if predicted is None
               else "the one the run's decision rule gives")
        notes.append(MULTICLASS_NOTE.format(k=k, how=how, name=names[positive_index]))
    if predicted is not None:  # a multiclass run's decisions too: a one-vs-rest rule moved one class
        predicted = np.asarray(predicted)
        if predicted.shape != y.shape:
            raise ValueError(BAD_INPUT.format(why=f"{predicted.size} decisions for {y.size} rows"))
    elif k == 2:
        predicted = np.where(score >= threshold, positive_index, 1 - positive_index)
    else:
        predicted = p.argmax(axis=1)
    n_pos = int(truth.sum())
    both = 0 < n_pos < y.size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # single-class and zero-division warnings are handled explicitly below
        precision, recall, f1, _ = precision_recall_fscore_support(y, predicted, labels=[positive_index],
                                                                   average=None, zero_division=0.0)
        metrics = {
            "accuracy": float(np.mean(predicted == y)),
            "balanced_accuracy": float(balanced_accuracy_score(y, predicted)),
            "precision": float(precision[0]),
            "recall": float(recall[0]),
            "f1": float(f1[0]),
            "roc_auc": float(roc_auc_score(truth, score)) if both else math.nan,
            "pr_auc": float(average_precision_score(truth, score)) if both else math.nan,
            "log_loss": float(log_loss(y, p, labels=list(range(k)))),
            "brier": float(np.mean((score - truth) ** 2)),
        }
    if not both:
        which = f"class {names[positive_index]!r}" if n_pos else f"rows that are not class {names[positive_index]!r}"
        notes.append(ONE_CLASS_NOTE.format(which=which))
        roc: dict[str, list[float]] = {"fpr": [], "tpr": [], "thresholds": []}
        pr: dict[str, list[float]] = {"precision": [], "recall": [], "thresholds": []}
    else:
        fpr, tpr, roc_thr = roc_curve(truth, score)
        keep = _thin(fpr.size, max_curve_points)
        roc = {"fpr": fpr[keep].tolist(), "tpr": tpr[keep].tolist(), "thresholds": roc_thr[keep].tolist()}
        prec, rec, pr_thr = precision_recall_curve(truth, score)
        pr_thr = np.append(pr_thr, np.inf)  # sklearn gives one threshold fewer; the last point (recall 0) has none
        keep = _thin(prec.size, max_curve_points)
        pr = {"precision": prec[keep].tolist(), "recall": rec[keep].tolist(), "thresholds": pr_thr[keep].tolist()}
    matrix = confusion_matrix(y, predicted, labels=list(range(k)))
    per_class, averages = class_table(y, p, predicted, names)
    return Evaluation(metrics=metrics, confusion=matrix.astype(int).tolist(), class_names=names, roc=roc, pr=pr,
                      calibration=calibration_bins(truth, score), positive_index=int(positive_index),
                      threshold=float(threshold), n_rows=int(y.size), prevalence=n_pos / y.size, notes=notes,
                      per_class=per_class, averages=averages)


def per_class_frame(evaluation: dict[str, Any] | Evaluation) -> pd.DataFrame:
    """The per-class table of an evaluation (its dict form or the object), for display: one row per class, then
    the macro and weighted averages (their support and predicted counts empty)."""
    data = evaluation.to_dict() if isinstance(evaluation, Evaluation) else evaluation
    columns = ["class", "support", "predicted", "precision", "recall", "f1", "roc_auc"]
    rows = [dict(row) for row in data.get("per_class") or []]
    rows += [{"class": f"{kind} average", **part} for kind, part in (data.get("averages") or {}).items()]
    return pd.DataFrame(rows, columns=columns)
