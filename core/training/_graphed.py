"""The plain minibatch step replayed as a CUDA graph: the same step, without per-kernel launch overhead.

Why: the default MLP is tiny, so on a GPU each optimiser step is bound by launching its few dozen kernels from
Python (about 1.9 ms a step on an H200 at batch 1024, measured in issue 16), not by arithmetic; a 1M-row table at
batch 1024 then trains no faster on the GPU than on the CPU. A CUDA graph records one whole step (gather the batch,
forward, loss, backward, optimiser update) once and replays it with a single launch, as in PyTorch's "whole network
capture" recipe (https://pytorch.org/docs/stable/notes/cuda.html#whole-network-capture).

What stays the same as :class:`core.training._steps.PlainStep`: one device ``randperm`` an epoch, every row once an
epoch, the mean loss, the optimiser and its settings, the NaN check every ``check_every`` steps. What differs: the
first :data:`WARMUP_STEPS` full batches run eagerly on a side stream (as the recipe requires, and to create the
optimiser's state), the batch's row indices are copied into a fixed index tensor that the graph reads, and an
epoch's last, shorter batch runs eagerly. Dropout draws from the graph-safe CUDA generator, so results match the
eager step in distribution, not bit for bit (neither does the GPU's eager step across runs).

Used only on CUDA, for non-private runs with enough full batches, and for now only when ``RISKBOARD_CUDA_GRAPHS=1``:
its logic is tested on the CPU through a stand-in, but no GPU has run the real capture yet; make it the default once a
GPU run has measured the speed-up and the same validation AUC (docs/benchmarks.md says how). If
capture fails (an operation that cannot be captured on this torch or driver), the run says so in its log and goes
on with the eager step: a graph is a speed-up, never a reason for a run to fail.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor

from core.errors import TrainingError
from core.training._objective import NON_FINITE_LOSS, what
from core.training._steps import CancelPoll, StepContext

GRAPHS_ENV = "RISKBOARD_CUDA_GRAPHS"
WARMUP_STEPS = 3
log = logging.getLogger(__name__)


def graphs_wanted(device: torch.device, private: bool, n_train: int, batch: int,
                  environ: dict[str, str] | None = None) -> bool:
    """True when a run should replay its step as a CUDA graph: turned on, on CUDA, not private (DP-SGD draws a
    different batch size every step), with at least two full batches after the warm-up."""
    setting = (os.environ if environ is None else environ).get(GRAPHS_ENV, "").strip().lower()
    if setting not in {"1", "on", "true", "yes"}:  # opt-in until a GPU run has measured it (see the docstring)
        return False
    return device.type == "cuda" and not private and n_train // max(1, batch) >= WARMUP_STEPS + 2


class CudaGraphs:
    """The CUDA calls the graphed step makes, in one seam: tests run the step's own logic on the CPU through a
    stand-in that replays the recorded body eagerly."""

    @contextmanager
    def side_stream(self, device: torch.device) -> Iterator[None]:
        """Run the block on a fresh stream, ordered after and before the current one (the warm-up's stream)."""
        side = torch.cuda.Stream(device=device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            yield
        torch.cuda.current_stream(device).wait_stream(side)

    def capture(self, body: Callable[[], None], device: torch.device) -> Callable[[], None]:
        """Record ``body`` (without running it) and return the call that replays it."""
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            body()
        return graph.replay  # the bound method keeps the graph (and its memory pool) alive

    def synchronize(self, device: torch.device) -> None:
        torch.cuda.synchronize(device)


class GraphedPlainStep:
    """:class:`~core.training._steps.PlainStep`'s epoch with full batches replayed from one captured CUDA graph."""

    def __init__(self, ctx: StepContext, cuda: CudaGraphs | None = None) -> None:
        self.ctx = ctx
        self.cuda = cuda or CudaGraphs()
        self.target = ctx.objective.target(ctx.y)
        device = ctx.X.device
        self.batch = ctx.config.batch_size
        self.index = torch.zeros(self.batch, dtype=torch.int64, device=device)  # what the graph reads
        self.total = torch.zeros((), device=device)  # the epoch's loss sum, kept by the graph itself
        self.replay: Callable[[], None] | None = None
        self.warmups_left = WARMUP_STEPS
        self.capture_failed: str | None = None

    def _loss(self, index: Tensor) -> Tensor:
        ctx = self.ctx
        logits = ctx.model(ctx.X.index_select(0, index))
        return ctx.objective(logits, self.target.index_select(0, index),
                             None if ctx.row_weight is None else ctx.row_weight.index_select(0, index))

    def _eager(self, index: Tensor) -> None:
        """One ordinary step; keeps ``.grad`` tensors in place once a graph owns them (it reads their memory)."""
        optimizer = self.ctx.optimizer
        optimizer.zero_grad(set_to_none=self.replay is None)
        loss = self._loss(index)
        self.total.add_(loss.detach() * index.numel())
        loss.backward()
        optimizer.step()

    def _warm_up(self, index: Tensor) -> None:
        """A real step on a side stream: the recipe's warm-up before capture (it also creates optimiser state)."""
        with self.cuda.side_stream(index.device):
            self._eager(index)
        self.warmups_left -= 1

    def _body(self) -> None:
        """One full step on the rows in ``self.index``: what the graph records."""
        loss = self._loss(self.index)
        self.total.add_(loss.detach() * self.batch)
        loss.backward()
        self.ctx.optimizer.step()

    def _capture(self) -> None:
        """Record the step into a CUDA graph (``.grad`` unset first, so the graph owns fresh gradient memory)."""
        self.ctx.optimizer.zero_grad(set_to_none=True)
        try:
            self.replay = self.cuda.capture(self._body, self.index.device)
        except RuntimeError as exc:  # cannot be captured here: say so, train on eagerly
            self.capture_failed = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            log.warning("CUDA graph capture failed, training without it: %s", self.capture_failed)
            self.cuda.synchronize(self.index.device)

    def _full_batch(self, index: Tensor) -> None:
        if self.capture_failed is None and self.warmups_left > 0:
            self._warm_up(index)
            return
        if self.capture_failed is None and self.replay is None:
            self.index.copy_(index)
            self._capture()
        if self.replay is None:
            self._eager(index)
            return
        self.index.copy_(index)
        self.replay()

    def epoch(self, epoch: int, poll: CancelPoll) -> float:
        """Train one epoch; the mean training loss."""
        ctx = self.ctx
        n, device = ctx.X.shape[0], ctx.X.device
        order = torch.randperm(n, generator=ctx.generator, device=device)
        self.total.zero_()
        for step, start in enumerate(range(0, n, self.batch), start=1):
            index = order[start:start + self.batch]
            if index.numel() == self.batch:
                self._full_batch(index)
            else:
                self._eager(index)
            if step % ctx.check_every == 0 and not bool(torch.isfinite(self.total)):
                raise TrainingError(NON_FINITE_LOSS.format(what=what(float(self.total)), where=f"epoch {epoch} (by "
                                                           f"batch {step})", lr=ctx.config.learning_rate))
            poll.maybe(epoch)
        return float(self.total.item()) / n

    def epsilon(self) -> float | None:
        """Privacy spent so far: none for a plain step."""
        return None

    def extra(self) -> dict[str, Any]:
        """Whether the step ran as a CUDA graph (and why not, if capture failed): recorded with the run."""
        out: dict[str, Any] = {"cuda_graph": self.replay is not None}
        if self.capture_failed is not None:
            out["cuda_graph_error"] = self.capture_failed
        return out
