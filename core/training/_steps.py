"""The two gradient steps the training loop plugs in: a plain minibatch step, or DP-SGD's clipped and noised step
with its accountant. A step owns how an epoch's batches are drawn and how the parameters move; the loop
(:mod:`core.training.loop`) owns everything else (model, validation, the epoch record, early stopping, cancel).

DP-SGD follows Abadi et al. (2016) as Opacus implements it, with the same accounting assumptions:

1. **Poisson sampling** over the device-resident tensors: every training row joins a step's batch independently
   with probability ``q = batch / n`` (one ``torch.rand(n) < q`` on the device; no DataLoader). An epoch is
   ``ceil(n / batch)`` steps. A batch can be empty; the step still happens (noise only) and is counted.
2. **Per-row clipping** to ``max_grad_norm`` with norms in closed form (:mod:`core.dp`), then the clipped gradients
   summed.
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
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from core.dp import EpsilonMeter, clipped_grad_step, layer_chain, plan_noise
from core.errors import RunCancelledError, TrainingError
from core.training._objective import NON_FINITE_LOSS, Objective, what
from core.training.config import TrainConfig

CANCELLED = "the run was cancelled by the user during epoch {epoch}."
STOP_POLL_SECONDS = 0.5


class CancelPoll:
    """``should_stop()`` polled about twice a second during an epoch and at each epoch start."""

    def __init__(self, should_stop: Callable[[], bool] | None) -> None:
        self.should_stop = should_stop
        self.last = time.perf_counter()

    def now(self, epoch: int) -> None:
        if self.should_stop is not None and self.should_stop():
            raise RunCancelledError(CANCELLED.format(epoch=epoch))

    def maybe(self, epoch: int) -> None:
        if self.should_stop is not None and time.perf_counter() - self.last >= STOP_POLL_SECONDS:
            self.last = time.perf_counter()
            self.now(epoch)


@dataclass
class StepContext:
    """What a gradient step works on: the model, its optimizer, the device-resident training rows and the RNG."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    objective: Objective
    X: Tensor
    y: Tensor
    row_weight: Tensor | None
    generator: torch.Generator
    config: TrainConfig
    check_every: int


