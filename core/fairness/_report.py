"""Sliced metrics with honest intervals: per-group rates, disparities, small-group flags, multiple comparisons.

One call, :func:`audit_groups`, turns labels, decisions (and scores, when there are any) and group labels into a
:class:`FairnessReport`. Point estimates come from ``MetricFrame`` on the confusion cells (``_metrics``), intervals
from the multinomial count bootstrap (``_bootstrap``) and AUC intervals from DeLong's method (``_auc``). Groups
below the minimum size, or whose selection-rate interval is too wide to tell anything, are flagged "not enough data"
and left out of every disparity and ranking: a gap computed from seven rows is noise presented as fact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.config import get_settings
from core.data.spec import MISSING_GROUP
from core.errors import FairnessError
from core.fairness._auc import delong_by_group
from core.fairness._bootstrap import (
    LEVEL,
    honest_interval,
    min_over_max,
    percentile_interval,
    resample_counts,
    spread,
)
from core.fairness._metrics import RATE_NAMES, confusion_counts, metric_frame, rate_parts, rates
from core.labels import DISPARITY_TERMS

BAD_LENGTHS = "Labels, decisions, scores and groups must have one value per row; got lengths {lengths}."
NOT_BINARY = "{what} must be 0/1 values (1 = the positive class); found {found!r}."
NO_ROWS = "There are no rows to audit; the test split is empty."
FOUR_FIFTHS = 0.8
DISPARITIES = tuple(DISPARITY_TERMS)  # the disparities every report computes, in this order
# the group rates each disparity is made of; a group must be reliable on all of them to count
_USES = {
    "demographic_parity_difference": ("selection_rate",),
    "demographic_parity_ratio": ("selection_rate",),
    "equalized_odds_difference": ("tpr", "fpr"),
    "equal_opportunity_difference": ("tpr",),
    "accuracy_difference": ("accuracy",),
}


@dataclass(frozen=True)
class GroupResult:
    """One group: its size, every rate with its 95% interval, and whether there is enough data to rank it."""

    group: str
    count: int
    positives: int
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    small: bool
    reason: str = ""
    rank: int | None = None


@dataclass(frozen=True)
class Disparity:
    """A gap between groups with its 95% bootstrap interval; ``groups`` are the two groups that define it."""

    name: str
    value: float | None
    low: float | None
    high: float | None
    groups: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Comparisons:
    """How many pairwise selection-rate gaps look real, and how many chance alone would produce."""

    groups: int
    pairs: int
    differing: int
    differing_adjusted: int
    expected_by_chance: float
    adjusted_level: float


@dataclass(frozen=True)
class FairnessReport:
    slicing: str
    groups: tuple[GroupResult, ...]
    disparities: dict[str, Disparity]
    comparisons: Comparisons
    rows: int
    resamples: int
    seed: int
    min_group: int
    max_ci_width: float
    has_scores: bool
    selection_pair: dict = field(default_factory=dict)

    def group(self, name: str) -> GroupResult:
        for group in self.groups:
            if group.group == name:
                return group
        raise KeyError(name)

    @property
    def four_fifths(self) -> str:
        """'fails', 'passes' or 'uncertain' (the interval straddles 0.8), or 'not enough data'."""
        ratio = self.disparities["demographic_parity_ratio"]
        if ratio.value is None:
            return "not enough data"
        if ratio.high is not None and ratio.high < FOUR_FIFTHS:
            return "fails"
        if ratio.low is not None and ratio.low >= FOUR_FIFTHS:
            return "passes"
        return "uncertain"

    @property
    def four_fifths_flag(self) -> bool | None:
        """True when the lowest selection rate is under four fifths of the highest (point estimate)."""
        value = self.disparities["demographic_parity_ratio"].value
        return None if value is None else value < FOUR_FIFTHS

    def to_dict(self) -> dict:
        return {
            "slicing": self.slicing, "rows": self.rows, "resamples": self.resamples, "seed": self.seed,
            "min_group": self.min_group, "max_ci_width": self.max_ci_width, "has_scores": self.has_scores,
            "four_fifths": self.four_fifths,
            "four_fifths_flag": self.four_fifths_flag, "selection_pair": self.selection_pair,
            "groups": [{"group": g.group, "count": g.count, "positives": g.positives, "small": g.small,
                        "reason": g.reason, "rank": g.rank, "metrics": g.metrics,
                        "intervals": {k: list(v) for k, v in g.intervals.items()}} for g in self.groups],
            "disparities": {k: {"value": d.value, "ci": [d.low, d.high], "groups": list(d.groups),
                                "excluded": list(d.excluded), "reason": d.reason}
                            for k, d in self.disparities.items()},
            "comparisons": vars(self.comparisons).copy(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> FairnessReport:
        """Rebuild a cached report (JSON turns NaN into null; it comes back as NaN)."""
        def num(v):
            return math.nan if v is None else float(v)
        groups = tuple(GroupResult(group=g["group"], count=int(g["count"]), positives=int(g["positives"]),
                                   metrics={k: num(v) for k, v in g["metrics"].items()},
                                   intervals={k: (num(v[0]), num(v[1])) for k, v in g["intervals"].items()},
                                   small=bool(g["small"]), reason=g["reason"], rank=g["rank"])
                       for g in data["groups"])
        disparities = {k: Disparity(name=k, value=d["value"], low=d["ci"][0], high=d["ci"][1],
                                    groups=tuple(d["groups"]), excluded=tuple(d["excluded"]), reason=d["reason"])
                       for k, d in data["disparities"].items()}
        return cls(slicing=data["slicing"], groups=groups, disparities=disparities,
                   comparisons=Comparisons(**data["comparisons"]), rows=int(data["rows"]),
                   resamples=int(data["resamples"]), seed=int(data["seed"]), min_group=int(data["min_group"]),
                   max_ci_width=float(data["max_ci_width"]), has_scores=bool(data["has_scores"]),
                   selection_pair=dict(data.get("selection_pair", {})))


def _binary(values, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype == bool:
        return array.astype(np.int64)
    bad = array[(array != 0) & (array != 1)] if np.issubdtype(array.dtype, np.number) else array
    if bad.size:
        raise FairnessError(NOT_BINARY.format(what=what, found=bad.flat[0]))
    return array.astype(np.int64)


def _order(names: Sequence[str]) -> list[str]:
    """Group names sorted, with the explicit missing group last."""
    return sorted(names, key=lambda n: (n == MISSING_GROUP or n.endswith(MISSING_GROUP), n))


def _finite(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def audit_groups(y_true, y_pred, groups, *, score=None, resamples: int | None = None, min_group: int | None = None,
                 max_ci_width: float | None = None, seed: int = 0, slicing: str = "") -> FairnessReport:
    """Per-group metrics and disparities with 95% bootstrap intervals (see the module docstring).

    ``y_true`` and ``y_pred`` are 0/1 (1 = positive class), ``groups`` a group label per row, ``score`` the
    positive-class score when the model has one (ROC AUC and calibration need it). Defaults of ``resamples``,
    ``min_group`` and ``max_ci_width`` come from the settings.
    """
    settings = get_settings()
    resamples = settings.fairness_resamples if resamples is None else int(resamples)
    min_group = settings.fairness_min_group if min_group is None else int(min_group)
    max_ci_width = settings.fairness_max_ci_width if max_ci_width is None else float(max_ci_width)
    labels = groups.to_numpy() if isinstance(groups, pd.Series) else np.asarray(groups)
    lengths = {len(y_true), len(y_pred), len(labels)} | ({len(score)} if score is not None else set())
    if len(lengths) > 1:
        raise FairnessError(BAD_LENGTHS.format(lengths=sorted(lengths)))
    if not len(labels):
        raise FairnessError(NO_ROWS)
    yt, yp = _binary(y_true, "Labels"), _binary(y_pred, "Decisions")
    codes, uniques = pd.factorize(labels)  # hashing, not sorting: 40 ms for a million labels
    uniques = [str(u) for u in uniques]
    names = _order(uniques)
    codes = np.array([names.index(u) for u in uniques], dtype=np.int64)[codes]
    counts = confusion_counts(yt, yp, codes, len(names))
    point = metric_frame(counts, names)
    rng = np.random.default_rng(seed)
    boot = rates(resample_counts(counts, resamples, rng))  # each (resamples, groups)
    parts = rate_parts(counts)
    bounds = {name: honest_interval(*percentile_interval(boot[name]), *parts[name]) for name in RATE_NAMES}

    auc = np.full((len(names), 3), np.nan)
    mean_score = np.full(len(names), np.nan)
    if score is not None:
        s = np.asarray(score, dtype=np.float64)
        mean_score = np.bincount(codes, weights=s, minlength=len(names)) / np.maximum(counts.sum(axis=1), 1)
        auc = delong_by_group(yt, s, codes, len(names))

    sizes = counts.sum(axis=1)
    widths = {name: bounds[name][1] - bounds[name][0] for name in RATE_NAMES}
    results, reliable = [], []
    for g, name in enumerate(names):
        reason = ""
        if sizes[g] < min_group:
            reason = f"not enough data: {sizes[g]:,} rows, fewer than {min_group:,}"
        elif not widths["selection_rate"][g] <= max_ci_width:
            reason = (f"not enough data: the selection-rate interval is {widths['selection_rate'][g]:.2f} wide "
                      f"(over {max_ci_width:g})")
        metrics = {k: float(point.loc[name, k]) for k in RATE_NAMES}
        metrics.update(roc_auc=float(auc[g, 0]), mean_score=float(mean_score[g]),
                       calibration_gap=float(mean_score[g] - metrics["base_rate"]))
        intervals = {k: (float(bounds[k][0][g]), float(bounds[k][1][g])) for k in RATE_NAMES}
        intervals["roc_auc"] = (float(auc[g, 1]), float(auc[g, 2]))
        results.append(GroupResult(group=name, count=int(sizes[g]), positives=int(counts[g, 2:].sum()),
                                   metrics=metrics, intervals=intervals, small=bool(reason), reason=reason))
        if not reason:
            reliable.append(g)
    ranked = sorted(reliable, key=lambda g: -results[g].metrics["selection_rate"])
    results = [GroupResult(**{**vars(r), "rank": ranked.index(g) + 1 if g in ranked else None})
               for g, r in enumerate(results)]

    point_rates = rates(counts)
    disparities = {key: _disparity(key, point_rates, boot, widths, reliable, names, max_ci_width)
                   for key in DISPARITIES}
    return FairnessReport(slicing=slicing, groups=tuple(results), disparities=disparities,
                          comparisons=_comparisons(boot["selection_rate"], reliable),
                          rows=len(labels), resamples=resamples, seed=seed, min_group=min_group,
                          max_ci_width=max_ci_width, has_scores=score is not None,
                          selection_pair=_selection_pair(point_rates, boot, reliable, names, sizes))


def _disparity(key: str, point: dict, boot: dict, widths: dict, reliable: list[int], names: list[str],
               max_width: float) -> Disparity:
    uses = _USES[key]
    kept = [g for g in reliable if all(np.isfinite(point[m][g]) and widths[m][g] <= max_width for m in uses)]
    excluded = tuple(names[g] for g in range(len(names)) if g not in kept)
    if len(kept) < 2:
        return Disparity(name=key, value=None, low=None, high=None, excluded=excluded,
                         reason="fewer than two groups with enough data")
    idx = np.array(kept)
    if key == "demographic_parity_ratio":
        values, samples = min_over_max(point["selection_rate"][idx]), min_over_max(boot["selection_rate"][:, idx])
    elif key == "equalized_odds_difference":
        values = max(spread(point["tpr"][idx]), spread(point["fpr"][idx]))
        samples = np.fmax(spread(boot["tpr"][:, idx]), spread(boot["fpr"][:, idx]))
    else:
        values, samples = spread(point[uses[0]][idx]), spread(boot[uses[0]][:, idx])
    low, high = percentile_interval(samples)
    gap_metric = uses[0] if key != "equalized_odds_difference" or spread(point["tpr"][idx]) >= spread(
        point["fpr"][idx]) else "fpr"
    sub = point[gap_metric][idx]
    pair = (names[idx[int(np.nanargmin(sub))]], names[idx[int(np.nanargmax(sub))]])
    return Disparity(name=key, value=_finite(float(values)), low=_finite(float(low)), high=_finite(float(high)),
                     groups=pair, excluded=excluded)


def _comparisons(selection: np.ndarray, reliable: list[int]) -> Comparisons:
    """Pairwise selection-rate gaps whose interval excludes 0, unadjusted and Bonferroni-adjusted."""
    k = len(reliable)
    pairs = k * (k - 1) // 2
    if pairs == 0:
        return Comparisons(groups=k, pairs=0, differing=0, differing_adjusted=0, expected_by_chance=0.0,
                           adjusted_level=LEVEL)
    i, j = np.triu_indices(k, 1)
    idx = np.array(reliable)
    diffs = selection[:, idx[i]] - selection[:, idx[j]]
    low, high = percentile_interval(diffs)
    adjusted = 1 - (1 - LEVEL) / pairs
    low_adj, high_adj = percentile_interval(diffs, level=adjusted)
    return Comparisons(groups=k, pairs=pairs, differing=int(np.sum((low > 0) | (high < 0))),
                       differing_adjusted=int(np.sum((low_adj > 0) | (high_adj < 0))),
                       expected_by_chance=round((1 - LEVEL) * pairs, 2), adjusted_level=adjusted)


def _selection_pair(point: dict, boot: dict, reliable: list[int], names: list[str], sizes: np.ndarray) -> dict:
    """The lowest- and highest-selected reliable groups and the ratio of their rates with its interval."""
    if len(reliable) < 2:
        return {}
    idx = np.array(reliable)
    sr = point["selection_rate"][idx]
    lo, hi = int(idx[int(np.argmin(sr))]), int(idx[int(np.argmax(sr))])
    if point["selection_rate"][hi] <= 0:
        return {}
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = boot["selection_rate"][:, lo] / boot["selection_rate"][:, hi]
    samples = np.where(np.isfinite(samples), samples, np.nan)
    low, high = percentile_interval(samples)
    return {"low_group": names[lo], "high_group": names[hi], "low_count": int(sizes[lo]),
            "high_count": int(sizes[hi]), "ratio": float(point["selection_rate"][lo] / point["selection_rate"][hi]),
            "ci": [_finite(float(low)), _finite(float(high))]}
