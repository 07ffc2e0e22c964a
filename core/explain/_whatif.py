"""What-if: score an edited row, explain it, and search the smallest edits that flip the model's decision.

Counterfactual search is deliberately simple and exhaustive over what was observed: each mutable feature is tried
at up to ``max_values`` values seen in the training rows (quantiles for numbers, the most common levels for
categories), all candidates scored in one batch; when no single change flips the decision, pairs of the features
whose single changes moved the score furthest towards the threshold are tried. Sensitive columns and columns the
user marks immutable are never changed. The result describes the model, not the world: it says what would change
this model's output, not what would change the person's outcome.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from core.errors import ConfigError
from core.explain._deeplift import forward, layer_plan
from core.explain._explain import attribute, group_values, model_device
from core.text import probability_text

MODEL_NOT_WORLD = ("These hints describe the model, not the world: they say which inputs would change this model's "
                   "decision, not what would change the real outcome, and a change may be impossible or unfair to ask.")
UNKNOWN_FEATURE = "there is no feature named {name!r}; the model uses {names}."
NOT_A_NUMBER = "{name!r} takes a number; got {value!r}."
UNKNOWN_LEVEL = "{name!r} takes one of the known values ({levels}); got {value!r}."
ONE_ROW = "the what-if editor works on exactly one row; got {n}."
NO_REJECTED = "no row in the sample is {side} the threshold of {threshold:.2f}; try a larger sample or another run."


class DecisionMixin:
    """The decision threshold in log-odds, shared by every scorer the what-if editor takes (see ``Scorer`` and
    ``core.explain._agnostic.AgnosticScorer``)."""

    threshold: float

    @property
    def threshold_logit(self) -> float:
        t = self.threshold
        return math.log(t / (1 - t))


@dataclass(frozen=True)
class Scorer(DecisionMixin):
    """A trained model with what is needed to turn a table in original units into the run's decision."""

    model: nn.Module
    preprocessor: Any
    threshold: float
    output_index: int = 0
    sign: float = 1.0
    output: str = "log-odds of the positive class"

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per row: the explained logit, the positive class's probability and the decision (True = positive).

        Computed in float64 (on the CPU when the device has none), so a row scores the same alone or in a batch
        and a counterfactual that flips the decision in the search also flips it when applied by hand.
        """
        x = self.preprocessor.transform(frame)
        device = model_device(self.model)
        if device.type == "mps":
            device = torch.device("cpu")
        plan = layer_plan(self.model, output_index=None, device=device, dtype=torch.float64)
        with torch.no_grad():
            logits = forward(plan, torch.as_tensor(x, dtype=torch.float64, device=device))[0].cpu()
        if logits.shape[1] == 1:
            logit = self.sign * logits[:, 0]
            probability = torch.sigmoid(logit)
            positive = probability.numpy() >= self.threshold
        else:
            logit = logits[:, self.output_index]
            probability = torch.softmax(logits, dim=1)[:, self.output_index]
            positive = logits.argmax(dim=1).numpy() == self.output_index
        return pd.DataFrame({"logit": logit.numpy(), "probability": probability.numpy(), "positive": positive},
                            index=frame.index)

    def explain(self, row: pd.DataFrame, background: pd.DataFrame) -> tuple[np.ndarray, float]:
        """Grouped SHAP values of one (possibly edited) row against an encoded-in-place background; and the base."""
        encoded = attribute(self.model, self.preprocessor.transform(row), self.preprocessor.transform(background),
                            output_index=self.output_index, sign=self.sign)
        values, _ = group_values(encoded.values, self.preprocessor.groups())
        return values[0], encoded.base_value


_ID_NAME = re.compile(r"(^|[_\s-])(id|ids|uuid|guid|key|code|number|no)$|^(id|uuid|guid)([_\s-]|$)", re.IGNORECASE)
_WEIGHT_NAME = re.compile(r"weight|wgt|wt$|sampling", re.IGNORECASE)


def default_frozen(pool: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """Features nobody can act on, frozen in the what-if search unless the user unfreezes them: sampling weights
    (a census weight such as ``fnlwgt`` says how many people a row stands for, not something about the person) and
    identifiers (named like one, or a column whose values are almost all different)."""
    frozen = []
    for name in names:
        if _WEIGHT_NAME.search(str(name)) or _ID_NAME.search(str(name)):
            frozen.append(name)
            continue
        column = pool[name].dropna() if name in pool else pd.Series(dtype=object)
        numeric = pd.api.types.is_numeric_dtype(column)
        whole = not numeric or bool(np.all(np.mod(column.to_numpy(dtype=np.float64), 1) == 0))
        if len(column) >= 50 and whole and column.nunique() >= 0.9 * len(column):
            frozen.append(name)  # whole numbers or text, nearly one per row: an identifier (a measured quantity
            # such as an income is continuous and stays editable)
    return frozen


@dataclass(frozen=True)
class Counterfactual:
    """Edits that flip the decision, and the model's new output."""

    changes: tuple[tuple[str, Any, Any], ...]  # (feature, old value, new value)
    logit: float
    probability: float
    positive: bool
    distance: float  # sum over changed features: |new - old| / spread for numbers, 1 for a category
    threshold: float | None = None

    def describe(self) -> str:
        parts = [f"{name} from {_text(old)} to {_text(new)}" for name, old, new in self.changes]
        return f"Change {' and '.join(parts)}: probability {probability_text(self.probability, self.threshold)}."


