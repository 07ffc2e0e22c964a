"""Reductions: fairlearn's ``ExponentiatedGradient`` around our torch trainer, as a background job with progress.

``ExponentiatedGradient`` turns a fairness constraint into a sequence of reweighted classification problems and
returns a randomised mixture of the classifiers it fitted. It needs an estimator whose ``fit`` accepts
``sample_weight``: :class:`TorchClassifier` wraps :func:`core.training.loop.fit` as a scikit-learn estimator. Each
fitted member is logged to the run store as one "epoch" (its validation loss and accuracy), which drives the same
live progress view as training; cancelling stops the current member within half a second.

The run keeps every member with a non-zero weight (``reductions-member-<i>.safetensors``) and ``reductions.json``
(the weights); its test scores are the mixture's probability of a positive decision and its decisions are drawn
from the mixture with a fixed seed. It has no single ``model.safetensors``: explanations need one model, and a
mixture is not one (``mitigation.json`` says so).
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np
import torch
from fairlearn.reductions import DemographicParity, EqualizedOdds, ExponentiatedGradient, TruePositiveRateParity
from safetensors.torch import save as save_safetensors
from sklearn.base import BaseEstimator, ClassifierMixin

from core.data.spec import DatasetSpec
from core.errors import FairnessError, RunCancelledError
from core.fairness._groups import group_labels, spec_column
from core.fairness._runs import MITIGATION_JSON
from core.runs import RunStore
from core.training import artifacts
from core.training.budget import effective_batch_size
from core.training.config import TrainConfig
from core.training.evaluate import evaluate
from core.training.loop import fit, predict_proba
from core.training.run_data import save_outputs, training_data

REDUCTIONS_TASK = "core.fairness._reductions:execute_reductions"
REDUCTIONS_JSON = artifacts.MIXTURE_JSON
MOMENTS = {"demographic_parity": DemographicParity, "equalized_odds": EqualizedOdds,
           "equal_opportunity": TruePositiveRateParity}
DEFAULT_MAX_ITER = 15
DEFAULT_EPS = 0.02
BINARY_ONLY = "Reductions need a binary target; this run's target has {n} classes."
NO_SINGLE_MODEL = ("This run is a randomised mixture of {n} models from ExponentiatedGradient; explanations need a "
                   "single model, so they are not available for it.")


class TorchClassifier(ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier around our training loop: ``fit(X, y, sample_weight=None)``, ``predict``,
    ``predict_proba``. Trains on all given rows (no early stopping: reductions refit it on reweighted data).

    ``on_fit(result)`` is called after each fit (progress); ``should_stop()`` is polled during training.
    """

    def __init__(self, config: TrainConfig | None = None, on_fit=None, should_stop=None):
        self.config = config
        self.on_fit = on_fit
        self.should_stop = should_stop

    def fit(self, X, y, sample_weight=None):
        config = dataclasses.replace(self.config or TrainConfig(), early_stopping_patience=0)
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y).astype(np.int64)
        self.classes_ = np.array([0, 1])
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if weights is not None and weights.sum() <= 0:
            weights = None
        config = dataclasses.replace(config, batch_size=effective_batch_size(config.batch_size, len(X)))
        result = fit(X, y, X, y, n_classes=2, config=config, device=torch.device("cpu"), sample_weight=weights,
                     should_stop=self.should_stop)
        self.model_ = result.model
        if self.on_fit is not None:
            self.on_fit(result)
        return self

    def predict_proba(self, X):
        return predict_proba(self.model_, np.asarray(X, dtype=np.float32), n_classes=2)

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)


