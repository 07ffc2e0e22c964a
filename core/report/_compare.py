"""Runs side by side and the risk frontier: which runs are Pareto-efficient in accuracy, fairness and privacy.

Objectives: maximise test ROC AUC, minimise the disparity (the team's metric and column, else demographic parity
by the first sensitive column with a cached fairness result), minimise epsilon (a run without differential
privacy sits at epsilon infinity). A run is on the frontier when no other run is at least as good on every
objective and better on one. An objective that some run has no value for (fairness not computed) is left out of
the frontier, and the comparison says so, rather than guessing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.errors import ReportError
from core.labels import disparity_label
from core.report._inputs import gather_inputs
from core.report._settings import ReportSettings, Thresholds, load_settings
from core.report._verdict import Check, auc_interval, class_totals, evaluate_checks
from core.runs import RunStore
from core.runs.naming import display_name
from core.text import plural

SIDE_BY_SIDE = ("roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "f1", "log_loss", "brier")
TOO_FEW = "compare needs at least one run id; give two or more to compare them."
#: (name, sense): +1 maximise, -1 minimise.
OBJECTIVES = (("auc", 1), ("disparity", -1), ("epsilon", -1))


@dataclass(frozen=True)
class RunPoint:
    """One run's place in the comparison."""

    run_id: str
    name: str
    kind: str
    dataset_id: str
    parent_id: str | None
    metrics: dict[str, float | None]
    auc: float | None
    auc_interval: tuple[float, float] | None
    disparity: float | None
    disparity_interval: tuple[float, float] | None
    disparity_label: str | None
    epsilon: float  # math.inf when trained without differential privacy
    attack_auc: float | None
    checks: tuple[Check, ...] = ()

    @property
    def label(self) -> str:
        """The run's display name (see :func:`core.runs.naming.display_name`), or its id when it has none."""
        return self.name or self.run_id

    @property
    def passes(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def passed_all(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "name": self.name, "kind": self.kind, "dataset_id": self.dataset_id,
                "parent_id": self.parent_id, "metrics": self.metrics, "roc_auc": self.auc,
                "roc_auc_interval": list(self.auc_interval) if self.auc_interval else None,
                "disparity": self.disparity, "disparity_interval": list(self.disparity_interval)
                if self.disparity_interval else None, "disparity_label": self.disparity_label,
                "epsilon": None if math.isinf(self.epsilon) else self.epsilon, "private": not math.isinf(self.epsilon),
                "attack_auc": self.attack_auc, "checks": [c.to_dict() for c in self.checks],
                "passed_all": self.passed_all if self.checks else None}


@dataclass(frozen=True)
class Comparison:
    points: tuple[RunPoint, ...]
    pareto: tuple[str, ...]
    objectives: tuple[str, ...]
    best: str | None
    summary: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def point(self, run_id: str) -> RunPoint:
        return next(p for p in self.points if p.run_id == run_id)

    def to_dict(self) -> dict[str, Any]:
        return {"runs": [p.to_dict() for p in self.points], "pareto": list(self.pareto),
                "objectives": list(self.objectives), "best": self.best, "summary": self.summary,
                "notes": list(self.notes)}


def dominates(a: Sequence[float], b: Sequence[float], senses: Sequence[int]) -> bool:
    """True when ``a`` is at least as good as ``b`` on every objective and better on one."""
    better = False
    for x, y, sense in zip(a, b, senses, strict=True):
        if sense * x < sense * y:
            return False
        if sense * x > sense * y:
            better = True
    return better


def pareto_front(points: dict[str, Sequence[float]], senses: Sequence[int]) -> list[str]:
    """Keys of the points no other point dominates (ties are all kept), in the given order."""
    return [key for key, value in points.items()
            if not any(dominates(other, value, senses) for k, other in points.items() if k != key)]


def _disparity(fairness: dict | None, thresholds: Thresholds, sensitive: tuple[str, ...]):
    metric = thresholds.disparity_metric
    columns = [thresholds.sensitive] if thresholds.sensitive else list(sensitive)
    for column in columns:
        result = (fairness or {}).get(column)
        if result is None:
            continue
        item = (result.get("disparities") or {}).get(metric) or {}
        if item.get("value") is None:
            continue
        ci = item.get("ci") or [None, None]
        interval = (float(ci[0]), float(ci[1])) if None not in ci[:2] else None
        return float(item["value"]), interval, f"{disparity_label(metric).lower()} by {column}"
    return None, None, None


def run_point(store: RunStore, run_id: str, thresholds: Thresholds | None = None) -> RunPoint:
    """A run's metrics, disparity, epsilon and checks (read from its files and cached analyses, never computed)."""
    record = store.get(run_id)
    if thresholds is None:
        thresholds = load_settings(store.home, record.dataset_id,
                                   tuple(c.get("column") for c in (record.spec or {}).get("sensitive", []))).thresholds
    inputs = gather_inputs(store, run_id, settings=ReportSettings(thresholds=thresholds), with_data=False)
    evaluation = inputs.evaluation or {}
    metrics = {k: (evaluation.get("metrics") or {}).get(k) for k in SIDE_BY_SIDE}
    auc = metrics.get("roc_auc")
    interval = auc_interval(float(auc), *class_totals(evaluation)) if isinstance(auc, int | float) else None
    value, ci, label = _disparity(inputs.fairness, thresholds, inputs.sensitive)
    privacy = inputs.privacy or {}
    epsilon = float(privacy["epsilon"]) if privacy.get("private") and privacy.get("epsilon") is not None else math.inf
    checks = tuple(evaluate_checks(inputs, thresholds)) if thresholds.any_set else ()
    return RunPoint(run_id=run_id, name=display_name(record), kind=record.kind, dataset_id=record.dataset_id,
                    parent_id=record.parent_id, metrics=metrics, auc=auc, auc_interval=interval, disparity=value,
                    disparity_interval=ci, disparity_label=label, epsilon=epsilon,
                    attack_auc=(inputs.audit or {}).get("attack_auc"), checks=checks)


def _summary(points: Sequence[RunPoint], pareto: Sequence[str]) -> tuple[str | None, str]:
    judged = [p for p in points if p.checks]
    by_auc = sorted(points, key=lambda p: (-(p.auc if p.auc is not None else -1.0),
                                           p.disparity if p.disparity is not None else math.inf, p.epsilon))
    if not judged:
        lead = by_auc[0]
        return lead.run_id, (f"No thresholds are set, so no run can be said to meet them; by test AUC alone "
                             f"“{lead.label}” leads ({_auc(lead)}). Set thresholds on the Report page.")
    passing = [p for p in by_auc if p.passed_all]
    if passing:
        best = passing[0]
        more = len(passing) - 1
        others = f"; {plural(more, 'other run')} {'passes' if more == 1 else 'pass'} too" if more else ""
        frontier = " and it is on the risk frontier" if best.run_id in pareto else ""
        return best.run_id, (f"“{best.label}” best meets the team's thresholds: it passes all {len(best.checks)} "
                             f"checks with the highest test AUC among those that do ({_auc(best)}){frontier}{others}.")
    closest = sorted(by_auc, key=lambda p: -p.passes)[0]
    failed = ", ".join(c.label for c in closest.checks if not c.passed)
    return closest.run_id, (f"No run meets every threshold. “{closest.label}” comes closest: it passes "
                            f"{closest.passes} of {len(closest.checks)} checks (not: {failed}).")


def _auc(point: RunPoint) -> str:
    return "AUC undefined" if point.auc is None else f"AUC {point.auc:.3f}"


def compare_points(points: Sequence[RunPoint]) -> Comparison:
    """The frontier and the plain-language summary of already-gathered points (pure; tested on hand-made ones)."""
    if not points:
        raise ReportError(TOO_FEW)
    notes: list[str] = []
    used, senses, values = [], [], {p.run_id: [] for p in points}
    for name, sense in OBJECTIVES:
        column = {"auc": [p.auc for p in points], "disparity": [p.disparity for p in points],
                  "epsilon": [p.epsilon for p in points]}[name]
        if any(v is None for v in column):
            missing = [p.run_id for p, v in zip(points, column, strict=True) if v is None]
            notes.append(f"{name} is left out of the frontier: runs {', '.join(missing)} have no value for it"
                         + (" (compute their fairness first)." if name == "disparity" else "."))
            continue
        used.append(name)
        senses.append(sense)
        for p, v in zip(points, column, strict=True):
            values[p.run_id].append(float(v))
    if len({p.dataset_id for p in points}) > 1:
        notes.append("These runs use different datasets; their numbers are not directly comparable.")
    pareto = pareto_front(values, senses) if used else [p.run_id for p in points]
    best, summary = _summary(points, pareto)
    return Comparison(points=tuple(points), pareto=tuple(pareto), objectives=tuple(used), best=best,
                      summary=summary, notes=tuple(notes))


def compare_runs(store: RunStore, run_ids: Sequence[str], thresholds: Thresholds | None = None) -> Comparison:
    """Compare runs (duplicates dropped), judged by ``thresholds`` or each dataset's saved ones."""
    unique = list(dict.fromkeys(run_ids))
    if not unique:
        raise ReportError(TOO_FEW)
    return compare_points([run_point(store, run_id, thresholds) for run_id in unique])
