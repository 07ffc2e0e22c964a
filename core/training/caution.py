""""Too good to be true": a caution on runs whose scores suggest the model was handed the answer.

A test ROC AUC of 0.99 or more on real tabular data almost always means a feature is derived from the target
(a decision code, a post-outcome field, a copy). The same holds when one column alone separates the classes: then
the model does not need the others. Both cases get a caution that names the suspect columns, measured here the
same way the Data page's leakage check measures them (:func:`core.data.schema.single_column_auc`), so the Train
page and ``runs RUN_ID`` say the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.schema import single_column_auc
from core.data.spec import DatasetSpec, label_text
from core.runs import RunStatus

CAUTION_AUC = 0.99
MAX_NAMED = 3
HEADLINE = "too good to be true: check for leakage"


@dataclass(frozen=True)
class LeakageCaution:
    """Why a run's result should not be trusted yet, and the columns to look at first (name, AUC alone)."""

    test_auc: float | None
    suspects: tuple[tuple[str, float], ...]
    message: str

    def to_dict(self) -> dict:
        return {"headline": HEADLINE, "test_roc_auc": self.test_auc, "message": self.message,
                "suspects": [{"column": c, "auc_alone": round(a, 4)} for c, a in self.suspects]}


def column_aucs(frame: pd.DataFrame, spec: DatasetSpec) -> dict[str, float]:
    """ROC AUC of each feature alone for "positive class vs the rest" (direction-free), on rows with a target;
    features it cannot judge (many text levels, all missing) are left out."""
    target = label_text(frame[spec.target])
    present = target.notna().to_numpy()
    y = (target[present] == spec.positive_class).to_numpy().astype(np.int64)
    if y.min(initial=1) == y.max(initial=0):
        return {}
    out = {}
    for name in spec.features:
        if name not in frame.columns:
            continue
        values = frame.loc[present, name]
        known = values.notna().to_numpy()
        if known.sum() < 2:
            continue
        values, labels = values[known], y[known]
        numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
        codes = None if numeric else pd.factorize(values.astype(str))[0]
        auc = single_column_auc(values, labels, codes=codes)
        if auc is not None and math.isfinite(auc):
            out[name] = auc
    return out


def leakage_caution(metrics: dict | None, aucs: dict[str, float], *, dataset_available: bool = True,
                    ) -> LeakageCaution | None:
    """A caution when the test ROC AUC reaches :data:`CAUTION_AUC` or a single feature alone does; else None."""
    auc = (metrics or {}).get("roc_auc")
    auc = float(auc) if isinstance(auc, int | float) and math.isfinite(auc) else None
    ranked = sorted(aucs.items(), key=lambda item: item[1], reverse=True)
    alone = [(c, a) for c, a in ranked if a >= CAUTION_AUC]
    if not alone and (auc is None or auc < CAUTION_AUC):
        return None
    suspects = tuple(alone or ranked[:MAX_NAMED])
    parts = [HEADLINE[0].upper() + HEADLINE[1:] + "."]
    if auc is not None and auc >= CAUTION_AUC:
        parts.append(f"Test ROC AUC is {auc:.3f}; real tabular data rarely allows that.")
    if alone:
        parts.append("On its own, " + _listed(alone) + (" separates" if len(alone) == 1 else " each separate")
                     + " the classes, so the model need not learn anything else.")
    elif suspects:
        parts.append("The columns that rank the classes best on their own are " + _listed(suspects) + ".")
    elif not dataset_available:
        parts.append("The dataset is no longer stored, so the suspect columns cannot be named.")
    parts.append("Check whether they are recorded after the outcome or derived from it; leave them out on the Data "
                 "page (or with --features) and train again.")
    return LeakageCaution(test_auc=auc, suspects=suspects, message=" ".join(parts))


def _listed(items) -> str:
    shown = [f"{name!r} (ROC AUC {value:.3f} alone)" for name, value in list(items)[:MAX_NAMED]]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def run_caution(record, frame: pd.DataFrame | None) -> LeakageCaution | None:
    """The caution for a finished run (``frame`` is its dataset, or None when it was deleted)."""
    if record.status != RunStatus.SUCCEEDED:
        return None
    aucs = {}
    if frame is not None:
        aucs = column_aucs(frame, DatasetSpec.from_dict(record.spec))
    return leakage_caution(record.metrics, aucs, dataset_available=frame is not None)
