""""Too good to be true": a caution on runs whose scores suggest the model was handed the answer, naming its evidence.

A near-perfect score has different causes, and the caution tells them apart instead of crying "leakage" at all:

1. **A column gives the answer away**: one feature alone separates the classes (ROC AUC >= 0.99 on its own, measured
   the way the Data page's leakage check measures it, :func:`core.data.schema.single_column_auc`). The evidence is
   the column and its AUC alone.
2. **Rows repeated across the split**: no single column separates the classes, but test rows also appear in the
   training rows (the same feature values), so the test score partly measures memory. The evidence is the count.
3. **Neither**: no column separates the classes alone and no test row repeats a training row. The score may be
   honest: images, sensor readings or other signals spread over many columns can reach 0.99. The caution then says
   so plainly and only asks the user to check how the rows were collected.

The Train page, ``runs RUN_ID`` and ``train`` show the same object (:class:`LeakageCaution`).
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
DUPLICATE_SHARE = 0.01  # repeats in at least this share of the test rows are named as the likely cause
HEADLINE = "too good to be true: check for leakage"
HEADLINES = {
    "column": HEADLINE,
    "duplicates": "test rows repeat training rows: the test score partly measures memory",
    "none_found": "a very high score, and no sign of leakage",
}


@dataclass(frozen=True)
class LeakageCaution:
    """Why a run's result should not be trusted yet (or why it may be), with its evidence.

    ``cause`` is ``"column"`` (suspects separate the classes alone), ``"duplicates"`` (test rows repeated in the
    training rows) or ``"none_found"`` (a near-perfect score with neither). ``suspects`` are (name, AUC alone), the
    strongest first; ``duplicates`` counts test rows whose feature values also occur among the training rows
    (None when the split or dataset is not available).
    """

    test_auc: float | None
    suspects: tuple[tuple[str, float], ...]
    message: str
    cause: str = "column"
    duplicates: int | None = None
    test_rows: int | None = None

    @property
    def headline(self) -> str:
        return HEADLINES[self.cause]

    def to_dict(self) -> dict:
        return {"headline": self.headline, "cause": self.cause, "test_roc_auc": self.test_auc,
                "message": self.message,
                "suspects": [{"column": c, "auc_alone": round(a, 4)} for c, a in self.suspects],
                "evidence": {"columns_separating_alone": [c for c, a in self.suspects if a >= CAUTION_AUC],
                             "test_rows_repeated_in_training": self.duplicates, "test_rows": self.test_rows}}


def repeated_test_rows(frame: pd.DataFrame, features: tuple[str, ...], train: np.ndarray, test: np.ndarray) -> int:
    """How many test rows have feature values identical to some training row (hashed per row, missing equal).

    Hashing every column of a million rows takes about a second, and almost every test row differs from every
    training row in its first few columns already. So rows are hashed on :data:`KEY_COLUMNS` columns first; only
    the test rows whose key also occurs among the training rows (and those training rows) are hashed in full. A
    row repeated in full repeats its key too, so the count is the one hashing every row in full gives.
    """
    columns = [c for c in features if c in frame.columns]
    if not columns or not len(test):
        return 0
    key = _row_hashes(frame, _key_columns(frame, columns))
    candidates = test[_occurs_in(key[test], key[train])]
    if not len(candidates) or len(columns) <= KEY_COLUMNS:
        return len(candidates)
    partners = train[_occurs_in(key[train], key[candidates])]
    return int(_occurs_in(_row_hashes(frame, columns, candidates), _row_hashes(frame, columns, partners)).sum())


KEY_COLUMNS = 4


def _key_columns(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Up to :data:`KEY_COLUMNS` columns likely to tell rows apart: floating-point ones first (measurements rarely
    repeat), then the rest in order."""
    floats = [c for c in columns if pd.api.types.is_float_dtype(frame[c].dtype)]
    return (floats + [c for c in columns if c not in floats])[:KEY_COLUMNS]


def _occurs_in(values: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """``np.isin(values, pool)`` for 64-bit hashes by binary search in the sorted pool: 0.1 s where ``np.isin``
    took 0.6 s for 300,000 values in 700,000."""
    if not len(pool):
        return np.zeros(len(values), dtype=bool)
    ordered = np.sort(pool)
    at = np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)
    return ordered[at] == values


