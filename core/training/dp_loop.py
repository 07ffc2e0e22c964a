"""The differentially private training loop (DP-SGD), next to the plain loop in :mod:`core.training.loop`.

Each step follows Abadi et al. (2016) as Opacus implements it, with the same accounting assumptions:

1. **Poisson sampling** over the device-resident tensors: every training row joins a step's batch independently
   with probability ``q = batch / n`` (one ``torch.rand(n) < q`` on the device; no DataLoader). An epoch is
   ``ceil(n / batch)`` steps. A batch can be empty; the step still happens (noise only) and is counted.
2. **Per-row clipping** to ``max_grad_norm`` with norms in closed form (:mod:`core.privacy._clipping`), then the
   clipped gradients summed.
3. **Gaussian noise** ``N(0, (sigma * C)^2)`` added to the sum, divided by the *expected* batch size ``q * n``.
4. The accountant is fed exactly these steps: (sigma, q, steps taken); epsilon after each epoch goes into the
   epoch record (the live meter) and the final epsilon, delta and accountant into ``FitResult.extra``.

With a target epsilon, sigma is the smallest found noise whose epsilon after all planned steps is at most the
target; early stopping only ever spends less. Validation rows pick the best epoch, which is post-processing of the
private model sequence and spends nothing from the training rows' budget. The noise comes from torch's seeded
generator, so runs are reproducible; that is fine for auditing and study, while a deployment facing a strong
adversary would want a cryptographically secure generator (Opacus's ``secure_mode``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from core.errors import RunCancelledError, TrainingError
from core.models.modules import build_model, n_outputs_for
from core.privacy import EpsilonMeter, default_delta, find_noise_multiplier, sample_rate, steps_per_epoch
from core.privacy._clipping import clipped_grad_step, layer_chain
from core.training._stopping import EarlyStopping
from core.training.config import TrainConfig
from core.training.loop import (
    CANCELLED,
    NON_FINITE_LOSS,
    NON_FINITE_VAL,
    STOP_POLL_SECONDS,
    EpochRecord,
    FitResult,
    _class_weights,
    _make_optimizer,
    _Objective,
    _to_device,
    _validate,
    _what,
    device_tensors,
)


def per_row_loss_fn(n_classes: int, weights: Tensor | None) -> Callable[[Tensor, Tensor], Tensor]:
    """Per-row loss with the same weighting as the plain loop's objective (pos_weight / class weights)."""
    if n_classes == 2:
        pos_weight = None if weights is None else (weights[1] / weights[0].clamp(min=1e-12)).reshape(1)

        def binary(logits: Tensor, y: Tensor) -> Tensor:
            return F.binary_cross_entropy_with_logits(logits.squeeze(1), y.to(logits.dtype), pos_weight=pos_weight,
                                                      reduction="none")
        return binary

    def multi(logits: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(logits, y, weight=weights, reduction="none")
    return multi


def plan_noise(config: TrainConfig, n_train: int, batch: int) -> tuple[float, float, float, int]:
    """(noise multiplier, delta, sampling rate, steps per epoch) for a private run on ``n_train`` rows."""
    delta = config.delta if config.delta is not None else default_delta(n_train)
    rate = sample_rate(n_train, batch)
    per_epoch = steps_per_epoch(n_train, batch)
    if config.noise_multiplier is not None:
        return float(config.noise_multiplier), delta, rate, per_epoch
    found = find_noise_multiplier(target_epsilon=float(config.target_epsilon), sample_rate=rate,
                                  steps=per_epoch * config.epochs, delta=delta, accountant=config.accountant)
    return found.noise_multiplier, delta, rate, per_epoch


def _noisy_average(params: list[nn.Parameter], noise_std: float, expected_batch: float,
                   generator: torch.Generator) -> None:
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        noise = torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype)
        p.grad.add_(noise, alpha=noise_std).div_(expected_batch)


