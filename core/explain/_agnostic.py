"""SHAP for an uploaded model that is not a plain MLP or linear model (trees, pipelines): shap's model-agnostic
explainers on the model's log-odds, with every number a reader needs to trust them.

* Up to :data:`EXACT_MAX_FEATURES` features, ``shap.explainers.Exact``: exact Shapley values against the background
  (every coalition evaluated), additive by construction.
* More features, ``shap.explainers.Permutation``: each permutation is additive, but the split between features is a
  sampling estimate. It is run twice with independent seeds; the values shown are the average, and the stated
  **sampling error** is the mean of ``|a - b| / 2`` over rows and features (the standard error of that average).

Categorical inputs are explained through integer codes (decoded back to text before the model sees them), so the
masker swaps whole categories, never a half-encoded value. The additivity error (``base + sum(phi) - f(x)``) is
computed on every explained row, never assumed. :class:`AgnosticScorer` gives the what-if editor the same
``score`` / ``explain`` interface the torch :class:`~core.explain._whatif.Scorer` has.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.explain._explain import background_rows, display_frame, rank_intervals
from core.explain._result import Attributions
from core.explain._whatif import DecisionMixin

METHOD_EXACT = "shap-exact"
METHOD_PERMUTATION = "shap-permutation"
EXACT_MAX_FEATURES = 8
MAX_BACKGROUND = 100
PERMUTATIONS = 10  # per half; each costs 2 * features + 1 evaluations over the background
EPS = 1e-12
EXACT_NOTE = ("Model-agnostic exact Shapley values (shap Exact explainer) against {bg} background rows: every "
              "coalition of the {d} features evaluated through onnxruntime.")
PERMUTATION_NOTE = ("Model-agnostic estimate (shap Permutation explainer, 2 x {p} permutations) against {bg} "
                    "background rows: additive on every row, but the split between features is sampled; sampling "
                    "error (standard error of the average) {err:.2g} log-odds per value on average.")
CAPPED_NOTE = " The background was capped at {cap} rows (asked: {asked}) to bound the model evaluations."


@dataclass(frozen=True)
class Codes:
    """Categorical levels per column, so a table becomes a float matrix the masker can mix, and back."""

    columns: tuple[str, ...]
    levels: dict[str, list[str]]

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        for j, name in enumerate(self.columns):
            if name not in self.levels:
                out[:, j] = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
                continue
            index = {level: i for i, level in enumerate(self.levels[name])}
            values = frame[name].to_numpy(dtype=object)
            out[:, j] = [np.nan if v is None or (isinstance(v, float) and math.isnan(v)) else
                         index.get(str(v), np.nan) for v in values]
        return out

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        columns = {}
        for j, name in enumerate(self.columns):
            if name not in self.levels:
                columns[name] = matrix[:, j]
                continue
            levels = np.asarray(self.levels[name] + [None], dtype=object)
            codes = np.where(np.isfinite(matrix[:, j]), matrix[:, j], len(levels) - 1).astype(np.int64)
            columns[name] = levels[codes]
        return pd.DataFrame(columns)


def make_codes(mapping: Any, *frames: pd.DataFrame) -> Codes:
    """Levels of every text input: those stored with the model's mapping plus any others in ``frames``."""
    levels = {}
    for name in mapping.columns:
        if name in mapping.numeric:
            continue
        known = list(mapping.levels_.get(name, []))
        seen = set(known)
        for frame in frames:
            for value in frame[name].dropna().astype(str).unique():
                if value not in seen:
                    seen.add(value)
                    known.append(value)
        levels[name] = known
    return Codes(tuple(mapping.columns), levels)


