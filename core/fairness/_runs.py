"""Fairness of a stored run: its test-split labels, decisions and scores, with sensitive values from the stored rows.

Results are cached in the run's folder through :class:`~core.runs.RunArtifacts`, keyed by every choice that changes
them (columns, intersection, resamples, seed, minimum group, interval width), e.g. ``fairness-3f9a0c1b2d4e.json``.
A damaged cache file is discarded and recomputed, never shown.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.config import get_settings
from core.data.spec import DatasetSpec
from core.data.store import DatasetStore
from core.errors import ArtifactError, FairnessError
from core.fairness._groups import group_labels, spec_column
from core.fairness._report import FairnessReport, audit_groups
from core.runs import SUCCEEDED, RunArtifacts, RunStore, read_cache, write_cache
from core.runs.naming import display_name
from core.security import activity
from core.training import artifacts
from core.training.classes import class_index

IMPORT_JSON = "import.json"
DECISION_RULE_JSON = "decision_rule.json"
MITIGATION_JSON = "mitigation.json"
NOT_FINISHED = "Run {run_id} is {status}; fairness needs a finished run. Wait for it to finish or pick another run."
DECISIONS_ONLY = ("This run was imported with 0/1 decisions and no scores, so ROC AUC, calibration and the "
                  "threshold tool are not available: they need the model's scores.")


@dataclass(frozen=True)
class RunScores:
    """What every fairness view of a run needs: 0/1 labels and decisions, scores (or None) and dataset rows.

    ``class_name`` is the class these arrays treat as 1 (one-vs-rest for 3+ classes)."""

    run_id: str
    y_true: np.ndarray
    y_pred: np.ndarray
    score: np.ndarray | None
    rows: np.ndarray
    spec: DatasetSpec
    threshold: float
    class_name: str = ""

    @property
    def has_scores(self) -> bool:
        return self.score is not None


def has_scores(arts: RunArtifacts) -> bool:
    """False only for runs imported with decisions and no scores."""
    return not arts.has(IMPORT_JSON) or bool(arts.read_json(IMPORT_JSON).get("has_scores", True))


def run_classes(store: RunStore, run_id: str) -> tuple[tuple[str, ...], int]:
    """The run's class names and the index of its positive class (for class pickers)."""
    return artifacts.load_labels(store.artifacts(run_id))


def load_run_scores(store: RunStore, run_id: str, class_name: str | None = None) -> RunScores:
    """The run's test split as binary arrays: ``class_name`` (default: the positive class) = 1, the rest 0."""
    record = store.get(run_id)
    if record.status != SUCCEEDED:
        raise FairnessError(NOT_FINISHED.format(run_id=run_id, status=record.status))
    arts = store.artifacts(run_id)
    scores = artifacts.load_test_scores(arts)
    classes, positive = artifacts.load_labels(arts)
    chosen = class_index(classes, positive, class_name, error=FairnessError)
    threshold = float((record.config or {}).get("threshold", 0.5))
    score = artifacts.class_scores(scores, chosen, positive, len(classes)) if has_scores(arts) else None
    return RunScores(run_id=run_id, y_true=(scores["y_true"].to_numpy() == chosen).astype(np.int64),
                     y_pred=(scores["predicted"].to_numpy() == chosen).astype(np.int64),
                     score=score, rows=scores["row"].to_numpy(dtype=np.int64), spec=DatasetSpec.from_dict(record.spec),
                     threshold=threshold, class_name=classes[chosen])


NO_SENSITIVE = ("Run {run_id} names no sensitive column to slice by; pass --sensitive with one or more columns of "
                "its dataset.")


def run_sensitive_columns(store: RunStore, run_id: str) -> tuple[str, ...]:
    """The sensitive columns the run was trained with (its spec's): what a fairness view slices by unless told
    otherwise. Raises :class:`FairnessError` when the spec names none."""
    columns = tuple(str(item["column"]) for item in (store.get(run_id).spec or {}).get("sensitive", ()))
    if not columns:
        raise FairnessError(NO_SENSITIVE.format(run_id=run_id))
    return columns


def run_groups(store: RunStore, scores: RunScores, sensitive: Sequence[str], *, intersect: bool = False,
               rows: np.ndarray | None = None) -> dict[str, pd.Series]:
    """Group labels of the run's test rows (or of ``rows``), binned as the run's spec says."""
    frame = DatasetStore(store.home).load(scores.spec.dataset_id, columns=list(sensitive))  # only what is sliced
    columns = [spec_column(scores.spec.sensitive, c) for c in sensitive]
    return group_labels(frame, columns, intersect=intersect, rows=scores.rows if rows is None else rows)


