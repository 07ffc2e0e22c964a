"""Mitigations, each a new run linked to its parent (``parent_id``): post-processing thresholds and reweighting.

* **thresholds** (post-processing): a threshold strategy fitted on the parent's validation rows (a run trained
  here) or its test rows (an imported run, which has no others; the result is then optimistic, and the run says
  so), stored with the new run as ``decision_rule.json``. The new run keeps the parent's model and scores; only the
  decisions change, so its test scores and evaluation are rewritten with the rule's decisions.
* **reweight** (Kamiran and Calders 2012): each training row of group g and class y gets the weight
  ``P(g) P(y) / P(g, y)``, which makes group and label independent in the weighted training set; the model is then
  retrained by the ordinary training pipeline with those weights.

Reductions (fairlearn's ``ExponentiatedGradient``) live in ``_reductions``.

Multiclass runs: post-processing acts on one class, one-vs-rest (the class chosen on the page, ``--class C`` in
the CLI, default the run's positive class), which is how fairlearn's ``ThresholdOptimizer`` (binary only) applies
to K classes: the rule moves the thresholds on that class's probability per group; a row the rule selects is
predicted as that class, any other row as the likeliest of the remaining classes. Reweighting balances every
(group, class) pair, so it needs no class. Reductions are refused: fairlearn's ``ExponentiatedGradient`` fits binary
classifiers for its classification moments, and a one-vs-rest retraining would not be a K-class model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.data.spec import DatasetSpec, label_text
from core.errors import FairnessError, MitigationNoEffectError
from core.fairness._groups import group_labels, spec_column
from core.fairness._rules import DecisionRule
from core.fairness._runs import (
    DECISION_RULE_JSON,
    IMPORT_JSON,
    MITIGATION_JSON,
    RunScores,
    has_scores,
    load_run_scores,
    run_groups,
)
from core.fairness._thresholds import STRATEGIES, fit_thresholds
from core.labels import mitigation_label, strategy_label
from core.runs import SUCCEEDED, RunKind, RunStore
from core.security import activity
from core.security.actor import require_editor
from core.training import artifacts
from core.training.classes import class_index
from core.training.evaluate import evaluate

POSTPROCESS_TASK = "core.fairness._mitigation:execute_postprocess"
REWEIGHT_TASK = "core.fairness._mitigation:execute_reweight"
METHODS = ("thresholds", "reweight", "reductions")
CONSTRAINT_CHOICES = ("demographic_parity", "equalized_odds", "equal_opportunity")
REWEIGHTING_JSON = "reweighting.json"
NEEDS_MODEL = ("Run {run_id} holds a model trained elsewhere (imported scores or an uploaded model file): Riskboard "
               "cannot retrain it, so only post-processing (method 'thresholds') can mitigate it.")
PARENT_NOT_DONE = "Run {run_id} is {status}; mitigate a finished run."
UNKNOWN_METHOD = "Unknown mitigation {name!r}; pick one of: {choices}."
NO_SCORES = "Run {run_id} has decisions but no scores, so thresholds cannot be moved; import its scores instead."
REDUCTIONS_MULTICLASS = ("Reductions (fairlearn's ExponentiatedGradient) fit binary classifiers, and run {run_id} has "
                         "{n} classes. Use post-processing (method 'thresholds') for one class against the rest, or "
                         "reweighting, which balances every class in every group.")
OLD_SCORES = ("This run was stored before Riskboard kept every class's probability, so another class than the "
              "positive one cannot be post-processed; train the run again.")
FITTED_ON_TEST = ("fitted on the test rows (a model from elsewhere has no validation rows here), so these test "
                  "numbers are optimistic; check the rule on fresh data before relying on it.")
FITTED_ON_VAL = "fitted on the parent run's validation rows and measured on its test rows."
NO_EFFECT = ("The rule '{rule}' gives the same decision as run {run_id} on all {rows:,} of its test rows, so a "
             "mitigated run would be an exact copy of it and was not saved. Pick a rule that moves a threshold (for "
             "example equal share selected per group) and save again.")


def check_rule_changes_decisions(rule: DecisionRule, parent: RunScores, groups: np.ndarray) -> np.ndarray:
    """The rule's decisions on the parent's test rows; :class:`MitigationNoEffectError` when none differs."""
    decisions = rule.decide(parent.score, groups)
    if np.array_equal(decisions, parent.y_pred):
        raise MitigationNoEffectError(NO_EFFECT.format(rule=strategy_label(rule.strategy), run_id=parent.run_id,
                                                       rows=len(decisions)))
    return decisions


def kamiran_calders_weights(groups: Sequence[str] | np.ndarray, y: np.ndarray) -> np.ndarray:
    """``P(g) P(y) / P(g, y)`` per row (= n_g n_y / (n n_gy)); the weighted data has group and label independent."""
    g = pd.Series(np.asarray(groups).astype(str))
    label = pd.Series(np.asarray(y))
    n = len(g)
    n_g = g.map(g.value_counts())
    n_y = label.map(label.value_counts())
    n_gy = pd.Series(list(zip(g, label, strict=True))).map(pd.Series(list(zip(g, label, strict=True))).value_counts())
    return (n_g.to_numpy() * n_y.to_numpy() / (n * n_gy.to_numpy())).astype(np.float64)


def _mitigation(store: RunStore, run_id: str) -> dict:
    return store.artifacts(run_id).read_json(MITIGATION_JSON)


def start_mitigation(store: RunStore, parent_id: str, *, method: str, constraint: str = "demographic_parity",
                     sensitive: Sequence[str], intersect: bool = False, variant: str = "deterministic",
                     rule: DecisionRule | None = None, background: bool = False, options: dict | None = None,
                     class_name: str | None = None) -> str:
    """Create the mitigated run and run it (inline, or as a background job with ``background=True``).

    ``class_name``: for a multiclass parent, the class post-processing treats as positive (one-vs-rest; default
    the run's positive class); ignored by reweighting, which balances every class."""
    from core import jobs
    from core.fairness._reductions import REDUCTIONS_TASK

    if method not in METHODS:
        raise FairnessError(UNKNOWN_METHOD.format(name=method, choices=", ".join(METHODS)))
    if method != "thresholds" and constraint not in CONSTRAINT_CHOICES:
        raise FairnessError(UNKNOWN_METHOD.format(name=constraint, choices=", ".join(CONSTRAINT_CHOICES)))
    if method == "thresholds" and rule is None and constraint not in STRATEGIES:
        raise FairnessError(UNKNOWN_METHOD.format(name=constraint, choices=", ".join(STRATEGIES)))
    if not sensitive:
        raise FairnessError("Pick at least one sensitive column for the mitigation to protect.")
    parent = store.get(parent_id)
    if parent.status != SUCCEEDED:
        raise FairnessError(PARENT_NOT_DONE.format(run_id=parent_id, status=parent.status))
    if parent.is_outside and method != "thresholds":
        raise FairnessError(NEEDS_MODEL.format(run_id=parent_id))
    if method == "thresholds" and not has_scores(store.artifacts(parent_id)):
        raise FairnessError(NO_SCORES.format(run_id=parent_id))
    classes, chosen = _chosen_class(store, parent_id, class_name)
    if method == "reductions" and len(classes) > 2:
        raise FairnessError(REDUCTIONS_MULTICLASS.format(run_id=parent_id, n=len(classes)))
    if method == "thresholds" and rule is not None:  # the rule shown is the rule saved: refuse it if it is a no-op
        scores = load_run_scores(store, parent_id, classes[chosen])
        check_rule_changes_decisions(rule, scores, next(iter(run_groups(
            store, scores, sensitive, intersect=intersect).values())).to_numpy())
    task = {"thresholds": POSTPROCESS_TASK, "reweight": REWEIGHT_TASK, "reductions": REDUCTIONS_TASK}[method]
    spec = DatasetSpec.from_dict(parent.spec)
    names = {c.column for c in spec.sensitive}
    spec_dict = parent.spec if all(c in names for c in sensitive) else DatasetSpec(
        **{**vars(spec), "sensitive": (*spec.sensitive, *(spec_column((), c) for c in sensitive if c not in names))}
    ).to_dict()
    payload = {"method": method, "constraint": constraint, "sensitive": list(sensitive), "intersect": intersect,
               "variant": variant, "rule": None if rule is None else rule.to_dict(), "options": options or {},
               "class": classes[chosen] if len(classes) > 2 and method == "thresholds" else None}
    name = mitigation_label(method, rule.strategy if rule is not None else constraint)
    if payload["class"] is not None:
        name = f"{name} (class {payload['class']} vs rest)"
    kind = parent.kind if method == "thresholds" else RunKind.TRAIN
    require_editor("save a mitigated run")
    activity.append(store.home, "mitigation_saved", parent_id, {"run_id": parent_id, "method": method,
                                                                "constraint": constraint})
    if background:
        return jobs.submit(store, kind=kind, dataset_id=parent.dataset_id, spec=spec_dict, config=parent.config,
                           task=task, name=name, parent_id=parent_id, files={MITIGATION_JSON: payload})
    run_id = store.create_run(kind=kind, dataset_id=parent.dataset_id, spec=spec_dict, config=parent.config,
                              task=task, name=name, parent_id=parent_id)
    store.artifacts(run_id).write_json(MITIGATION_JSON, payload)
    jobs.run_inline(store, run_id, task)
    return run_id


def _chosen_class(store: RunStore, run_id: str, class_name: str | None) -> tuple[list[str], int]:
    """The run's classes and the index of ``class_name`` (default its positive class); a typed error if unknown."""
    classes, positive = artifacts.load_labels(store.artifacts(run_id))
    return list(classes), class_index(classes, positive, class_name, error=FairnessError)


def _validation_scores(store: RunStore, parent_id: str, class_name: str | None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, y 0/1, score) of a trained run's validation rows for ``class_name`` against the rest (default the
    positive class), scored by its stored model."""
    from core.training.loop import predict_proba
    from core.training.run_data import load_trained_run

    run = load_trained_run(store, parent_id, what="post-process")
    split, classes = run.split, run.classes
    chosen = class_index(classes, run.positive_index, class_name, error=FairnessError)
    proba = predict_proba(run.model, run.encode(split.val), n_classes=len(classes))
    y = (label_text(run.frame[run.spec.target].iloc[split.val]).to_numpy() == classes[chosen]).astype(np.int64)
    return split.val, y, proba[:, chosen]


def execute_postprocess(store: RunStore, run_id: str, *, should_stop=None) -> dict:
    """Task of a post-processing run: fit (or take) the rule, copy the parent's files, rewrite the decisions."""
    record = store.get(run_id)
    todo = _mitigation(store, run_id)
    parent_id = record.parent_id
    sensitive, intersect = tuple(todo["sensitive"]), bool(todo["intersect"])
    class_name = todo.get("class")
    parent = load_run_scores(store, parent_id, class_name)
    if todo.get("rule"):
        rule, fitted_on = DecisionRule.from_dict(todo["rule"]), "chosen in the threshold tool"
    else:
        if record.is_outside:
            rows, y_fit, s_fit, fitted_on = parent.rows, parent.y_true, parent.score, FITTED_ON_TEST
        else:
            rows, y_fit, s_fit = _validation_scores(store, parent_id, class_name)
            fitted_on = FITTED_ON_VAL
        groups = next(iter(run_groups(store, parent, sensitive, intersect=intersect, rows=rows).values()))
        outcomes = fit_thresholds(todo["constraint"], y_fit, s_fit, groups.to_numpy(), sensitive=sensitive,
                                  resamples=20, threshold=parent.threshold)
        pick = -1 if todo.get("variant", "deterministic") == "deterministic" else 0
        rule = outcomes[pick].rule
    rule = DecisionRule(**{**vars(rule), "sensitive": sensitive, "intersect": intersect})
    test_groups = next(iter(run_groups(store, parent, sensitive, intersect=intersect).values())).to_numpy()
    decisions = check_rule_changes_decisions(rule, parent, test_groups)

    source, target = store.artifacts(parent_id), store.artifacts(run_id)
    parent_record = store.get(parent_id)
    legacy = artifacts.SPLIT_JSON  # a parent stored before split.npy
    wanted = (*artifacts.TRAINED_RUN_FILES, legacy, IMPORT_JSON) if parent_record.kind == RunKind.TRAIN else (
        artifacts.LABELS_JSON, artifacts.SPLIT_FILE, artifacts.SPLIT_JSON, IMPORT_JSON, artifacts.MODEL_ONNX,
        artifacts.ONNX_JSON)
    for name in wanted:
        if name not in (artifacts.TEST_SCORES, artifacts.EVALUATION_JSON) and source.has(name):
            target.write_bytes(name, source.read_bytes(name))
    classes, positive = artifacts.load_labels(source)
    scores = artifacts.load_test_scores(source)
    chosen = class_index(classes, positive, class_name, error=FairnessError)
    proba, predicted = _decided(scores, decisions, chosen, positive, len(classes))
    y_index = scores["y_true"].to_numpy(dtype=np.int64)
    artifacts.save_test_scores(target, scores["row"].to_numpy(), y_index, proba, positive_index=positive,
                               predicted=predicted)
    evaluation = evaluate(y_index, proba, positive_index=positive, threshold=parent.threshold,
                          class_names=list(classes), predicted=predicted).to_dict()
    for_class = f" for class {classes[chosen]} against the rest" if len(classes) > 2 else ""
    evaluation["notes"] = [*evaluation.get("notes", []), f"Decisions by the stored rule "
                           f"'{strategy_label(rule.strategy)}'{for_class}, {fitted_on}"]
    artifacts.save_evaluation(target, evaluation)
    target.write_json(DECISION_RULE_JSON, {**rule.to_dict(), "fitted_on": fitted_on,
                                           **({"class": classes[chosen]} if len(classes) > 2 else {})})
    metrics = {k: float(v) for k, v in evaluation["metrics"].items() if isinstance(v, float)}
    metrics["test_rows"] = float(len(scores))
    return metrics