def _row_hashes(frame: pd.DataFrame, columns: list[str], rows: np.ndarray | None = None) -> np.ndarray:
    part = frame[columns] if rows is None else frame[columns].iloc[rows]
    return pd.util.hash_pandas_object(part, index=False).to_numpy()


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
                    duplicates: int | None = None, test_rows: int | None = None) -> LeakageCaution | None:
    """A caution when the test ROC AUC reaches :data:`CAUTION_AUC` or a single feature alone does; else None.

    ``duplicates`` / ``test_rows``: test rows repeated among the training rows, out of all test rows (see
    :func:`repeated_test_rows`); None when they could not be counted.
    """
    auc = (metrics or {}).get("roc_auc")
    auc = float(auc) if isinstance(auc, int | float) and math.isfinite(auc) else None
    ranked = sorted(aucs.items(), key=lambda item: item[1], reverse=True)
    alone = [(c, a) for c, a in ranked if a >= CAUTION_AUC]
    if not alone and (auc is None or auc < CAUTION_AUC):
        return None
    high = auc is not None and auc >= CAUTION_AUC
    score = f"Test ROC AUC is {auc:.3f}." if high else ""
    rarely = f"Test ROC AUC is {auc:.3f}; real tabular data rarely allows that." if high else ""
    if alone:
        parts = [HEADLINE[0].upper() + HEADLINE[1:] + ".", rarely,
                 "On its own, " + _listed(alone) + (" separates" if len(alone) == 1 else " each separate")
                 + " the classes, so the model need not learn anything else.",
                 "Check whether they are recorded after the outcome or derived from it; leave them out on the Data "
                 "page (or with --features) and train again."]
        return LeakageCaution(test_auc=auc, suspects=tuple(alone), message=_join(parts), cause="column",
                              duplicates=duplicates, test_rows=test_rows)
    if not dataset_available:
        parts = [HEADLINE[0].upper() + HEADLINE[1:] + ".", rarely,
                 "The dataset is no longer stored, so its columns and repeated rows cannot be checked."]
        return LeakageCaution(test_auc=auc, suspects=(), message=_join(parts), cause="column")
    best = ranked[:MAX_NAMED]
    parts = [score, "No single column separates the classes on its own"
             + (f" (the strongest, {_listed(best)}, fall well short)." if best else ".")]
    repeated = duplicates is not None and test_rows and duplicates >= max(1, DUPLICATE_SHARE * test_rows)
    if repeated:
        parts.insert(0, HEADLINES["duplicates"][0].upper() + HEADLINES["duplicates"][1:] + ".")
        parts.append(f"But {duplicates:,} of the {test_rows:,} test rows ({duplicates / test_rows:.0%}) repeat a "
                     "training row exactly, so the model was tested partly on rows it has seen. Remove duplicate "
                     "rows before training (or split by the entity the rows describe) for an honest score.")
        cause = "duplicates"
    else:
        parts.insert(0, HEADLINES["none_found"][0].upper() + HEADLINES["none_found"][1:] + ".")
        counted = "" if duplicates is None else (f" and {'none' if not duplicates else f'only {duplicates:,}'} of "
                                                 f"the {test_rows:,} test rows repeat a training row")
        parts.append(f"No column gives the answer away{counted}. A table of images, sensor readings or other "
                     "signals spread over many columns can honestly score this high; for ordinary business data, "
                     "check that no column is recorded after the outcome.")
        cause = "none_found"
    return LeakageCaution(test_auc=auc, suspects=tuple(best), message=_join(parts), cause=cause,
                          duplicates=duplicates, test_rows=test_rows)


def _join(parts: list[str]) -> str:
    return " ".join(p.strip() for p in parts if p.strip())


def _listed(items) -> str:
    shown = [f"{name!r} (ROC AUC {value:.3f} alone)" for name, value in list(items)[:MAX_NAMED]]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


CAUTION_JSON = "caution.json"


def caution_evidence(frame: pd.DataFrame, spec: DatasetSpec, rows) -> dict:
    """What the caution reads from the table (each feature's AUC alone, test rows repeated in training), measured
    by training while it holds the table and stored with the run as ``caution.json``: showing the caution then
    reads no table. ``rows`` is the run's split in row numbers of the table."""
    return {"column_aucs": column_aucs(frame, spec),
            "repeated_test_rows": repeated_test_rows(frame, spec.features, rows.train, rows.test),
            "test_rows": len(rows.test)}


def run_caution(record, frame: pd.DataFrame | None, split=None, *, evidence: dict | None = None
                ) -> LeakageCaution | None:
    """The caution for a finished run (``frame`` is its dataset, or None when it was deleted; ``split`` its
    :class:`core.models.split.SplitIndices`, or None when unavailable, then repeated rows are not counted).
    ``evidence`` (what :func:`caution_evidence` stored at training) replaces reading the table."""
    if record.status != RunStatus.SUCCEEDED:
        return None
    if evidence is not None:
        return leakage_caution(record.metrics, {str(k): float(v) for k, v in evidence["column_aucs"].items()},
                               duplicates=int(evidence["repeated_test_rows"]), test_rows=int(evidence["test_rows"]))
    aucs: dict[str, float] = {}
    duplicates = test_rows = None
    if frame is not None:  # the spec is read only with its table: a run whose dataset is gone still gets a caution
        spec = DatasetSpec.from_dict(record.spec)
        aucs = column_aucs(frame, spec)
        if split is not None:
            duplicates = repeated_test_rows(frame, spec.features, split.train, split.test)
            test_rows = len(split.test)
    return leakage_caution(record.metrics, aucs, dataset_available=frame is not None, duplicates=duplicates,
                           test_rows=test_rows)