def log_odds(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(q) - np.log1p(-q)


@dataclass(frozen=True)
class AgnosticScorer(DecisionMixin):
    """An uploaded model for the what-if editor: scores and explains rows in original units."""

    model: Any  # core.models.onnx_model.OnnxModel
    preprocessor: Any  # its InputMapping (columns, numeric, levels_)
    threshold: float
    output: str = "log-odds of the positive class"

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        p = self.model.positive_probability(frame)
        return pd.DataFrame({"logit": log_odds(p), "probability": p, "positive": p >= self.threshold},
                            index=frame.index)

    def explain(self, row: pd.DataFrame, background: pd.DataFrame) -> tuple[np.ndarray, float]:
        values, base, _, _ = shap_values(self.model, row, background, seed=0)
        return values[0], base


def shap_values(model: Any, rows: pd.DataFrame, background: pd.DataFrame, *, seed: int
                ) -> tuple[np.ndarray, float, str, float | None]:
    """(values, base value, method, permutation sampling error or None) in log-odds of the positive class."""
    import shap

    codes = make_codes(model.mapping, rows, background)
    x, bg = codes.encode(rows), codes.encode(background)

    def f(matrix: np.ndarray) -> np.ndarray:
        return log_odds(model.positive_probability(codes.decode(matrix)))

    def masker(mask: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Every background row with the coalition's features taken from the explained row (independent masking,
        as ``shap.maskers.Independent`` does; a plain function keeps shap off its numba delta-masking path, whose
        compilation costs tens of seconds per process on a small machine)."""
        out = bg.copy()
        out[:, mask] = row[mask]
        return out

    d = x.shape[1]
    if d <= EXACT_MAX_FEATURES:
        result = shap.explainers.Exact(f, masker)(x, silent=True)
        return np.asarray(result.values, dtype=np.float64), float(np.mean(f(bg))), METHOD_EXACT, None
    evals = PERMUTATIONS * (2 * d + 1)
    halves = [np.asarray(shap.explainers.Permutation(f, masker, seed=int(seed) + k)(
        x, max_evals=evals, silent=True).values, dtype=np.float64) for k in (0, 1)]
    error = float(np.mean(np.abs(halves[0] - halves[1])) / 2)
    return (halves[0] + halves[1]) / 2, float(np.mean(f(bg))), METHOD_PERMUTATION, error


def explain_agnostic(model: Any, rows: pd.DataFrame, pool: pd.DataFrame, *, background: int = 100, seed: int = 0,
                     output: str = "log-odds of the positive class", row_ids: np.ndarray | None = None,
                     total_rows: int | None = None, on_progress=None) -> Attributions:
    """:class:`Attributions` of ``rows`` against a seeded background sample of ``pool`` (both in original units)."""
    started = time.perf_counter()
    size = min(int(background), MAX_BACKGROUND)
    bg = pool.iloc[background_rows(len(pool), size, seed, 0)]
    values, base, method, error = shap_values(model, rows, bg, seed=seed)
    p = model.positive_probability(rows)
    scores = log_odds(p)
    additivity = float(np.max(np.abs(values.sum(axis=1) + base - scores))) if len(scores) else None
    d = values.shape[1]
    note = EXACT_NOTE.format(bg=len(bg), d=d) if error is None else PERMUTATION_NOTE.format(p=PERMUTATIONS,
                                                                                            bg=len(bg), err=error)
    if size < background:
        note += CAPPED_NOTE.format(cap=MAX_BACKGROUND, asked=background)
    if on_progress is not None:
        on_progress(len(rows), len(rows))
    names = tuple(model.mapping.columns)
    return Attributions(values=values, base_value=base, data=display_frame(rows, model.mapping), feature_names=names,
                        method=method, background=len(bg), seed=int(seed), additivity_max_error=additivity,
                        seconds=time.perf_counter() - started, scores=scores, probabilities=p,
                        rows=np.asarray(row_ids if row_ids is not None else np.arange(len(rows)), dtype=np.int64),
                        output=output, total_rows=int(total_rows if total_rows is not None else len(rows)),
                        rank_intervals=rank_intervals([np.abs(values).mean(axis=0)], names), draws=1, note=note)