def _decided(scores: pd.DataFrame, decisions: np.ndarray, chosen: int, positive: int, n_classes: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """(class probabilities, predicted class) once the rule has decided ``chosen`` against the rest: the model's
    probabilities are unchanged; a selected row is ``chosen``, any other the likeliest remaining class."""
    columns = [artifacts.class_scores(scores, k, positive, n_classes) for k in range(n_classes)]
    if any(column is None for column in columns):
        raise FairnessError(OLD_SCORES)
    proba = np.column_stack(columns)
    others = proba.copy()
    others[:, chosen] = -np.inf
    predicted = np.where(decisions == 1, chosen, others.argmax(axis=1)).astype(np.int64)
    return proba, predicted


def execute_reweight(store: RunStore, run_id: str, *, should_stop=None) -> dict:
    """Task of a reweighting run: the ordinary training pipeline with Kamiran-Calders weights on training rows."""
    from core.training.pipeline import execute_run

    todo = _mitigation(store, run_id)
    sensitive, intersect = tuple(todo["sensitive"]), bool(todo["intersect"])
    table = {}

    def weigh(frame: pd.DataFrame, spec: DatasetSpec, train_rows: np.ndarray, y_train: np.ndarray) -> np.ndarray:
        columns = [spec_column(spec.sensitive, c) for c in sensitive]
        groups = next(iter(group_labels(frame, columns, intersect=intersect, rows=train_rows).values())).to_numpy()
        weights = kamiran_calders_weights(groups, y_train)
        for g, y, w in zip(groups, y_train, weights, strict=True):
            table[f"{g} | class {int(y)}"] = float(w)
        return weights

    metrics = execute_run(store, run_id, should_stop=should_stop, sample_weight_for=weigh)
    store.artifacts(run_id).write_json(REWEIGHTING_JSON, {"sensitive": list(sensitive), "weights": table})
    return metrics
