"""One data-parallel worker's epochs: the global schedule of the one-process loops, applied to the rows it holds.

Split from :mod:`core.training.distributed` (which talks to Ray Train) so the arithmetic imports no Ray. See that
module's docstring for why this equals the one-process loop and keeps DP-SGD's guarantee.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from core.dp import EpsilonMeter, clipped_grad_step, layer_chain, plan_noise
from core.errors import RunCancelledError, TrainingError
from core.models.modules import build_model, n_outputs_for
from core.training._objective import NON_FINITE_LOSS, NON_FINITE_VAL, Objective, class_weights, validate, what
from core.training._plain_result import to_plain
from core.training._steps import CANCELLED
from core.training._stopping import EarlyStopping
from core.training.config import TrainConfig
from core.training.loop import EpochRecord, FitResult, _make_optimizer

STOP_SYNC_STEPS = 50


class Sync(Protocol):
    """Sums over the data-parallel workers (identity for one)."""

    def total(self, tensor: Tensor) -> Tensor: ...
    def any(self, flag: bool, device: torch.device) -> bool: ...
    def grads(self, params: list[nn.Parameter]) -> None: ...


@dataclass(frozen=True)
class Schedule:
    """What every worker must agree on: the settings and the size and classes of the *whole* training table."""

    config: TrainConfig
    n_total: int
    n_features: int
    n_classes: int
    positive_index: int
    class_weights: list[float] | None


def class_weight_list(y_train: np.ndarray, n_classes: int, config: TrainConfig) -> list[float] | None:
    """'balanced' class weights from the whole training table (a shard's counts would differ per worker)."""
    if config.class_weights != "balanced":
        return None
    return class_weights(torch.from_numpy(np.asarray(y_train, np.int64)), n_classes).tolist()


@dataclass
class _State:
    model: nn.Module
    optimizer: torch.optim.Optimizer
    params: list[nn.Parameter]
    generator: torch.Generator
    objective: Objective
    X: Tensor
    y: Tensor
    local_of: Tensor  # global row number -> row in this worker's shard, or -1


def _setup(schedule: Schedule, rows: np.ndarray, X: np.ndarray, y: np.ndarray, device: torch.device) -> _State:
    cfg = schedule.config
    local_of = torch.full((schedule.n_total,), -1, dtype=torch.int64, device=device)
    local_of[torch.from_numpy(np.asarray(rows, np.int64)).to(device)] = torch.arange(len(rows), device=device)
    torch.manual_seed(cfg.seed)  # identical initial weights on every worker, and equal to the one-process loops
    model = build_model(cfg.model_config(), schedule.n_features, n_outputs_for(schedule.n_classes)).to(device)
    generator = torch.Generator(device=device)
    generator.manual_seed(cfg.seed)
    weights = None if schedule.class_weights is None else torch.tensor(schedule.class_weights, device=device)
    return _State(model=model, optimizer=_make_optimizer(model, cfg),
                  params=[p for p in model.parameters() if p.requires_grad], generator=generator,
                  objective=Objective(schedule.n_classes, weights),
                  X=torch.from_numpy(np.ascontiguousarray(X, np.float32)).to(device),
                  y=torch.from_numpy(np.asarray(y, np.int64)).to(device), local_of=local_of)


def _mine(state: _State, scheduled: Tensor) -> Tensor:
    local = state.local_of.index_select(0, scheduled)
    return local[local >= 0]


def _plain_epoch(state: _State, schedule: Schedule, sync: Sync, epoch: int, stop: Callable[[], bool]) -> float:
    """One epoch of the one-process plain step's schedule; returns the train loss (mean over rows)."""
    n, batch, cfg = schedule.n_total, schedule.config.batch_size, schedule.config
    order = torch.randperm(n, generator=state.generator, device=state.X.device)
    host_total = 0.0
    for step, start in enumerate(range(0, n, batch), start=1):
        scheduled = order[start:start + batch]
        local = _mine(state, scheduled)
        part_sum, part_norm = state.objective.sums(state.model(state.X.index_select(0, local)),
                                                    state.y.index_select(0, local))
        stats = sync.total(torch.stack([part_sum.detach(), part_norm.to(part_sum.dtype)]))
        value = float(stats[0] / stats[1].clamp(min=1e-12))
        if not math.isfinite(value):
            raise TrainingError(NON_FINITE_LOSS.format(what=what(value), where=f"epoch {epoch} (batch {step})",
                                                       lr=cfg.learning_rate))
        host_total += value * scheduled.numel()
        state.optimizer.zero_grad(set_to_none=True)
        (part_sum / stats[1].clamp(min=1e-12)).backward()
        sync.grads(state.params)
        state.optimizer.step()
        if step % STOP_SYNC_STEPS == 0 and sync.any(stop(), state.X.device):
            raise RunCancelledError(CANCELLED.format(epoch=epoch))
    return host_total / n


@dataclass
class _Private:
    noise: float
    delta: float
    rate: float
    per_epoch: int
    meter: EpsilonMeter
    row_loss: Callable[[Tensor, Tensor], Tensor]
    chain: list[nn.Module]
    steps: int = 0
    empty: int = 0


def _private_epoch(state: _State, schedule: Schedule, dp: _Private, sync: Sync, epoch: int,
                   stop: Callable[[], bool]) -> float:
    """One epoch of the one-process DP-SGD step's schedule; noise once per global step (module docstring)."""
    n, cfg = schedule.n_total, schedule.config
    clip = float(cfg.max_grad_norm)
    loss_sum = torch.zeros((), device=state.X.device)
    rows_seen = 0.0
    for step in range(1, dp.per_epoch + 1):
        sampled = (torch.rand(n, generator=state.generator, device=state.X.device) < dp.rate).nonzero().squeeze(1)
        local = _mine(state, sampled)
        state.optimizer.zero_grad(set_to_none=True)
        step_sum = torch.zeros((), device=state.X.device)
        if local.numel():
            yb = state.y.index_select(0, local)
            losses, _ = clipped_grad_step(dp.chain, state.X.index_select(0, local),
                                          lambda logits, yb=yb: dp.row_loss(logits, yb), clip)
            step_sum = losses.sum()
        stats = sync.total(torch.stack([step_sum, torch.tensor(float(local.numel()), device=step_sum.device)]))
        if not bool(torch.isfinite(stats[0])):
            raise TrainingError(NON_FINITE_LOSS.format(what=what(float(stats[0])), where=f"epoch {epoch} (batch "
                                                       f"{step})", lr=cfg.learning_rate))
        dp.empty += int(stats[1].item() == 0)
        loss_sum += stats[0]
        rows_seen += float(stats[1])
        sync.grads(state.params)  # the clipped sums of all workers: the global step's sum
        _add_noise(state.params, dp.noise * clip, dp.rate * n, state.generator)  # same draw everywhere: once
        state.optimizer.step()
        dp.steps += 1
        if step % STOP_SYNC_STEPS == 0 and sync.any(stop(), state.X.device):
            raise RunCancelledError(CANCELLED.format(epoch=epoch))
    return float(loss_sum.item()) / max(1.0, rows_seen)


def _add_noise(params: list[nn.Parameter], std: float, expected_batch: float, generator: torch.Generator) -> None:
    """As :class:`core.training._steps.PrivateStep` adds it: N(0, std^2) on each summed gradient, then divided by the
    expected batch size; drawn in parameter order from the shared generator, so every worker draws the same."""
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        noise = torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype)
        p.grad.add_(noise, alpha=std).div_(expected_batch)


