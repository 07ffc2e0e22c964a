"""The one training loop: whole tensors on the device, a pluggable gradient step, one epoch tail, early stopping.

A plain run and a differentially private run differ only in their gradient step (:mod:`core.training._steps`): a
shuffled minibatch step, or DP-SGD's Poisson-sampled, clipped and noised step with its accountant. Everything
around it (model, optimizer, validation, the epoch record, early stopping, cancel, out-of-memory) is here, once.

Why no DataLoader: the tables fit in memory, and a DataLoader over an in-memory tensor costs a Python collate per
batch plus a host-to-device copy per batch on a GPU. Here ``X`` and ``y`` are moved to the device once and a batch
is an index gather of device memory. On a CPU ``torch.from_numpy`` even avoids the copy.

Guarantees the rest of Riskboard relies on:

* **determinism**: the same seed on the same device (and thread count) gives the same history and weights, because
  the initial weights come from ``torch.manual_seed(seed)`` and the batch order (and DP noise) from a generator
  seeded the same way;
* **NaN/inf loss** stops the run with :class:`TrainingError` naming the epoch and the learning rate (checked every
  step on the CPU, where a check is free, and every 32 steps plus each epoch end on an accelerator, where each
  check is a host sync);
* **cancel**: ``should_stop()`` is polled about twice a second and at each epoch start and raises
  :class:`RunCancelledError`; **out of memory** becomes a :class:`TrainingError` advising a smaller batch;
* the returned model is a plain module in eval mode on the CPU, holding the best epoch's weights when early
  stopping is on, ready for ``safetensors.torch.save_model`` and for explaining.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from core.errors import TrainingError
from core.jsonsafe import finite
from core.models.modules import build_model, n_outputs_for
from core.training._graphed import GraphedPlainStep, graphs_wanted
from core.training._objective import (
    NON_FINITE_LOSS,
    NON_FINITE_VAL,
    Objective,
    class_weights,
    device_tensors,
    to_device,
    validate,
    what,
)
from core.training._steps import CANCELLED, CancelPoll, StepContext, gradient_step
from core.training._stopping import EarlyStopping
from core.training.config import TrainConfig
from core.training.lbfgs import fit_lbfgs

__all__ = ["BAD_WEIGHTS", "CANCELLED", "NON_FINITE_LOSS", "NON_FINITE_VAL", "EpochRecord", "FitResult", "fit",
           "predict_proba"]

OUT_OF_MEMORY = ("the {device} ran out of memory while training with batch size {batch}; lower the batch size "
                 "(for example to {smaller}) or train on the CPU (RISKBOARD_DEVICE=cpu).")
BAD_SHAPES = "training data shapes do not fit: {why}"
BAD_LABELS = "{part} labels must be class indices from 0 to {last}; found {found!r}."
BAD_WEIGHTS = "sample weights must be one finite, non-negative number per training row, not all zero."

ACCELERATOR_CHECK_EVERY = 32


@dataclass(frozen=True)
class EpochRecord:
    """Metrics after one epoch. ``seconds`` is wall time since training started (cumulative)."""

    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    val_auc: float
    seconds: float
    epsilon: float | None = None  # privacy spent so far (DP-SGD runs only)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; an undefined AUC (one-class validation set) becomes ``None``; no epsilon key when not private."""
        data = asdict(self)
        if data["epsilon"] is None:
            del data["epsilon"]
        return finite(data)


@dataclass
class FitResult:
    """A trained model (eval mode, CPU, best weights) and how training went."""

    model: nn.Module
    history: list[EpochRecord]
    best_epoch: int
    stopped_early: bool
    device: str
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # DP-SGD: epsilon, delta, accountant, noise, clipping


def _check_inputs(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                  n_classes: int, positive_index: int) -> None:
    if X_train.ndim != 2 or X_val.ndim != 2:
        raise TrainingError(BAD_SHAPES.format(why="features must be 2-D arrays (rows x columns)"))
    if X_train.shape[1] != X_val.shape[1]:
        raise TrainingError(BAD_SHAPES.format(why=f"{X_train.shape[1]} training vs {X_val.shape[1]} validation "
                                                  "columns"))
    if len(X_train) != len(y_train) or len(X_val) != len(y_val):
        raise TrainingError(BAD_SHAPES.format(why="features and labels have different numbers of rows"))
    if len(X_train) == 0 or len(X_val) == 0:
        raise TrainingError(BAD_SHAPES.format(why="the training and validation sets need at least one row each"))
    n_outputs_for(n_classes)
    if not 0 <= positive_index < n_classes:
        raise TrainingError(BAD_SHAPES.format(why=f"positive_index {positive_index} is not a class index"))
    for part, y in (("training", y_train), ("validation", y_val)):
        bad = y[(y < 0) | (y >= n_classes)] if np.issubdtype(y.dtype, np.integer) else y
        if bad.size:
            raise TrainingError(BAD_LABELS.format(part=part, last=n_classes - 1, found=bad.flat[0].item()))


