"""The plain (non-private) training loop: whole tensors on the device, randperm batches, early stopping.

Why no DataLoader: the tables fit in memory, and a DataLoader over an in-memory tensor costs a Python collate per
batch plus a host-to-device copy per batch on a GPU. Here ``X`` and ``y`` are moved to the device once, each epoch
draws one ``torch.randperm`` on the device from a seeded generator, and a batch is an index gather of device
memory. On a CPU ``torch.from_numpy`` even avoids the copy.

Guarantees the rest of Riskboard relies on:

* **determinism**: the same seed on the same device (and thread count) gives the same history and weights, because
  the initial weights come from ``torch.manual_seed(seed)`` and the batch order from a generator seeded the same way;
* **NaN/inf loss** stops the run with :class:`TrainingError` naming the epoch and the learning rate (checked every
  step on the CPU, where a check is free, and every 32 steps plus each epoch end on an accelerator, where each
  check is a host sync);
* **cancel**: ``should_stop()`` is polled about twice a second and at each epoch end and raises
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
from sklearn.metrics import roc_auc_score
from torch import Tensor, nn

from core.errors import RunCancelledError, TrainingError
from core.jsonsafe import finite
from core.models.modules import build_model, n_outputs_for
from core.training._stopping import EarlyStopping
from core.training.config import TrainConfig

NON_FINITE_LOSS = ("the training loss became {what} at {where}; lower the learning rate (now {lr}) or check the "
                   "data for extreme values.")
NON_FINITE_VAL = ("the validation loss became {what} at epoch {epoch}; lower the learning rate (now {lr}) or check "
                  "the data for extreme values.")
NON_FINITE_INPUT = ("the {part} features contain NaN or infinite values; encode the table with the preprocessor "
                    "(it imputes missing values) before training.")
OUT_OF_MEMORY = ("the {device} ran out of memory while training with batch size {batch}; lower the batch size "
                 "(for example to {smaller}) or train on the CPU (RISKBOARD_DEVICE=cpu).")
CANCELLED = "the run was cancelled by the user during epoch {epoch}."
BAD_SHAPES = "training data shapes do not fit: {why}"
BAD_LABELS = "{part} labels must be class indices from 0 to {last}; found {found!r}."
BAD_WEIGHTS = "sample weights must be one finite, non-negative number per training row, not all zero."

STOP_POLL_SECONDS = 0.5
ACCELERATOR_CHECK_EVERY = 32
EVAL_BATCH = 65_536


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


def _class_weights(y: Tensor, n_classes: int) -> Tensor:
    """sklearn's 'balanced' weights n / (K * count_k); empty classes get weight 0."""
    counts = torch.bincount(y, minlength=n_classes).to(torch.float32)
    return torch.where(counts > 0, y.numel() / (n_classes * counts.clamp(min=1)), torch.zeros_like(counts))


