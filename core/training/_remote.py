"""Training one run's model wherever the executor says: in this worker, as one Ray task, or data-parallel on Ray.

:func:`fit_for_run` is what :func:`core.training.pipeline.execute_run` calls for the fit itself. The split,
preprocessing, evaluation and artifacts stay in the job's worker (they need the workspace); only the fit moves.
The fit is the same function on every executor (:func:`fit_step`), so a run's numbers do not depend on where it
ran; what changes is where the epochs are computed and how they reach the run store:

* local: ``fit_step`` runs here, each epoch goes straight into the store;
* Ray: ``fit_step`` runs as a Ray task (asking for a GPU when the cluster has one and ``RISKBOARD_DEVICE`` does
  not say otherwise); the arrays go through the object store, each epoch streams back and is logged here while the
  task runs, and the weights come back as safetensors bytes (no pickled module);
* Ray with ``RISKBOARD_RAY_WORKERS`` > 1: data-parallel with Ray Train (:mod:`core.training.distributed`).

Where the run ran (executor, node, device, workers) is written to ``placement.json``; the Train page and
``runs RUN_ID --json`` read it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from core.config import get_settings
from core.device import select_device, training_threads
from core.errors import ConfigError
from core.jobs._executor import LOCAL, RAY, Placement, executor_name, record_placement, run_step
from core.security.at_rest import run_key_id
from core.training._plain_result import rebuild, to_plain
from core.training.config import TrainConfig
from core.training.loop import FitResult, fit

WORKERS_ENV = "RISKBOARD_RAY_WORKERS"
BAD_WORKERS = "{env}={value!r} must be a whole number of data-parallel workers from 1 to 64; unset it for one."


def ray_workers(environ: Mapping[str, str] | None = None) -> int:
    """Data-parallel workers for a Ray training run (``RISKBOARD_RAY_WORKERS``, default 1: one task)."""
    raw = (os.environ if environ is None else environ).get(WORKERS_ENV, "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise ConfigError(BAD_WORKERS.format(env=WORKERS_ENV, value=raw))
    return int(raw)


def epoch_values(record: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of one epoch record as the run store keeps them (no epoch key, no missing values)."""
    return {k: float(v) for k, v in record.items() if k != "epoch" and v is not None}


def fit_step(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, *, emit: Callable,
             should_stop: Callable[[], bool], n_classes: int, config: dict[str, Any], positive_index: int,
             sample_weight: np.ndarray | None, device: str | None, threads: int | None) -> dict[str, Any]:
    """Fit on whatever machine runs it; report the device and each epoch through ``emit``; return plain data.

    ``device`` is the driver's ``RISKBOARD_DEVICE`` (a Ray worker does not see the driver's environment);
    ``threads`` sets torch's CPU threads (None: keep what the executor gave the process).
    """
    cfg = TrainConfig.from_dict(config)
    choice = select_device(device)
    emit({"device": choice.name})
    if choice.device.type == "cpu" and threads is not None:
        torch.set_num_threads(threads)
    result = fit(X_train, y_train, X_val, y_val, n_classes=n_classes, config=cfg, device=choice.device,
                 positive_index=positive_index, should_stop=should_stop, sample_weight=sample_weight,
                 on_epoch=lambda record: emit({"epoch": record.to_dict()}))
    return to_plain(result)


class _RunEvents:
    """The driver's side of ``emit``: epochs into the store, device and node into the run's placement."""

    def __init__(self, store: Any, run_id: str, placement: Placement,
                 epoch_extra: Mapping[str, float] | None = None) -> None:
        self.store, self.run_id, self.placement = store, run_id, placement
        self.epoch_extra = dict(epoch_extra or {})

    def __call__(self, event: Mapping[str, Any]) -> None:
        if "epoch" in event:
            record = event["epoch"]
            self.store.log_epoch(self.run_id, int(record["epoch"]), epoch_values(record) | self.epoch_extra)
            return
        if "device" in event:
            self.store.set_device(self.run_id, str(event["device"]))
            self.placement = dataclasses.replace(self.placement, device=str(event["device"]))
        if "placement" in event:
            where = event["placement"]
            self.placement = dataclasses.replace(self.placement, node=where.get("node"), node_ip=where.get("node_ip"))
        record_placement(self.store, self.run_id, self.placement)


def fit_for_run(store: Any, run_id: str, X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray,
                y_val: np.ndarray, *, n_classes: int, config: TrainConfig, positive_index: int,
                should_stop: Callable[[], bool] | None, sample_weight: np.ndarray | None,
                epoch_extra: Mapping[str, float] | None = None) -> FitResult:
    """Fit the run's model on the configured executor; see the module docstring. ``epoch_extra`` values are
    stored with every epoch (the planned epoch count)."""
    executor = executor_name()
    workers = ray_workers() if executor == RAY else 1
    events = _RunEvents(store, run_id, Placement(executor=executor, workers=workers), epoch_extra)
    record_placement(store, run_id, events.placement)
    device = get_settings().device
    # row weights (mitigations) and the exact L-BFGS logistic solver train in one task
    if workers > 1 and sample_weight is None and not config.uses_lbfgs:
        from core.training.distributed import fit_data_parallel

        return fit_data_parallel(X_train, y_train, X_val, y_val, n_classes=n_classes, config=config,
                                 positive_index=positive_index, workers=workers, emit=events,
                                 should_stop=should_stop, device=device, scratch=store.artifact_dir(run_id),
                                 home=store.home, key_id=run_key_id(run_id))
    gpus = None if executor == RAY else 0  # None: one GPU when the cluster has one and the device setting allows
    out = run_step(fit_step, X_train, y_train, X_val, y_val, emit=events, should_stop=should_stop, num_gpus=gpus,
                   n_classes=n_classes, config=config.to_dict(), positive_index=positive_index,
                   sample_weight=sample_weight, device=device,
                   threads=training_threads() if executor == LOCAL else None)
    return rebuild(out, config, X_train.shape[1], n_classes)
