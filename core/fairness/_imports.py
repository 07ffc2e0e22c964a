"""Audit a model trained elsewhere: a table of labels and scores (or 0/1 decisions) becomes an "import" run.

The run has what every evaluation and fairness view reads (``test_scores.parquet``, ``evaluation.json``,
``labels.json``, ``split.npy`` with every row in the test part) and ``import.json`` saying where the scores came
from and whether they are scores at all. It has no model: views that need one (explanations, membership audits)
say so. Inputs are checked before any run is created, so bad input never leaves a half-made run behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.spec import DatasetSpec, SensitiveColumn, label_text, resolve_positive_class
from core.data.store import DatasetStore
from core.errors import ScoreImportError
from core.fairness._runs import IMPORT_JSON
from core.models.split import SplitIndices
from core.runs import RunKind, RunStatus, RunStore
from core.training import artifacts
from core.training.evaluate import evaluate

TASK = "core.fairness._imports:execute_import"
NO_COLUMN = "The {role} column {name!r} is not in the table; pick one of: {choices}."
ONE_OF = "Give either a score column or a decision column, not both and not neither."
LABEL_CLASSES = ("The label column {name!r} has {n} classes ({shown}); an imported run needs exactly two (the "
                 "positive class and the rest). Pick a binary label column or merge classes before uploading.")
TEXT_SCORES = ("The score column {name!r} holds text ({example!r}), not numbers; give the column with the model's "
               "probability of the positive class.")
OUT_OF_RANGE = ("The score column {name!r} has values outside [0, 1] (from {low:g} to {high:g}); give the "
                "probability of the positive class, not a logit or a raw score (apply a sigmoid first).")
NOT_DECISIONS = ("The decision column {name!r} must hold only 0 and 1 (1 = positive decision); found {example!r}.")
MISMATCHED = ("The label column has {labels:,} values but the {role} column has {scores:,}; every row needs both. "
              "Fill or drop the incomplete rows.")
DECISIONS_NOTE = ("Imported with 0/1 decisions and no scores: ROC, precision-recall and calibration need scores and "
                  "are left empty.")


@dataclass(frozen=True)
class CheckedScores:
    y: np.ndarray  # 0/1, 1 = positive class
    score: np.ndarray  # probability of the positive class, or the 0/1 decision as float
    has_scores: bool
    rows: np.ndarray
    classes: tuple[str, str]


def _require(frame: pd.DataFrame, name: str, role: str) -> None:
    if name not in frame.columns:
        raise ScoreImportError(NO_COLUMN.format(role=role, name=name,
                                                choices=", ".join(map(repr, list(frame.columns)[:10]))))


def check_scores(labels: pd.Series, values: pd.Series, *, positive: str, decisions: bool,
                 name: str) -> CheckedScores:
    """Validate one label column against one score or decision column (see the messages above)."""
    text = label_text(labels)
    classes = sorted(text.dropna().unique().tolist())
    if len(classes) != 2:
        shown = ", ".join(map(repr, classes[:5])) + (" ..." if len(classes) > 5 else "")
        raise ScoreImportError(LABEL_CLASSES.format(name=labels.name, n=len(classes), shown=shown or "none"))
    numbers = pd.to_numeric(values, errors="coerce")
    texty = values.notna() & numbers.isna()
    if texty.any() or pd.api.types.is_bool_dtype(values):
        example = values[texty].iloc[0] if texty.any() else values.iloc[0]
        if decisions:
            raise ScoreImportError(NOT_DECISIONS.format(name=name, example=example))
        raise ScoreImportError(TEXT_SCORES.format(name=name, example=example))
    present_labels, present_scores = int(text.notna().sum()), int(numbers.notna().sum())
    if len(labels) != len(values) or present_labels != present_scores or (text.notna() != numbers.notna()).any():
        raise ScoreImportError(MISMATCHED.format(labels=present_labels, scores=present_scores,
                                                 role="decision" if decisions else "score"))
    kept = np.flatnonzero(text.notna().to_numpy())
    s = numbers.to_numpy(dtype=np.float64)[kept]
    if decisions and not np.isin(s, (0.0, 1.0)).all():
        raise ScoreImportError(NOT_DECISIONS.format(name=name, example=s[~np.isin(s, (0.0, 1.0))][0]))
    if not decisions and (not np.isfinite(s).all() or s.min() < 0 or s.max() > 1):
        raise ScoreImportError(OUT_OF_RANGE.format(name=name, low=float(np.nanmin(s)), high=float(np.nanmax(s))))
    negative = next(c for c in classes if c != positive)
    y = (text.to_numpy()[kept] == positive).astype(np.int64)
    return CheckedScores(y=y, score=s, has_scores=not decisions, rows=kept.astype(np.int64),
                         classes=(negative, positive))


def _default_positive(labels: pd.Series) -> str:
    counts = label_text(labels).dropna().value_counts()
    return "1" if "1" in counts.index else str(counts.index[-1]) if len(counts) else ""


def outside_spec(meta, frame: pd.DataFrame, *, target: str, positive: str, features: Sequence[str],
                 sensitive: Sequence[str], name: str) -> DatasetSpec:
    """The spec of a run from outside: numeric sensitive columns with many values are binned by quantile."""
    kinds = {c["name"]: c["kind"] for c in meta.schema["columns"]}
    return DatasetSpec(dataset_id=meta.id, target=target, positive_class=positive, features=tuple(map(str, features)),
                       sensitive=tuple(SensitiveColumn(c, binning="quantile" if kinds.get(c) == "numeric" and
                                                       frame[c].nunique() > 20 else "none") for c in sensitive),
                       name=name)


def import_scores(store: RunStore, data: bytes, filename: str, *, label: str, score: str | None = None,
                  decision: str | None = None, positive: str | None = None, sensitive: Sequence[str] = (),
                  features: Sequence[str] | None = None, threshold: float = 0.5, name: str | None = None,
                  run_inline: Callable | None = None) -> tuple[str, int]:
    """Store the table, check it, and create a finished "import" run; returns ``(run_id, rows)``."""
    from core import jobs

    if (score is None) == (decision is None):
        raise ScoreImportError(ONE_OF)
    datasets = DatasetStore(store.home)
    meta = datasets.add(data, filename)
    frame = datasets.load(meta.id)
    column = score if score is not None else decision
    _require(frame, label, "label")
    _require(frame, column, "decision" if decision else "score")
    for sensitive_name in sensitive:
        _require(frame, sensitive_name, "sensitive")
    positive = resolve_positive_class(frame, label, positive) if positive else _default_positive(frame[label])
    checked = check_scores(frame[label], frame[column], positive=positive, decisions=decision is not None,
                           name=column)
    chosen = [f for f in (features if features is not None else frame.columns) if f not in (label, column)]
    spec = outside_spec(meta, frame, target=label, positive=positive, features=chosen, sensitive=sensitive,
                        name=name or f"imported: {filename}")
    datasets.save_spec(spec)
    config = {"source": filename, "score_column": score, "decision_column": decision, "threshold": threshold}
    run_id = store.create_run(kind=RunKind.IMPORT, dataset_id=meta.id, spec=spec.to_dict(), config=config, task=TASK,
                              name=spec.name)
    (run_inline or jobs.run_inline)(store, run_id, TASK)
    record = store.get(run_id)
    if record.status != RunStatus.SUCCEEDED:
        raise ScoreImportError(f"The import could not be stored: {record.error}")
    return run_id, len(checked.rows)


def execute_import(store: RunStore, run_id: str, *, should_stop=None) -> dict:
    """The import run's task: write the files every evaluation and fairness view reads."""
    record = store.get(run_id)
    spec = DatasetSpec.from_dict(record.spec)
    config = record.config or {}
    frame = DatasetStore(store.home).load(spec.dataset_id)
    decisions = config.get("decision_column") is not None
    column = config["decision_column"] if decisions else config["score_column"]
    checked = check_scores(frame[spec.target], frame[column], positive=spec.positive_class, decisions=decisions,
                           name=column)
    arts = store.artifacts(run_id)
    evaluation = write_scored_run(arts, checked, threshold=float(config.get("threshold", 0.5)))
    arts.write_json(IMPORT_JSON, {"source": config.get("source"), "column": column, "has_scores": not decisions,
                                  "rows": len(checked.rows)})
    return run_metrics(evaluation, len(checked.rows))