def _text(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "missing" if not math.isfinite(value) else f"{float(value):.4g}"
    return "missing" if value is None else str(value)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and not math.isfinite(value))


def feature_kinds(preprocessor: Any) -> dict[str, str]:
    """Feature -> "numeric" or "categorical", in the model's column order."""
    return {name: ("numeric" if name in preprocessor.numeric else "categorical") for name in preprocessor.columns}


def known_levels(preprocessor: Any, pool: pd.DataFrame, name: str, limit: int = 200) -> list[str]:
    """Values a categorical feature may take in the editor: the levels seen in training, commonest first."""
    counts = pool[name].dropna().astype(str).value_counts()
    levels = counts.index.tolist()[:limit]
    kept = [level for level in preprocessor.levels_.get(name, []) if level not in levels]
    return levels + kept


def edit_row(row: pd.DataFrame, edits: Mapping[str, Any], preprocessor: Any, pool: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``row`` with ``edits`` applied, each checked against its feature's kind and known values."""
    if len(row) != 1:
        raise ConfigError(ONE_ROW.format(n=len(row)))
    kinds = feature_kinds(preprocessor)
    out = row.copy()
    for name, value in edits.items():
        if name not in kinds:
            raise ConfigError(UNKNOWN_FEATURE.format(name=name, names=", ".join(kinds)))
        if kinds[name] == "numeric":
            if _is_missing(value):
                out[name] = out[name].astype("float64")
                out.iloc[0, out.columns.get_loc(name)] = np.nan
                continue
            if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
                raise ConfigError(NOT_A_NUMBER.format(name=name, value=value))
            out[name] = out[name].astype("float64")
            out.iloc[0, out.columns.get_loc(name)] = float(value)
        else:
            if value is None:
                out[name] = out[name].astype("object")
                out.iloc[0, out.columns.get_loc(name)] = None
                continue
            levels = known_levels(preprocessor, pool, name)
            if str(value) not in levels:
                shown = ", ".join(repr(level) for level in levels[:10]) + (" ..." if len(levels) > 10 else "")
                raise ConfigError(UNKNOWN_LEVEL.format(name=name, levels=shown, value=value))
            out[name] = out[name].astype("object")
            out.iloc[0, out.columns.get_loc(name)] = str(value)
    return out


def near_threshold(probabilities: np.ndarray, threshold: float, *, rejected: bool = True) -> int:
    """Position of the row closest to the threshold on the rejected (below) or accepted (at or above) side."""
    p = np.asarray(probabilities, dtype=np.float64)
    side = p < threshold if rejected else p >= threshold
    if not side.any():
        raise ConfigError(NO_REJECTED.format(side="below" if rejected else "at or above", threshold=threshold))
    candidates = np.flatnonzero(side)
    return int(candidates[np.argmin(np.abs(p[candidates] - threshold))])


def matching_rows(frame: pd.DataFrame, conditions: Mapping[str, Any]) -> np.ndarray:
    """Positions of rows meeting every condition: a value (equality) or a ``(low, high)`` inclusive range."""
    mask = np.ones(len(frame), dtype=bool)
    for name, condition in conditions.items():
        column = frame[name]
        if isinstance(condition, tuple) and len(condition) == 2:
            low, high = condition
            numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
            mask &= (numbers >= low) & (numbers <= high)
        else:
            mask &= (column.astype(str) == str(condition)).to_numpy()
    return np.flatnonzero(mask)


def candidate_values(preprocessor: Any, pool: pd.DataFrame, name: str, max_values: int) -> list[Any]:
    """Observed values to try: quantiles of the training values for numbers, commonest levels for categories."""
    if name in preprocessor.numeric:
        values = pd.to_numeric(pool[name], errors="coerce").to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size == 0:
            return []
        distinct = np.unique(values)
        if distinct.size <= max_values:
            return distinct.tolist()
        quantiles = np.quantile(values, np.linspace(0, 1, max_values), method="inverted_cdf")
        return np.unique(quantiles).tolist()
    return known_levels(preprocessor, pool, name, limit=max_values)


def _spread(pool: pd.DataFrame, name: str) -> float:
    values = pd.to_numeric(pool[name], errors="coerce").to_numpy(dtype=np.float64)
    values = values[np.isfinite(values)]
    std = float(values.std()) if values.size else 0.0
    return std if std > 0 else 1.0


def counterfactuals(scorer: Scorer, row: pd.DataFrame, pool: pd.DataFrame, *, immutable: Iterable[str] = (),
                    max_values: int = 20, pair_features: int = 6, limit: int = 5) -> list[Counterfactual]:
    """The smallest single-feature edits that flip the decision, or pairs when no single edit does.

    Never changes a feature in ``immutable`` (pass the sensitive columns and any the user marks). Sorted by the
    number of features changed, then by distance (numbers in standard deviations of the training values).
    """
    if len(row) != 1:
        raise ConfigError(ONE_ROW.format(n=len(row)))
    frozen = set(immutable)
    base = scorer.score(row).iloc[0]
    start = bool(base["positive"])
    mutable = [name for name in scorer.preprocessor.columns if name not in frozen]
    spreads = {name: _spread(pool, name) for name in mutable if name in scorer.preprocessor.numeric}
    original = row.iloc[0]
    tries: list[tuple[tuple[str, Any], ...]] = []
    for name in mutable:
        for value in candidate_values(scorer.preprocessor, pool, name, max_values):
            if not _same(original[name], value):
                tries.append(((name, value),))
    singles = _score_tries(scorer, row, tries, spreads, original)
    found = [c for c in singles if c.positive != start]
    if not found:
        towards = 1.0 if not start else -1.0
        best: dict[str, float] = {}
        for c in singles:
            name = c.changes[0][0]
            best[name] = max(best.get(name, -math.inf), towards * (c.logit - float(base["logit"])))
        top = sorted(best, key=lambda n: -best[n])[:pair_features]
        values = {name: candidate_values(scorer.preprocessor, pool, name, max_values) for name in top}
        pairs = [((a, va), (b, vb)) for a, b in itertools.combinations(top, 2)
                 for va in values[a] if not _same(original[a], va)
                 for vb in values[b] if not _same(original[b], vb)]
        found = [c for c in _score_tries(scorer, row, pairs, spreads, original) if c.positive != start]
    found.sort(key=lambda c: (len(c.changes), c.distance))
    chosen: list[Counterfactual] = []
    seen: set[tuple[str, ...]] = set()
    for c in found:  # the closest flip per feature (or pair of features)
        key = tuple(name for name, _, _ in c.changes)
        if key not in seen:
            seen.add(key)
            chosen.append(c)
        if len(chosen) == limit:
            break
    return chosen


def _same(old: Any, new: Any) -> bool:
    if _is_missing(old) or _is_missing(new):
        return _is_missing(old) and _is_missing(new)
    if isinstance(new, str) or isinstance(old, str):
        return str(old) == str(new)
    return float(old) == float(new)


def _score_tries(scorer: Scorer, row: pd.DataFrame, tries: Sequence[tuple[tuple[str, Any], ...]],
                 spreads: Mapping[str, float], original: pd.Series) -> list[Counterfactual]:
    if not tries:
        return []
    frame = pd.concat([row] * len(tries), ignore_index=True)
    for name in {name for changes in tries for name, _ in changes}:
        frame[name] = frame[name].astype("object")
    for i, changes in enumerate(tries):
        for name, value in changes:
            frame.iat[i, frame.columns.get_loc(name)] = value
    for name in spreads:
        frame[name] = pd.to_numeric(frame[name], errors="coerce")
    scores = scorer.score(frame)
    out = []
    for i, changes in enumerate(tries):
        distance = sum(abs(float(v) - float(original[n])) / spreads[n] if n in spreads and not _is_missing(original[n])
                       else 1.0 for n, v in changes)
        out.append(Counterfactual(changes=tuple((n, original[n], v) for n, v in changes),
                                  logit=float(scores["logit"].iat[i]), probability=float(scores["probability"].iat[i]),
                                  positive=bool(scores["positive"].iat[i]), distance=float(distance),
                                  threshold=scorer.threshold))
    return out
