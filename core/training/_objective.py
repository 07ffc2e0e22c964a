"""What both gradient steps of the training loop share: the loss (training and validation use the same weighting,
so the two curves are comparable), balanced class weights, device tensors and the validation pass."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from core.data.schema import rank_auc
from core.errors import TrainingError

NON_FINITE_LOSS = ("the training loss became {what} at {where}; lower the learning rate (now {lr}) or check the "
                   "data for extreme values.")
NON_FINITE_VAL = ("the validation loss became {what} at epoch {epoch}; lower the learning rate (now {lr}) or check "
                  "the data for extreme values.")
NON_FINITE_INPUT = ("the {part} features contain NaN or infinite values; encode the table with the preprocessor "
                    "(it imputes missing values) before training.")
EVAL_BATCH = 65_536


def what(value: float) -> str:
    """How a non-finite number is named in an error message."""
    return "NaN" if math.isnan(value) else "infinite"


def class_weights(y: Tensor, n_classes: int) -> Tensor:
    """sklearn's 'balanced' weights n / (K * count_k); empty classes get weight 0."""
    counts = torch.bincount(y, minlength=n_classes).to(torch.float32)
    return torch.where(counts > 0, y.numel() / (n_classes * counts.clamp(min=1)), torch.zeros_like(counts))


class Objective:
    """Loss for training steps (mean, or per row for DP-SGD's clipping) and for validation sums."""

    def __init__(self, n_classes: int, weights: Tensor | None) -> None:
        self.binary = n_classes == 2
        self.weights = weights
        self.pos_weight = None
        if self.binary:
            self.pos_weight = None if weights is None else (weights[1] / weights[0].clamp(min=1e-12)).reshape(1)
            self.step_loss: nn.Module = nn.BCEWithLogitsLoss(pos_weight=self.pos_weight)
        else:
            self.step_loss = nn.CrossEntropyLoss(weight=weights)

    def target(self, y: Tensor) -> Tensor:
        return y.to(torch.float32) if self.binary else y

    def __call__(self, logits: Tensor, target: Tensor, row_weight: Tensor | None = None) -> Tensor:
        if row_weight is None:
            return self.step_loss(logits.squeeze(1) if self.binary else logits, target)
        return (self.row_losses(logits, target) * row_weight).mean()

    def row_losses(self, logits: Tensor, y: Tensor) -> Tensor:
        """One loss per row, same weighting as the mean loss (pos_weight / class weights)."""
        if self.binary:
            return F.binary_cross_entropy_with_logits(logits.squeeze(1), y.to(logits.dtype),
                                                      pos_weight=self.pos_weight, reduction="none")
        return F.cross_entropy(logits, y, weight=self.weights, reduction="none")

    def sums(self, logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """(sum of per-row losses, normaliser) so chunked validation equals the full-batch mean loss."""
        if self.binary:
            return self.row_losses(logits, y).sum(), torch.tensor(float(y.numel()), device=y.device)
        terms = F.cross_entropy(logits, y, reduction="none")
        if self.weights is None:
            return terms.sum(), torch.tensor(float(y.numel()), device=y.device)
        w = self.weights[y]
        return (terms * w).sum(), w.sum()


def per_row_loss_fn(n_classes: int, weights: Tensor | None):
    """Per-row loss with the same weighting as the training objective (what DP-SGD clips row by row)."""
    return Objective(n_classes, weights).row_losses


def to_device(array: np.ndarray | Tensor, dtype: torch.dtype, device: torch.device) -> Tensor:
    tensor = array if isinstance(array, Tensor) else torch.from_numpy(np.ascontiguousarray(array))
    return tensor.to(device=device, dtype=dtype)


def all_finite(tensor: Tensor) -> bool:
    """Whether every value is finite, in one pass without a boolean copy: NaN propagates into the minimum and
    maximum and an infinity is one of them (30x faster than ``isfinite(t).all()`` on a 700,000 x 179 table)."""
    if not tensor.numel():
        return True
    low, high = torch.aminmax(tensor)
    return bool(torch.isfinite(low) & torch.isfinite(high))


def device_tensors(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                   device: torch.device) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The training and validation parts moved to the device once (batches are sliced there), features checked
    finite."""
    Xt = to_device(X_train, torch.float32, device)
    Xv = to_device(X_val, torch.float32, device)
    if not all_finite(Xt):
        raise TrainingError(NON_FINITE_INPUT.format(part="training"))
    if not all_finite(Xv):
        raise TrainingError(NON_FINITE_INPUT.format(part="validation"))
    yt = to_device(y_train.astype(np.int64, copy=False), torch.int64, device)
    yv = to_device(y_val.astype(np.int64, copy=False), torch.int64, device)
    return Xt, yt, Xv, yv


def validate(model: nn.Module, objective: Objective, X: Tensor, y: Tensor, *, n_classes: int, positive_index: int,
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
    # the rank form of ROC AUC (equal to scikit-learn's roc_auc_score, ~20x less overhead: it runs every epoch)
    auc = rank_auc(score.cpu().numpy().astype(np.float64), (y == positive_index).cpu().numpy())
    return val_loss, float(accuracy.item()), float("nan") if auc is None else auc
