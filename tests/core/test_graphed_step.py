"""The CUDA-graph step (core/training/_graphed.py) trains exactly like the plain step.

A CPU build of torch cannot capture CUDA graphs, so the step's own logic (warm-up, the fixed index tensor, the
shorter last batch run eagerly, the loss kept by the graph, the fallback when capture fails) runs here through a
stand-in for the three CUDA calls: its "capture" records the step's body without running it and its "replay" runs
it, as a graph replay would. The real capture is exercised by the GPU check (`../shared/bench/gpu_smoke.py`).
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest
import torch

from core.models.modules import build_model, n_outputs_for
from core.training._graphed import WARMUP_STEPS, GraphedPlainStep, graphs_wanted
from core.training._objective import Objective, device_tensors
from core.training._steps import CancelPoll, PlainStep, StepContext
from core.training.config import TrainConfig
from core.training.loop import _make_optimizer

ROWS, COLUMNS, BATCH, EPOCHS = 1000, 6, 64, 3  # 15 full batches and one of 40 rows an epoch


class StandIn:
    """Replays the recorded body eagerly; a replay writes fresh gradients, as the captured backward does."""

    def __init__(self, optimizer: torch.optim.Optimizer, fail: bool = False) -> None:
        self.optimizer, self.fail, self.replays, self.captures = optimizer, fail, 0, 0

    def side_stream(self, device):
        return nullcontext()

    def capture(self, body, device):
        self.captures += 1
        if self.fail:
            raise RuntimeError("operation not permitted when stream is capturing\nmore detail")

        def replay() -> None:
            self.replays += 1
            self.optimizer.zero_grad(set_to_none=True)
            body()
        return replay

    def synchronize(self, device) -> None:
        pass


def _context(config: TrainConfig, weights: bool) -> StepContext:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, COLUMNS)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=ROWS) > 0).astype(np.int64)
    Xt, yt, _, _ = device_tensors(X, y, X[:10], y[:10], torch.device("cpu"))
    torch.manual_seed(config.seed)
    model = build_model(config.model_config(), COLUMNS, n_outputs_for(2))
    generator = torch.Generator().manual_seed(config.seed)
    row_weight = torch.from_numpy(rng.uniform(0.5, 1.5, ROWS).astype(np.float32)) if weights else None
    return StepContext(model=model, optimizer=_make_optimizer(model, config), objective=Objective(2, None), X=Xt,
                       y=yt, row_weight=row_weight, generator=generator, config=config, check_every=4)


def _train(step, ctx: StepContext) -> tuple[list[float], dict[str, torch.Tensor]]:
    losses = [step.epoch(epoch, CancelPoll(None)) for epoch in range(1, EPOCHS + 1)]
    return losses, {k: v.detach().clone() for k, v in ctx.model.state_dict().items()}


@pytest.mark.parametrize(("optimizer", "weights"), [("adamw", False), ("sgd", True)])
def test_graphed_step_trains_exactly_like_the_plain_step(optimizer, weights):
    config = TrainConfig(batch_size=BATCH, optimizer=optimizer, dropout=0.2, momentum=0.9)
    plain_ctx = _context(config, weights)
    plain_losses, plain_state = _train(PlainStep(plain_ctx), plain_ctx)
    ctx = _context(config, weights)
    stand_in = StandIn(ctx.optimizer)
    step = GraphedPlainStep(ctx, stand_in)
    losses, state = _train(step, ctx)
    full = ROWS // BATCH
    assert stand_in.captures == 1 and stand_in.replays == EPOCHS * full - WARMUP_STEPS
    assert step.extra() == {"cuda_graph": True}
    assert losses == pytest.approx(plain_losses, rel=1e-5)
    for name, value in plain_state.items():
        torch.testing.assert_close(state[name], value, rtol=0, atol=1e-6, msg=name)


def test_a_step_that_cannot_be_captured_trains_on_eagerly_and_says_why():
    config = TrainConfig(batch_size=BATCH, dropout=0.0)
    plain_ctx = _context(config, False)
    plain_losses, plain_state = _train(PlainStep(plain_ctx), plain_ctx)
    ctx = _context(config, False)
    stand_in = StandIn(ctx.optimizer, fail=True)
    step = GraphedPlainStep(ctx, stand_in)
    losses, state = _train(step, ctx)
    assert stand_in.captures == 1 and stand_in.replays == 0  # tried once, never again
    assert step.extra() == {"cuda_graph": False,
                            "cuda_graph_error": "RuntimeError: operation not permitted when stream is capturing"}
    assert losses == pytest.approx(plain_losses, rel=1e-5)
    for name, value in plain_state.items():
        torch.testing.assert_close(state[name], value, rtol=0, atol=1e-6, msg=name)


def test_graphs_only_on_cuda_for_plain_runs_with_enough_full_batches_when_turned_on():
    cuda, cpu = torch.device("cuda", 0), torch.device("cpu")
    enough, on = (WARMUP_STEPS + 2) * 1024, {"RISKBOARD_CUDA_GRAPHS": "1"}
    assert graphs_wanted(cuda, False, enough, 1024, environ=on)
    assert not graphs_wanted(cpu, False, enough, 1024, environ=on)
    assert not graphs_wanted(cuda, True, enough, 1024, environ=on)  # DP-SGD: a new batch size every step
    assert not graphs_wanted(cuda, False, enough - 1, 1024, environ=on)
    assert not graphs_wanted(cuda, False, enough, 1024, environ={})  # opt-in until measured on a GPU
    assert not graphs_wanted(cuda, False, enough, 1024, environ={"RISKBOARD_CUDA_GRAPHS": "0"})