def _make_optimizer(model: nn.Module, config: TrainConfig, *, capturable: bool = False) -> torch.optim.Optimizer:
    """AdamW or SGD, fused where torch supports it on the device.

    The fused kernels update all parameters in one pass; on the CPU that measured 20-30% faster per step for the
    default MLP at batch 256-1024 (per-step overhead dominates such a small model). Falls back to the default
    implementation on devices without a fused kernel. ``capturable`` keeps AdamW's step count on the device, which
    a step replayed as a CUDA graph needs (SGD keeps no count).
    """
    params = list(model.parameters())
    for fused in (True, None):
        try:
            if config.optimizer == "sgd":
                return torch.optim.SGD(params, lr=config.learning_rate, momentum=config.momentum,
                                       weight_decay=config.weight_decay, fused=fused)
            return torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay, fused=fused,
                                     capturable=capturable)
        except (RuntimeError, ValueError):
            if fused is None:
                raise
    raise AssertionError("unreachable")


def _check_interval(device: torch.device) -> int:
    """Steps between NaN checks: every step on the CPU (no sync cost), every 32 on an accelerator."""
    return 1 if device.type == "cpu" else ACCELERATOR_CHECK_EVERY


def fit(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, *, n_classes: int,
        config: TrainConfig, device: torch.device, on_epoch: Callable[[EpochRecord], None] | None = None,
        should_stop: Callable[[], bool] | None = None, positive_index: int = 1,
        sample_weight: np.ndarray | None = None) -> FitResult:
    """Train ``build_model(config)`` on (X_train, y_train), validating on (X_val, y_val) after every epoch.

    ``y`` holds class indices ``0..n_classes-1``; for a binary target the single logit is the score of class 1.
    ``positive_index`` picks the class whose one-vs-rest ROC AUC is reported. ``on_epoch`` receives each
    :class:`EpochRecord` as soon as it exists (the run store writes it for the live loss curve).
    ``sample_weight`` (one per training row) weights each row's loss, rescaled to mean 1 so the learning rate keeps
    its meaning (reweighting for fairness, reductions); validation loss stays unweighted. A private ``config``
    trains with DP-SGD (same inputs, same result, plus epsilon, delta and accountant in ``FitResult.extra``).
    """
    config.validate()
    X_train, X_val = np.asarray(X_train), np.asarray(X_val)
    y_train, y_val = np.asarray(y_train), np.asarray(y_val)
    _check_inputs(X_train, y_train, X_val, y_val, n_classes, positive_index)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if (sample_weight.shape != (len(X_train),) or not np.isfinite(sample_weight).all()
                or (sample_weight < 0).any() or sample_weight.sum() <= 0):
            raise TrainingError(BAD_WEIGHTS)
        sample_weight = sample_weight / sample_weight.mean()
    device = torch.device(device)
    runner = _solve_exactly if config.uses_lbfgs else _train  # logistic regression: the exact L-BFGS solver
    try:
        return runner(X_train, y_train, X_val, y_val, n_classes=n_classes, config=config, device=device,
                      on_epoch=on_epoch, should_stop=should_stop, positive_index=positive_index,
                      sample_weight=sample_weight)
    except torch.OutOfMemoryError:
        raise _oom_error(device, config.batch_size) from None
    except RuntimeError as exc:
        if "out of memory" not in str(exc).lower():
            raise
        raise _oom_error(device, config.batch_size) from None