def fit_private(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, *, n_classes: int,
                config: TrainConfig, device: torch.device, on_epoch: Callable[[EpochRecord], None] | None,
                should_stop: Callable[[], bool] | None, positive_index: int,
                sample_weight: np.ndarray | None = None) -> FitResult:
    """DP-SGD version of :func:`core.training.loop.fit` (same inputs, same result, plus privacy in ``extra``).

    ``sample_weight`` (mean 1, from ``fit``) scales each row's loss before clipping, so a reweighting mitigation
    still trains privately: clipping bounds every row's contribution whatever its weight.
    """
    started = time.perf_counter()
    Xt, yt, Xv, yv = device_tensors(X_train, y_train, X_val, y_val, device)
    row_weight = None if sample_weight is None else _to_device(sample_weight, torch.float32, device)

    n, batch = Xt.shape[0], config.batch_size
    noise, delta, rate, per_epoch = plan_noise(config, n, batch)
    meter = EpsilonMeter(noise_multiplier=noise, sample_rate=rate, delta=delta, accountant=config.accountant)
    clip = float(config.max_grad_norm)
    expected_batch = rate * n

    torch.manual_seed(config.seed)
    model = build_model(config.model_config(), Xt.shape[1], n_outputs_for(n_classes)).to(device)
    chain = layer_chain(model)
    params = [p for p in model.parameters() if p.requires_grad]
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    weights = _class_weights(yt, n_classes) if config.class_weights == "balanced" else None
    objective = _Objective(n_classes, weights)
    row_loss = per_row_loss_fn(n_classes, weights)
    optimizer = _make_optimizer(model, config)

    history: list[EpochRecord] = []
    stopping = EarlyStopping(config.early_stopping_patience, config.epochs)
    steps_done, empty_batches, accounting_seconds = 0, 0, 0.0
    last_poll = time.perf_counter()
    spent = None
    for epoch in range(1, config.epochs + 1):
        if should_stop is not None and should_stop():
            raise RunCancelledError(CANCELLED.format(epoch=epoch))
        model.train()
        loss_sum, rows_seen = torch.zeros((), device=device), 0
        for step in range(1, per_epoch + 1):
            index = (torch.rand(n, generator=generator, device=device) < rate).nonzero().squeeze(1)
            optimizer.zero_grad(set_to_none=True)
            if index.numel() == 0:
                empty_batches += 1
            else:
                y_batch = yt.index_select(0, index)
                w_batch = None if row_weight is None else row_weight.index_select(0, index)

                def batch_loss(logits: Tensor, yb: Tensor = y_batch, wb: Tensor | None = w_batch) -> Tensor:
                    return row_loss(logits, yb) if wb is None else row_loss(logits, yb) * wb

                losses, _ = clipped_grad_step(chain, Xt.index_select(0, index), batch_loss, clip)
                total = losses.sum()
                if not bool(torch.isfinite(total)):
                    raise TrainingError(NON_FINITE_LOSS.format(what=_what(float(total)), where=f"epoch {epoch} "
                                                               f"(batch {step})", lr=config.learning_rate))
                loss_sum += total
                rows_seen += index.numel()
            _noisy_average(params, noise * clip, expected_batch, generator)
            optimizer.step()
            steps_done += 1
            if should_stop is not None and time.perf_counter() - last_poll >= STOP_POLL_SECONDS:
                last_poll = time.perf_counter()
                if should_stop():
                    raise RunCancelledError(CANCELLED.format(epoch=epoch))
        train_loss = float(loss_sum.item()) / max(1, rows_seen)
        val_loss, val_accuracy, val_auc = _validate(model, objective, Xv, yv, n_classes=n_classes,
                                                    positive_index=positive_index, threshold=config.threshold)
        if not math.isfinite(val_loss):
            raise TrainingError(NON_FINITE_VAL.format(what=_what(val_loss), epoch=epoch, lr=config.learning_rate))
        tick = time.perf_counter()
        spent = meter.epsilon(steps_done)
        accounting_seconds += time.perf_counter() - tick
        record = EpochRecord(epoch=epoch, train_loss=train_loss, val_loss=val_loss, val_accuracy=val_accuracy,
                             val_auc=val_auc, seconds=time.perf_counter() - started, epsilon=spent.epsilon)
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if stopping.should_stop(model, epoch, val_loss):
            break
    best_epoch = stopping.finish(model, len(history))
    model = model.to("cpu").eval()
    extra = {"private": True, "epsilon": spent.epsilon, "delta": delta, "accountant": spent.accountant,
             "accountant_requested": config.accountant, "accountant_note": spent.note, "noise_multiplier": noise,
             "max_grad_norm": clip, "sample_rate": rate, "steps": steps_done, "steps_per_epoch": per_epoch,
             "target_epsilon": config.target_epsilon, "empty_batches": empty_batches,
             "accounting_seconds": accounting_seconds}
    return FitResult(model=model, history=history, best_epoch=best_epoch, stopped_early=stopping.stopped_early,
                     device=str(device), seconds=time.perf_counter() - started, extra=extra)