class _Objective:
    """Loss for training steps and for validation sums (same weighting, so the two curves are comparable)."""

    def __init__(self, n_classes: int, weights: Tensor | None) -> None:
        self.binary = n_classes == 2
        self.weights = weights
        if self.binary:
            pos_weight = None if weights is None else (weights[1] / weights[0].clamp(min=1e-12)).reshape(1)
            self.pos_weight = pos_weight
            self.step_loss: nn.Module = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        else:
            self.step_loss = nn.CrossEntropyLoss(weight=weights)

    def target(self, y: Tensor) -> Tensor:
        return y.to(torch.float32) if self.binary else y

    def __call__(self, logits: Tensor, target: Tensor, row_weight: Tensor | None = None) -> Tensor:
        if row_weight is None:
            return self.step_loss(logits.squeeze(1) if self.binary else logits, target)
        if self.binary:
            terms = nn.functional.binary_cross_entropy_with_logits(logits.squeeze(1), target,
                                                                   pos_weight=self.pos_weight, reduction="none")
        else:
            terms = nn.functional.cross_entropy(logits, target, weight=self.weights, reduction="none")
        return (terms * row_weight).mean()

    def sums(self, logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """(sum of per-row losses, normaliser) so chunked validation equals the full-batch mean loss."""
        if self.binary:
            terms = nn.functional.binary_cross_entropy_with_logits(logits.squeeze(1), y.to(torch.float32),
                                                                   pos_weight=self.pos_weight, reduction="none")
            return terms.sum(), torch.tensor(float(y.numel()), device=y.device)
        terms = nn.functional.cross_entropy(logits, y, reduction="none")
        if self.weights is None:
            return terms.sum(), torch.tensor(float(y.numel()), device=y.device)
        w = self.weights[y]
        return (terms * w).sum(), w.sum()


def _make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW or SGD, fused where torch supports it on the device.

    The fused kernels update all parameters in one pass; on the CPU that measured 20-30% faster per step for the
    default MLP at batch 256-1024 (per-step overhead dominates such a small model). Falls back to the default
    implementation on devices without a fused kernel.
    """
    params = list(model.parameters())
    for fused in (True, None):
        try:
            if config.optimizer == "sgd":
                return torch.optim.SGD(params, lr=config.learning_rate, momentum=config.momentum,
                                       weight_decay=config.weight_decay, fused=fused)
            return torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay, fused=fused)
        except (RuntimeError, ValueError):
            if fused is None:
                raise
    raise AssertionError("unreachable")


def _check_interval(device: torch.device) -> int:
    """Steps between NaN checks: every step on the CPU (no sync cost), every 32 on an accelerator."""
    return 1 if device.type == "cpu" else ACCELERATOR_CHECK_EVERY


def _what(value: float) -> str:
    return "NaN" if math.isnan(value) else "infinite"


def _validate(model: nn.Module, objective: _Objective, X: Tensor, y: Tensor, *, n_classes: int, positive_index: int,
              threshold: float) -> tuple[float, float, float]:
    """Validation loss, accuracy (threshold / argmax) and positive-vs-rest ROC AUC."""
    model.eval()
    loss_sum = torch.zeros((), device=X.device)
    norm = torch.zeros((), device=X.device)
    logits_parts = []
    with torch.no_grad():
        for start in range(0, X.shape[0], EVAL_BATCH):
            logits = model(X[start:start + EVAL_BATCH])
            part_sum, part_norm = objective.sums(logits, y[start:start + EVAL_BATCH])
            loss_sum += part_sum
            norm += part_norm
            logits_parts.append(logits)
        logits = torch.cat(logits_parts)
        if n_classes == 2:
            p1 = torch.sigmoid(logits.squeeze(1))
            predicted = (p1 >= threshold).to(torch.int64)
            score = p1 if positive_index == 1 else 1.0 - p1
        else:
            predicted = logits.argmax(dim=1)
            score = torch.softmax(logits, dim=1)[:, positive_index]
        accuracy = (predicted == y).to(torch.float32).mean()
    val_loss = float((loss_sum / norm.clamp(min=1e-12)).item())
    truth = (y == positive_index).cpu().numpy()
    auc = float("nan")
    if 0 < truth.sum() < truth.size:
        auc = float(roc_auc_score(truth, score.cpu().numpy().astype(np.float64)))
    return val_loss, float(accuracy.item()), auc


def _to_device(array: np.ndarray | Tensor, dtype: torch.dtype, device: torch.device) -> Tensor:
    tensor = array if isinstance(array, Tensor) else torch.from_numpy(np.ascontiguousarray(array))
    return tensor.to(device=device, dtype=dtype)


def fit(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, *, n_classes: int,
        config: TrainConfig, device: torch.device, on_epoch: Callable[[EpochRecord], None] | None = None,
        should_stop: Callable[[], bool] | None = None, positive_index: int = 1,
        sample_weight: np.ndarray | None = None) -> FitResult:
    """Train ``build_model(config)`` on (X_train, y_train), validating on (X_val, y_val) after every epoch.

    ``y`` holds class indices ``0..n_classes-1``; for a binary target the single logit is the score of class 1.
    ``positive_index`` picks the class whose one-vs-rest ROC AUC is reported. ``on_epoch`` receives each
    :class:`EpochRecord` as soon as it exists (the run store writes it for the live loss curve).
    ``sample_weight`` (one per training row) weights each row's loss, rescaled to mean 1 so the learning rate keeps
    its meaning (reweighting for fairness, reductions); validation loss stays unweighted.
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
    if config.private:  # DP-SGD lives in its own module; imported here to keep the plain path free of it
        from core.training.dp_loop import fit_private

        fit_impl = fit_private
    elif config.uses_lbfgs:  # logistic regression solved exactly; imported here like the DP-SGD loop
        from core.training.lbfgs import fit_lbfgs

        fit_impl = fit_lbfgs
    else:
        fit_impl = _fit
    try:
        return fit_impl(X_train, y_train, X_val, y_val, n_classes=n_classes, config=config, device=device,
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


def device_tensors(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                   device: torch.device) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The training and validation parts moved to the device once (batches are sliced there), features checked
    finite: what both the plain and the DP-SGD loops start from."""
    Xt = _to_device(X_train, torch.float32, device)
    Xv = _to_device(X_val, torch.float32, device)
    if not bool(torch.isfinite(Xt).all()):
        raise TrainingError(NON_FINITE_INPUT.format(part="training"))
    if not bool(torch.isfinite(Xv).all()):
        raise TrainingError(NON_FINITE_INPUT.format(part="validation"))
    yt = _to_device(y_train.astype(np.int64, copy=False), torch.int64, device)
    yv = _to_device(y_val.astype(np.int64, copy=False), torch.int64, device)
    return Xt, yt, Xv, yv


def _fit(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, *, n_classes: int,
         config: TrainConfig, device: torch.device, on_epoch: Callable[[EpochRecord], None] | None,
         should_stop: Callable[[], bool] | None, positive_index: int,
         sample_weight: np.ndarray | None = None) -> FitResult:
    started = time.perf_counter()
    Xt, yt, Xv, yv = device_tensors(X_train, y_train, X_val, y_val, device)

    torch.manual_seed(config.seed)
    model = build_model(config.model_config(), Xt.shape[1], n_outputs_for(n_classes)).to(device)
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    weights = _class_weights(yt, n_classes) if config.class_weights == "balanced" else None
    objective = _Objective(n_classes, weights)
    target = objective.target(yt)
    row_weight = None if sample_weight is None else _to_device(sample_weight, torch.float32, device)
    optimizer = _make_optimizer(model, config)

    n, batch = Xt.shape[0], config.batch_size
    check_every = _check_interval(device)
    history: list[EpochRecord] = []
    stopping = EarlyStopping(config.early_stopping_patience, config.epochs)
    last_poll = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        if should_stop is not None and should_stop():
            raise RunCancelledError(CANCELLED.format(epoch=epoch))
        model.train()
        order = torch.randperm(n, generator=generator, device=device)
        total = torch.zeros((), device=device)  # float32: MPS has no float64; ample for a sum of losses
        host_total = 0.0
        for step, start in enumerate(range(0, n, batch), start=1):
            index = order[start:start + batch]
            logits = model(Xt.index_select(0, index))
            loss = objective(logits, target.index_select(0, index),
                             None if row_weight is None else row_weight.index_select(0, index))
            if check_every == 1:
                value = loss.item()
                if not math.isfinite(value):
                    raise TrainingError(NON_FINITE_LOSS.format(what=_what(value), where=f"epoch {epoch} (batch {step})",
                                                               lr=config.learning_rate))
                host_total += value * index.numel()
            else:
                total += loss.detach() * index.numel()
                if step % check_every == 0 and not bool(torch.isfinite(total)):
                    raise TrainingError(NON_FINITE_LOSS.format(what=_what(float(total)), where=f"epoch {epoch} (by "
                                                               f"batch {step})", lr=config.learning_rate))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if should_stop is not None and time.perf_counter() - last_poll >= STOP_POLL_SECONDS:
                last_poll = time.perf_counter()
                if should_stop():
                    raise RunCancelledError(CANCELLED.format(epoch=epoch))
        train_loss = host_total / n if check_every == 1 else float(total.item()) / n
        if not math.isfinite(train_loss):
            raise TrainingError(NON_FINITE_LOSS.format(what=_what(train_loss), where=f"epoch {epoch}",
                                                       lr=config.learning_rate))
        val_loss, val_accuracy, val_auc = _validate(model, objective, Xv, yv, n_classes=n_classes,
                                                    positive_index=positive_index, threshold=config.threshold)
        if not math.isfinite(val_loss):
            raise TrainingError(NON_FINITE_VAL.format(what=_what(val_loss), epoch=epoch, lr=config.learning_rate))
        record = EpochRecord(epoch=epoch, train_loss=train_loss, val_loss=val_loss, val_accuracy=val_accuracy,
                             val_auc=val_auc, seconds=time.perf_counter() - started)
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if stopping.should_stop(model, epoch, val_loss):
            break
    best_epoch = stopping.finish(model, len(history))
    model = model.to("cpu").eval()
    return FitResult(model=model, history=history, best_epoch=best_epoch, stopped_early=stopping.stopped_early,
                     device=str(device), seconds=time.perf_counter() - started)


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
                logits = model(_to_device(chunk, torch.float32, device)).cpu().double()
                if n_classes == 2:
                    p = torch.sigmoid(logits.reshape(-1))
                    probs = torch.stack([torch.sigmoid(-logits.reshape(-1)), p], dim=1)
                else:
                    probs = torch.softmax(logits, dim=1)
                out[start:start + batch] = probs.cpu().numpy()
    finally:
        model.train(was_training)
    return out