def _oom_error(device: torch.device, batch: int) -> TrainingError:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return TrainingError(OUT_OF_MEMORY.format(device=device.type.upper() if device.type != "cpu" else "CPU",
                                              batch=batch, smaller=max(1, batch // 4)))


def _train(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, *, n_classes: int,
           config: TrainConfig, device: torch.device, on_epoch: Callable[[EpochRecord], None] | None,
           should_stop: Callable[[], bool] | None, positive_index: int,
           sample_weight: np.ndarray | None) -> FitResult:
    """The epoch loop: the gradient step trains an epoch, then one tail validates, records and early-stops."""
    started = time.perf_counter()
    Xt, yt, Xv, yv = device_tensors(X_train, y_train, X_val, y_val, device)
    torch.manual_seed(config.seed)
    model = build_model(config.model_config(), Xt.shape[1], n_outputs_for(n_classes)).to(device)
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    weights = class_weights(yt, n_classes) if config.class_weights == "balanced" else None
    objective = Objective(n_classes, weights)
    row_weight = None if sample_weight is None else to_device(sample_weight, torch.float32, device)
    graphed = graphs_wanted(device, config.private, Xt.shape[0], config.batch_size)
    context = StepContext(model=model, optimizer=_make_optimizer(model, config, capturable=graphed),
                          objective=objective, X=Xt, y=yt, row_weight=row_weight, generator=generator, config=config,
                          check_every=_check_interval(device))
    step = GraphedPlainStep(context) if graphed else gradient_step(context)
    history: list[EpochRecord] = []
    stopping = EarlyStopping(config.early_stopping_patience, config.epochs)
    poll = CancelPoll(should_stop)
    for epoch in range(1, config.epochs + 1):
        poll.now(epoch)
        model.train()
        train_loss = step.epoch(epoch, poll)
        if not math.isfinite(train_loss):
            raise TrainingError(NON_FINITE_LOSS.format(what=what(train_loss), where=f"epoch {epoch}",
                                                       lr=config.learning_rate))
        val_loss, val_accuracy, val_auc = validate(model, objective, Xv, yv, n_classes=n_classes,
                                                   positive_index=positive_index, threshold=config.threshold)
        if not math.isfinite(val_loss):
            raise TrainingError(NON_FINITE_VAL.format(what=what(val_loss), epoch=epoch, lr=config.learning_rate))
        epsilon = step.epsilon()
        record = EpochRecord(epoch=epoch, train_loss=train_loss, val_loss=val_loss, val_accuracy=val_accuracy,
                             val_auc=val_auc, seconds=time.perf_counter() - started, epsilon=epsilon)
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if stopping.should_stop(model, epoch, val_loss):
            break
    best_epoch = stopping.finish(model, len(history))
    model = model.to("cpu").eval()
    return FitResult(model=model, history=history, best_epoch=best_epoch, stopped_early=stopping.stopped_early,
                     device=str(device), seconds=time.perf_counter() - started, extra=step.extra())


def _solve_exactly(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, *,
                   n_classes: int, config: TrainConfig, device: torch.device,
                   on_epoch: Callable[[EpochRecord], None] | None, should_stop: Callable[[], bool] | None,
                   positive_index: int, sample_weight: np.ndarray | None) -> FitResult:
    """Logistic regression to its optimum (:mod:`core.training.lbfgs`); each round of L-BFGS iterations is one
    record of the live curve, and the final (optimal) weights are kept, so the best epoch is the last round."""
    started = time.perf_counter()
    history: list[EpochRecord] = []

    def on_round(values: dict[str, float]) -> None:
        record = EpochRecord(epoch=len(history) + 1, seconds=time.perf_counter() - started, **values)
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)

    model, extra = fit_lbfgs(X_train, y_train, X_val, y_val, n_classes=n_classes, config=config, device=device,
                             on_round=on_round, poll=CancelPoll(should_stop), positive_index=positive_index,
                             sample_weight=sample_weight)
    return FitResult(model=model, history=history, best_epoch=len(history), stopped_early=False, device=str(device),
                     seconds=time.perf_counter() - started, extra=extra)


def predict_proba(model: nn.Module, X: np.ndarray | Tensor, *, n_classes: int,
                  device: torch.device = torch.device("cpu"), batch: int = 65_536) -> np.ndarray:
    """Class probabilities, float64 array ``(n, n_classes)``; binary gives ``[1 - p, p]`` with p = P(class 1).

    Probabilities are computed from the logits in float64 so ``1 - p`` keeps its precision near 0 and 1. The model
    is switched to eval mode; when it sits on another device a copy is moved, so the caller's module is unchanged.
    """
    n_outputs_for(n_classes)
    device = torch.device(device)
    params = list(model.parameters())
    if params and params[0].device != device:
        model = copy.deepcopy(model).to(device)
    was_training = model.training
    model.eval()
    rows = X.shape[0]
    out = np.empty((rows, n_classes), dtype=np.float64)
    try:
        with torch.inference_mode():
            for start in range(0, rows, batch):
                chunk = X[start:start + batch]
                # float64 on the CPU: 1 - p keeps its precision, and MPS has no float64
                logits = model(to_device(chunk, torch.float32, device)).cpu().double()
                if n_classes == 2:
                    p = torch.sigmoid(logits.reshape(-1))
                    probs = torch.stack([torch.sigmoid(-logits.reshape(-1)), p], dim=1)
                else:
                    probs = torch.softmax(logits, dim=1)
                out[start:start + batch] = probs.cpu().numpy()
    finally:
        model.train(was_training)
    return out