def fit_reductions(X, y, groups, *, constraint: str, config: TrainConfig, max_iter: int = DEFAULT_MAX_ITER,
                   eps: float = DEFAULT_EPS, on_fit=None, should_stop=None) -> ExponentiatedGradient:
    """Fit ``ExponentiatedGradient`` with :class:`TorchClassifier` on (X, y 0/1) under ``constraint``."""
    if constraint not in MOMENTS:
        raise FairnessError(f"Unknown reductions constraint {constraint!r}; pick one of: {', '.join(MOMENTS)}.")
    estimator = TorchClassifier(config=config, on_fit=on_fit, should_stop=should_stop)
    reduction = ExponentiatedGradient(estimator, MOMENTS[constraint](), eps=eps, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reduction.fit(np.asarray(X, dtype=np.float32), np.asarray(y).astype(np.int64),
                      sensitive_features=np.asarray(groups).astype(str))
    return reduction


def mixture_scores(reduction: ExponentiatedGradient, X) -> np.ndarray:
    """Probability that the randomised mixture decides positive, per row."""
    return np.asarray(reduction._pmf_predict(np.asarray(X, dtype=np.float32)))[:, 1]


def execute_reductions(store: RunStore, run_id: str, *, should_stop=None) -> dict:
    """Task of a reductions run: same data preparation as training, then ExponentiatedGradient, then artifacts."""
    started = time.perf_counter()
    record = store.get(run_id)
    todo = store.artifacts(run_id).read_json(MITIGATION_JSON)
    spec = DatasetSpec.from_dict(record.spec)
    config = TrainConfig.from_dict(record.config)
    data = training_data(store.home, spec, config)
    labels, split, run_split = data.labels, data.split, data.rows
    if labels.n_classes != 2:
        raise FairnessError(BINARY_ONLY.format(n=labels.n_classes))
    columns = [spec_column(spec.sensitive, c) for c in todo["sensitive"]]
    groups = next(iter(group_labels(data.frame, columns, intersect=bool(todo["intersect"]),
                                    rows=run_split.train).values())).to_numpy()
    prepared, preprocessor = data.prepare(spec)
    data.release_table()
    x_train, x_test = preprocessor.transform_parts(prepared.frame, (run_split.train, run_split.test))
    positive = labels.positive_index
    y_train = (labels.y[split.train] == positive).astype(np.int64)
    y_test = labels.y[split.test]
    store.set_device(run_id, "cpu")  # members are small and fitted one by one on the CPU
    fitted = []

    def on_fit(result) -> None:
        fitted.append(result)
        last = result.history[-1]
        store.log_epoch(run_id, len(fitted), {"train_loss": float(last.train_loss), "val_loss": float(last.val_loss),
                                              "val_accuracy": float(last.val_accuracy),
                                              "seconds": time.perf_counter() - started})

    def stop() -> bool:
        return bool(should_stop and should_stop())

    options = todo.get("options", {})
    reduction = fit_reductions(x_train, y_train, groups, constraint=todo["constraint"], config=config,
                               max_iter=int(options.get("max_iter", DEFAULT_MAX_ITER)),
                               eps=float(options.get("eps", DEFAULT_EPS)), on_fit=on_fit, should_stop=stop)
    if stop():
        raise RunCancelledError("the run was cancelled by the user.")
    p_positive = mixture_scores(reduction, x_test)
    proba = np.zeros((len(p_positive), 2))
    proba[:, positive], proba[:, 1 - positive] = p_positive, 1 - p_positive
    draws = np.random.default_rng(config.seed).random(len(p_positive)) < p_positive
    predicted = np.where(draws, positive, 1 - positive).astype(np.int64)
    evaluation = evaluate(y_test, proba, positive_index=positive, threshold=config.threshold,
                          class_names=list(labels.classes), predicted=predicted).to_dict()
    members = [(i, float(w)) for i, w in enumerate(reduction.weights_) if w > 1e-9]
    evaluation["notes"] = [*evaluation.get("notes", []), "Scores are the probability that the randomised mixture "
                           f"of {len(members)} models decides positive; decisions are drawn from it (seed "
                           f"{config.seed})."]
    arts = store.artifacts(run_id)
    for i, _ in members:
        model = reduction.predictors_.iloc[i].model_
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        arts.write_bytes(f"reductions-member-{i}.safetensors", save_safetensors(state))
    arts.write_json(REDUCTIONS_JSON, {"constraint": todo["constraint"], "members": [i for i, _ in members],
                                      "weights": [w for _, w in members], "n_inputs": int(x_train.shape[1]),
                                      "config": config.to_dict(), "note": NO_SINGLE_MODEL.format(n=len(members))})
    save_outputs(arts, preprocessor=preprocessor, rows=run_split, classes=labels.classes, positive_index=positive,
                 y_test=y_test, proba=proba, predicted=predicted, evaluation=evaluation)
    metrics = {k: float(v) for k, v in evaluation["metrics"].items() if isinstance(v, float)}
    metrics.update({"models_fitted": float(len(fitted)), "mixture_size": float(len(members)),
                    "seconds": round(time.perf_counter() - started, 3), "train_rows": float(len(run_split.train)),
                    "test_rows": float(len(run_split.test))})
    return metrics