def run_metrics(evaluation: dict, rows: int) -> dict:
    """The metrics an outside-model run returns to the store (what run lists and comparisons show)."""
    metrics = {k: v for k, v in evaluation["metrics"].items() if isinstance(v, float)}
    metrics["test_rows"] = float(rows)
    return metrics


def write_scored_run(arts, checked: CheckedScores, *, threshold: float,
                     train_rows: np.ndarray | None = None) -> dict:
    """Write what every evaluation and fairness view reads for outside scores; returns the evaluation.

    ``checked.rows`` become the test split; ``train_rows`` (an uploaded model's declared training rows) the
    training split. Decisions without scores leave the score-based curves empty and say so.
    """
    decisions = not checked.has_scores
    proba = np.column_stack([1 - checked.score, checked.score])
    predicted = checked.score.astype(np.int64) if decisions else (checked.score >= threshold).astype(np.int64)
    evaluation = evaluate(checked.y, proba, positive_index=1, threshold=threshold, class_names=list(checked.classes),
                          predicted=predicted).to_dict()
    if decisions:
        for key in ("roc_auc", "pr_auc", "log_loss", "brier"):
            evaluation["metrics"][key] = None
        evaluation["roc"] = {"fpr": [], "tpr": [], "thresholds": []}
        evaluation["pr"] = {"precision": [], "recall": [], "thresholds": []}
        evaluation["calibration"] = {k: [] for k in evaluation["calibration"]}
        evaluation["notes"] = [*evaluation.get("notes", []), DECISIONS_NOTE]
    empty = np.empty(0, dtype=np.int64)
    train = empty if train_rows is None else np.asarray(train_rows, dtype=np.int64)
    artifacts.save_split(arts, SplitIndices(train=train, val=empty, test=checked.rows))
    artifacts.save_labels(arts, checked.classes, 1)
    artifacts.save_test_scores(arts, checked.rows, checked.y, proba, positive_index=1, predicted=predicted)
    artifacts.save_evaluation(arts, evaluation)
    return evaluation