class PlainStep:
    """Shuffled minibatches (one device ``randperm`` an epoch), the mean loss, one optimizer step a batch.

    The loss is checked finite every step on the CPU (free) and every ``check_every`` steps on an accelerator,
    where each check is a host sync."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.target = ctx.objective.target(ctx.y)

    def epoch(self, epoch: int, poll: CancelPoll) -> float:
        """Train one epoch; the mean training loss."""
        ctx = self.ctx
        n, batch, device = ctx.X.shape[0], ctx.config.batch_size, ctx.X.device
        order = torch.randperm(n, generator=ctx.generator, device=device)
        total = torch.zeros((), device=device)  # float32: MPS has no float64; ample for a sum of losses
        host_total = 0.0
        for step, start in enumerate(range(0, n, batch), start=1):
            index = order[start:start + batch]
            logits = ctx.model(ctx.X.index_select(0, index))
            loss = ctx.objective(logits, self.target.index_select(0, index),
                                 None if ctx.row_weight is None else ctx.row_weight.index_select(0, index))
            if ctx.check_every == 1:
                value = loss.item()
                if not math.isfinite(value):
                    raise TrainingError(NON_FINITE_LOSS.format(what=what(value), where=f"epoch {epoch} (batch {step})",
                                                               lr=ctx.config.learning_rate))
                host_total += value * index.numel()
            else:
                total += loss.detach() * index.numel()
                if step % ctx.check_every == 0 and not bool(torch.isfinite(total)):
                    raise TrainingError(NON_FINITE_LOSS.format(what=what(float(total)), where=f"epoch {epoch} (by "
                                                               f"batch {step})", lr=ctx.config.learning_rate))
            ctx.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            ctx.optimizer.step()
            poll.maybe(epoch)
        return host_total / n if ctx.check_every == 1 else float(total.item()) / n

    def epsilon(self) -> float | None:
        """Privacy spent so far: none for a plain step."""
        return None

    def extra(self) -> dict[str, Any]:
        return {}


class PrivateStep:
    """DP-SGD: Poisson-sampled batches, per-row clipping in closed form, Gaussian noise, and the accountant.

    ``row_weight`` (mean 1) scales each row's loss before clipping, so a reweighting mitigation still trains
    privately: clipping bounds every row's contribution whatever its weight."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        config, n = ctx.config, ctx.X.shape[0]
        self.noise, self.delta, self.rate, self.per_epoch = plan_noise(
            rows=n, batch_size=config.batch_size, epochs=config.epochs, noise_multiplier=config.noise_multiplier,
            target_epsilon=config.target_epsilon, delta=config.delta, accountant=config.accountant)
        self.meter = EpsilonMeter(noise_multiplier=self.noise, sample_rate=self.rate, delta=self.delta,
                                  accountant=config.accountant)
        self.clip = float(config.max_grad_norm)
        self.chain = layer_chain(ctx.model)
        self.params = [p for p in ctx.model.parameters() if p.requires_grad]
        self.steps_done, self.empty_batches, self.accounting_seconds = 0, 0, 0.0
        self.spent = None

    def epoch(self, epoch: int, poll: CancelPoll) -> float:
        """Train one epoch of ``ceil(n / batch)`` noisy steps; the mean loss over the rows sampled."""
        ctx = self.ctx
        n, device = ctx.X.shape[0], ctx.X.device
        loss_sum, rows_seen = torch.zeros((), device=device), 0
        for step in range(1, self.per_epoch + 1):
            index = (torch.rand(n, generator=ctx.generator, device=device) < self.rate).nonzero().squeeze(1)
            ctx.optimizer.zero_grad(set_to_none=True)
            if index.numel() == 0:
                self.empty_batches += 1
            else:
                total = self._clipped(index)
                if not bool(torch.isfinite(total)):
                    raise TrainingError(NON_FINITE_LOSS.format(what=what(float(total)), where=f"epoch {epoch} "
                                                               f"(batch {step})", lr=ctx.config.learning_rate))
                loss_sum += total
                rows_seen += index.numel()
            self._add_noise()
            ctx.optimizer.step()
            self.steps_done += 1
            poll.maybe(epoch)
        return float(loss_sum.item()) / max(1, rows_seen)

    def _clipped(self, index: Tensor) -> Tensor:
        """Clipped, summed per-row gradients of the rows in ``index`` into ``.grad``; their summed loss."""
        ctx = self.ctx
        y_batch = ctx.y.index_select(0, index)
        w_batch = None if ctx.row_weight is None else ctx.row_weight.index_select(0, index)
        row_losses = ctx.objective.row_losses

        def batch_loss(logits: Tensor) -> Tensor:
            return row_losses(logits, y_batch) if w_batch is None else row_losses(logits, y_batch) * w_batch

        losses, _ = clipped_grad_step(self.chain, ctx.X.index_select(0, index), batch_loss, self.clip)
        return losses.sum()

    def _add_noise(self) -> None:
        """Gaussian noise N(0, (sigma C)^2) on the summed gradient, divided by the expected batch size."""
        std, expected_batch = self.noise * self.clip, self.rate * self.ctx.X.shape[0]
        for p in self.params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            noise = torch.randn(p.shape, generator=self.ctx.generator, device=p.device, dtype=p.dtype)
            p.grad.add_(noise, alpha=std).div_(expected_batch)

    def epsilon(self) -> float | None:
        """Epsilon spent by the steps taken so far (the accountant's time is kept for the run's record)."""
        tick = time.perf_counter()
        self.spent = self.meter.epsilon(self.steps_done)
        self.accounting_seconds += time.perf_counter() - tick
        return self.spent.epsilon

    def extra(self) -> dict[str, Any]:
        """Epsilon, delta, accountant, noise and clipping: what ``privacy.json`` and the run's metrics record."""
        config, spent = self.ctx.config, self.spent
        return {"private": True, "epsilon": spent.epsilon, "delta": self.delta, "accountant": spent.accountant,
                "accountant_requested": config.accountant, "accountant_note": spent.note,
                "noise_multiplier": self.noise, "max_grad_norm": self.clip, "sample_rate": self.rate,
                "steps": self.steps_done, "steps_per_epoch": self.per_epoch, "target_epsilon": config.target_epsilon,
                "empty_batches": self.empty_batches, "accounting_seconds": self.accounting_seconds}


def gradient_step(ctx: StepContext) -> PlainStep | PrivateStep:
    """The DP-SGD step for a private config, the plain step otherwise."""
    return PrivateStep(ctx) if ctx.config.private else PlainStep(ctx)