def _cache_name(sensitive: Sequence[str], intersect: bool, resamples: int, seed: int, class_key: int | None = None
                ) -> str:
    settings = get_settings()
    body = {"sensitive": list(sensitive), "intersect": intersect, "resamples": resamples, "seed": seed,
            "min_group": settings.fairness_min_group, "max_ci_width": settings.fairness_max_ci_width, "version": 1}
    if class_key is not None:  # another class than the positive one (the positive class keeps its old name)
        body["class"] = class_key
    text = json.dumps(body, sort_keys=True)
    return f"fairness-{hashlib.sha256(text.encode()).hexdigest()[:12]}.json"


def run_fairness(store: RunStore, run_id: str, sensitive: Sequence[str], *, intersect: bool = False,
                 resamples: int | None = None, seed: int = 0, class_name: str | None = None
                 ) -> dict[str, FairnessReport]:
    """One report per slicing (each column, or their intersection), computed once and cached with the run.

    ``class_name`` picks the class treated as positive (one-vs-rest); default the run's positive class."""
    if not sensitive:
        raise FairnessError("No sensitive column was chosen; pick at least one column to slice the results by.")
    resamples = get_settings().fairness_resamples if resamples is None else int(resamples)
    arts = store.artifacts(run_id)
    classes, positive = artifacts.load_labels(arts)
    chosen = class_index(classes, positive, class_name, error=FairnessError)
    name = _cache_name(sensitive, intersect, resamples, seed, None if chosen == positive else chosen)
    cached = read_cache(arts, (name,), lambda: {k: FairnessReport.from_dict(v)
                                                for k, v in arts.read_json(name)["reports"].items()})
    if cached is not None:
        return cached
    scores = load_run_scores(store, run_id, classes[chosen])
    reports = {slicing: audit_groups(scores.y_true, scores.y_pred, labels, score=scores.score,
                                     resamples=resamples, seed=seed, slicing=slicing)
               for slicing, labels in run_groups(store, scores, sensitive, intersect=intersect).items()}

    def write() -> None:
        arts.write_json(name, {"reports": {k: v.to_dict() for k, v in reports.items()}, "class": classes[chosen]})
        activity.append(store.home, "fairness_computed", run_id, {"run_id": run_id, "sensitive": list(sensitive),
                                                                  "intersect": intersect})
    write_cache(write)  # a read-only workspace still gets its numbers, just not cached (nor logged)
    return reports


def worst_classes(store: RunStore, run_id: str, sensitive: Sequence[str], *, intersect: bool = False,
                  resamples: int | None = None, seed: int = 0) -> dict[str, dict[str, dict]]:
    """For each slicing and disparity, the class (one-vs-rest) with the largest gap: ``{slicing: {disparity:
    {"class", "value", "ci"}}}``. Ratios count as worst when lowest. Every class's report is cached like any other.
    Binary runs have one answer per disparity (the positive class)."""
    classes, positive = run_classes(store, run_id)
    names = [classes[positive]] if len(classes) == 2 else list(classes)
    worst: dict[str, dict[str, dict]] = {}
    for name in names:
        reports = run_fairness(store, run_id, sensitive, intersect=intersect, resamples=resamples, seed=seed,
                               class_name=name)
        for slicing, report in reports.items():
            worst.setdefault(slicing, {})  # every slicing is listed, even where no gap could be measured
            for key, gap in report.disparities.items():
                if gap.value is None:
                    continue
                ratio = key.endswith("_ratio")
                best = worst.setdefault(slicing, {}).get(key)
                if best is None or (gap.value < best["value"] if ratio else gap.value > best["value"]):
                    worst[slicing][key] = {"class": name, "value": gap.value, "ci": [gap.low, gap.high]}
    return worst


def tradeoff_points(store: RunStore, dataset_id: str, sensitive: Sequence[str], *,
                    gap: str = "demographic_parity_difference", resamples: int | None = None,
                    limit: int = 50) -> list[dict]:
    """Accuracy and one disparity (with interval) for every finished run of a dataset, for the trade-off chart.

    Runs whose files are damaged or lack a column are skipped (their own pages say why)."""
    points = []
    for record in store.list(limit=200, status=SUCCEEDED):
        if record.dataset_id != dataset_id or len(points) >= limit:
            continue
        try:
            report = next(iter(run_fairness(store, record.id, sensitive, resamples=resamples).values()))
        except (ArtifactError, FairnessError):
            continue
        d = report.disparities[gap]
        kind = "mitigated" if record.parent_id else record.kind
        points.append({"run_id": record.id, "label": display_name(record), "kind": kind,
                       "accuracy": (record.metrics or {}).get("accuracy"), "gap": d.value, "gap_low": d.low,
                       "gap_high": d.high})
    return points
