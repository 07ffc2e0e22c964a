"""One training run end to end: dataset + spec + config -> split -> preprocess -> fit -> evaluate -> artifacts.

``execute_run`` is the single code path: the background worker calls it for the Train page and the CLI calls it
in-process for ``python -m core train``, so both produce identical runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from core.config import get_settings
from core.data.spec import DatasetSpec
from core.dp import privacy_metrics, save_privacy
from core.errors import TrainingError
from core.models.preprocess import TabularPreprocessor
from core.runs import RunStore
from core.training import artifacts
from core.training._remote import fit_for_run
from core.training.budget import effective_batch_size, plan_steps
from core.training.caution import CAUTION_JSON, caution_evidence
from core.training.config import TrainConfig
from core.training.evaluate import evaluate
from core.training.loop import predict_proba
from core.training.run_data import PreparedData, prepare_features, save_outputs, training_data

__all__ = ["TASK", "PreparedData", "effective_batch_size", "execute_run", "predicted_classes", "prepare_features"]

TASK = "core.training.pipeline:execute_run"


def check_matrix_size(n_rows: int, preprocessor: TabularPreprocessor, limit_mb: float) -> None:
    """Refuse, before allocating it, an encoded table too big for memory (wide one-hot encodings blow up fast)."""
    width = len(preprocessor.encoded_names_)
    size_mb = n_rows * width * 4 / 2**20
    if size_mb > limit_mb:
        groups = preprocessor.groups()
        widest = sorted(groups, key=lambda name: len(groups[name]), reverse=True)[:3]
        detail = ", ".join(f"{name!r} ({len(groups[name])} columns)" for name in widest)
        raise TrainingError(f"The encoded training table would take {size_mb:,.0f} MB ({n_rows:,} rows x {width:,} "
                            f"encoded columns), over the {limit_mb:,.0f} MB limit (RISKBOARD_MAX_MATRIX_MB). Drop "
                            f"wide categorical features (widest: {detail}) or train on a sample of rows.")


def predicted_classes(proba: np.ndarray, *, positive_index: int, threshold: float) -> np.ndarray:
    """Binary: the positive class where its score reaches the threshold; 3+ classes: the most likely class."""
    if proba.shape[1] == 2:
        return np.where(proba[:, positive_index] >= threshold, positive_index, 1 - positive_index).astype(np.int64)
    return proba.argmax(axis=1).astype(np.int64)


#: ``weigh(frame, spec, train_rows, y_train) -> weights``: per-row training weights (fairness reweighting)
WeightFunction = Callable[[pd.DataFrame, DatasetSpec, np.ndarray, np.ndarray], np.ndarray]


def execute_run(store: RunStore, run_id: str, *, should_stop: Callable[[], bool] | None = None,
                sample_weight_for: WeightFunction | None = None) -> dict:
    """Train the run's model and store everything later pages need; returns the final test metrics.

    ``sample_weight_for`` lets a mitigation weight the training rows (given the raw table, the spec, the training
    rows' positions and their labels) while every other step stays this single code path.
    """
    started = time.perf_counter()
    record = store.get(run_id)
    spec = DatasetSpec.from_dict(record.spec)
    config = TrainConfig.from_dict(record.config)
    config.validate()
    data = training_data(store.home, spec, config)
    labels, split, run_split = data.labels, data.split, data.rows
    weights = None if sample_weight_for is None else sample_weight_for(data.frame, spec, run_split.train,
                                                                         labels.y[split.train])
    evidence = caution_evidence(data.frame, spec, run_split)  # measured while the table is here; read with the run
    prepared, preprocessor = data.prepare(spec)
    data.release_table()  # only the prepared features are needed from here on
    check_matrix_size(len(np.flatnonzero(labels.kept)), preprocessor, get_settings().max_matrix_mb)
    # the table's columns are read once for the three splits, and no split's rows are copied out of it first
    x_train, x_val, x_test = preprocessor.transform_parts(prepared.frame, (run_split.train, run_split.val,
                                                                            run_split.test))
    del prepared
    y_train, y_val, y_test = labels.y[split.train], labels.y[split.val], labels.y[split.test]

    planned = plan_steps(config, len(x_train))  # batch, epochs and patience for this table's size
    used = planned.batch_size
    # here, as one Ray task or data-parallel on Ray (core.jobs executor); epochs reach the store as they happen,
    # each with the planned epoch count (the live "epoch i of N" after the step budget)
    result = fit_for_run(store, run_id, x_train, y_train, x_val, y_val, n_classes=labels.n_classes, config=planned,
                         positive_index=labels.positive_index, should_stop=should_stop, sample_weight=weights,
                         epoch_extra={"epochs_planned": float(planned.epochs)})
    proba = predict_proba(result.model, x_test, n_classes=labels.n_classes)
    # every split row's scores, stored once: the loss audit and later views read them instead of re-encoding
    scored = (len(labels.kept), *(predict_proba(result.model, x, n_classes=labels.n_classes)
                                  for x in (x_train, x_val)))
    evaluation = evaluate(y_test, proba, positive_index=labels.positive_index, threshold=config.threshold,
                          class_names=list(labels.classes))
    predicted = predicted_classes(proba, positive_index=labels.positive_index, threshold=config.threshold)

    folder = store.artifacts(run_id)
    n_outputs = 1 if labels.n_classes == 2 else labels.n_classes
    artifacts.save_model(folder, result.model, config=config, n_inputs=x_train.shape[1], n_outputs=n_outputs)
    eval_dict = evaluation.to_dict()
    folder.write_json(CAUTION_JSON, evidence)
    save_outputs(folder, preprocessor=preprocessor, rows=run_split, classes=labels.classes,
                 positive_index=labels.positive_index, y_test=y_test, proba=proba, predicted=predicted,
                 evaluation=eval_dict, row_scores=scored)

    metrics = {k: float(v) for k, v in evaluation.metrics.items()}
    if labels.n_classes > 2:  # macro / weighted averages over the classes, beside the chosen class's metrics
        metrics.update({f"{kind}_{key}": float(value) for kind, part in evaluation.averages.items()
                        for key, value in part.items()})
    metrics.update({"epochs_run": float(len(result.history)), "best_epoch": float(result.best_epoch),
                    "batch_size_used": float(used),
                    "epochs_planned": float(planned.epochs),
                    "seconds": round(time.perf_counter() - started, 3),
                    "train_rows": float(len(run_split.train)), "test_rows": float(len(run_split.test))})
    if result.extra.get("solver") == "lbfgs":  # the exact logistic solver: its iterations and whether it converged
        metrics.update({"solver_iterations": float(result.extra["iterations"]),
                        "solver_converged": float(result.extra["converged"])})
    if "cuda_graph" in result.extra:  # on CUDA: whether the step was replayed as a CUDA graph
        metrics["cuda_graph"] = float(result.extra["cuda_graph"])
    if result.extra.get("private"):  # epsilon, delta, noise, clipping norm; accountant in privacy.json
        save_privacy(folder, result.extra)
        metrics.update(privacy_metrics(result.extra))
    return metrics