def _private_plan(schedule: Schedule, state: _State) -> _Private:
    cfg = schedule.config
    noise, delta, rate, per_epoch = plan_noise(rows=schedule.n_total, batch_size=cfg.batch_size, epochs=cfg.epochs,
                                               noise_multiplier=cfg.noise_multiplier,
                                               target_epsilon=cfg.target_epsilon, delta=cfg.delta,
                                               accountant=cfg.accountant)
    return _Private(noise=noise, delta=delta, rate=rate, per_epoch=per_epoch,
                    meter=EpsilonMeter(noise_multiplier=noise, sample_rate=rate, delta=delta,
                                       accountant=cfg.accountant),
                    row_loss=state.objective.row_losses, chain=layer_chain(state.model))


def run_epochs(schedule: Schedule, rows: np.ndarray, X: np.ndarray, y: np.ndarray, X_val: np.ndarray,
               y_val: np.ndarray, *, device: torch.device, sync: Sync, report: Callable[[dict], None] | None,
               should_stop: Callable[[], bool]) -> dict[str, Any]:
    """Train on this worker's rows in step with the others; ``report`` (rank 0 only) gets each epoch. Returns what
    :func:`core.training._plain_result.to_plain` returns, so the caller rebuilds a :class:`FitResult`."""
    started = time.perf_counter()
    cfg = schedule.config
    state = _setup(schedule, rows, X, y, device)
    Xv = torch.from_numpy(np.ascontiguousarray(X_val, np.float32)).to(device)
    yv = torch.from_numpy(np.asarray(y_val, np.int64)).to(device)
    dp = _private_plan(schedule, state) if cfg.private else None
    history: list[EpochRecord] = []
    stopping = EarlyStopping(cfg.early_stopping_patience, cfg.epochs)
    spent = None
    for epoch in range(1, cfg.epochs + 1):
        if sync.any(should_stop(), device):
            raise RunCancelledError(CANCELLED.format(epoch=epoch))
        state.model.train()
        train_loss = (_private_epoch(state, schedule, dp, sync, epoch, should_stop) if dp is not None
                      else _plain_epoch(state, schedule, sync, epoch, should_stop))
        val_loss, val_accuracy, val_auc = validate(state.model, state.objective, Xv, yv, n_classes=schedule.n_classes,
                                                    positive_index=schedule.positive_index, threshold=cfg.threshold)
        if not math.isfinite(val_loss):
            raise TrainingError(NON_FINITE_VAL.format(what=what(val_loss), epoch=epoch, lr=cfg.learning_rate))
        if dp is not None and report is not None:
            spent = dp.meter.epsilon(dp.steps)
        record = EpochRecord(epoch=epoch, train_loss=train_loss, val_loss=val_loss, val_accuracy=val_accuracy,
                             val_auc=val_auc, seconds=time.perf_counter() - started,
                             epsilon=None if spent is None else spent.epsilon)
        history.append(record)
        if report is not None:
            report({"epoch": record.to_dict()})
        if stopping.should_stop(state.model, epoch, val_loss):
            break
    best_epoch = stopping.finish(state.model, len(history))
    model = state.model.to("cpu").eval()
    extra: dict[str, Any] = {}
    if dp is not None:
        spent = spent if spent is not None else dp.meter.epsilon(dp.steps)  # a worker that did not report
        extra = {"private": True, "epsilon": spent.epsilon, "delta": dp.delta, "accountant": spent.accountant,
                 "accountant_requested": cfg.accountant, "accountant_note": spent.note, "noise_multiplier": dp.noise,
                 "max_grad_norm": float(cfg.max_grad_norm), "sample_rate": dp.rate, "steps": dp.steps,
                 "steps_per_epoch": dp.per_epoch, "target_epsilon": cfg.target_epsilon, "empty_batches": dp.empty,
                 "accounting_seconds": 0.0}
    return to_plain(FitResult(model=model, history=history, best_epoch=best_epoch,
                              stopped_early=stopping.stopped_early, device=str(device),
                              seconds=time.perf_counter() - started, extra=extra))
