"""Closed-form per-sample clipping equals a plain per-row loop for every layer Riskboard's models have."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from core.dp import clipped_grad_step, layer_chain
from core.errors import TrainingError
from core.models.modules import ModelConfig, build_model
from core.training._objective import per_row_loss_fn


def _reference(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn, clip: float):
    """Per-row gradients from one batch forward (same dropout mask), each clipped, then summed."""
    params = [p for p in model.parameters()]
    losses = loss_fn(model(x), y)
    total = [torch.zeros_like(p) for p in params]
    norms = []
    for i in range(x.shape[0]):
        grads = torch.autograd.grad(losses[i], params, retain_graph=True)
        norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))
        norms.append(norm)
        factor = min(1.0, clip / (float(norm) + 1e-6))
        for acc, g in zip(total, grads, strict=True):
            acc += g * factor
    return total, torch.stack(norms)


@pytest.mark.parametrize(("config", "n_classes", "weights"), [
    (ModelConfig(model="logistic"), 2, None),
    (ModelConfig(model="logistic"), 3, None),
    (ModelConfig(model="mlp", hidden=(16, 8)), 2, torch.tensor([0.7, 1.9])),
    (ModelConfig(model="mlp", hidden=(16, 8), layernorm=True), 2, None),
    (ModelConfig(model="mlp", hidden=(12,), layernorm=True, dropout=0.3), 3, torch.tensor([1.0, 2.0, 0.5])),
])
def test_clipped_sum_matches_per_row_loop(config, n_classes, weights):
    torch.manual_seed(3)
    model = build_model(config, 7, 1 if n_classes == 2 else n_classes).double()
    with torch.no_grad():  # non-trivial LayerNorm affine parameters
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    model.train()
    x = torch.randn(40, 7, dtype=torch.float64) * 3
    y = torch.randint(0, n_classes, (40,))
    loss_fn = per_row_loss_fn(n_classes, None if weights is None else weights.double())
    torch.manual_seed(11)
    _, norms = _reference(model, x, y, loss_fn, float("inf"))
    clip = float(norms.median())  # half the rows get clipped
    torch.manual_seed(11)
    _, ours_norms = clipped_grad_step(layer_chain(model), x, lambda logits: loss_fn(logits, y), clip)
    ours = [p.grad.clone() for p in model.parameters()]
    torch.manual_seed(11)  # same dropout mask
    theirs, their_norms = _reference(model, x, y, loss_fn, clip)
    assert (their_norms > clip).any() and (their_norms < clip).any()  # both clipped and unclipped rows
    torch.testing.assert_close(ours_norms, their_norms, atol=1e-5, rtol=1e-6)
    for mine, ref in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, ref, atol=1e-5, rtol=1e-6)


def test_float32_models_match_too():
    torch.manual_seed(0)
    model = build_model(ModelConfig(model="mlp", hidden=(32, 16), layernorm=True), 10, 1)
    x, y = torch.randn(64, 10), torch.randint(0, 2, (64,))
    loss_fn = per_row_loss_fn(2, None)
    clipped_grad_step(layer_chain(model), x, lambda logits: loss_fn(logits, y), 1.0)
    ours = [p.grad.clone() for p in model.parameters()]
    theirs, _ = _reference(model, x, y, loss_fn, 1.0)
    for mine, ref in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, ref, atol=1e-5, rtol=1e-4)


def test_batchnorm_and_groupnorm_are_refused():
    for layer in (nn.BatchNorm1d(4), nn.GroupNorm(2, 4)):
        with pytest.raises(TrainingError, match="supports Linear, LayerNorm, ReLU and Dropout"):
            layer_chain(nn.Sequential(nn.Linear(3, 4), layer, nn.Linear(4, 1)))


def test_per_sample_norms_match_opacus_grad_samples():
    """Opacus (the reference implementation) computes the same per-row gradient norms for our MLP."""
    from opacus import GradSampleModule

    torch.manual_seed(5)
    model = build_model(ModelConfig(model="mlp", hidden=(16, 8), layernorm=True), 6, 1).double()
    x, y = torch.randn(30, 6, dtype=torch.float64), torch.randint(0, 2, (30,))
    loss_fn = per_row_loss_fn(2, None)
    _, ours = clipped_grad_step(layer_chain(model), x, lambda logits: loss_fn(logits, y), 1.0)
    wrapped = GradSampleModule(model, loss_reduction="sum")
    loss_fn(wrapped(x), y).sum().backward()
    samples = [p.grad_sample.reshape(30, -1) for p in wrapped.parameters() if p.requires_grad]
    theirs = torch.cat(samples, dim=1).norm(dim=1)
    torch.testing.assert_close(ours, theirs, atol=1e-8, rtol=1e-8)
