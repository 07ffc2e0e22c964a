"""Per-sample gradient clipping in closed form for chains of Linear / LayerNorm / ReLU / Dropout layers.

DP-SGD needs each row's gradient norm. Materialising per-sample gradients (Opacus hooks, ``torch.func.vmap``)
costs a (batch x parameters) tensor per step. For a Linear layer the per-sample weight gradient is the outer
product ``g_i a_i^T`` of the output gradient and the input activation, whose Frobenius norm is
``||g_i|| * ||a_i||`` (the "ghost norm" / book-keeping trick of Goodfellow 2015, Li et al. 2022, Bu et al. 2023).
The bias gradient is ``g_i``; a LayerNorm's per-sample gradients are ``g_i * xhat_i`` (weight) and ``g_i`` (bias).

So one forward pass keeps each layer's input and output, one ``autograd.grad`` gives the output gradients of the
summed per-row losses (row i of it is row i's own gradient, because rows do not interact in these layers), the
norms come from row-wise sums, and the clipped, summed parameter gradients are a weighted matmul per layer:
``W.grad = (c * g)^T a`` with ``c_i = min(1, C / ||grad_i||)``. No second backward pass and no per-sample
gradient tensor. ``tests/core/test_privacy_clipping.py`` checks the result against a per-row loop to 1e-5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from core.errors import TrainingError

UNSUPPORTED_LAYER = ("differentially private training supports Linear, LayerNorm, ReLU and Dropout layers; the "
                     "model has {kind}. Pick the 'logistic' or 'mlp' model.")
SUPPORTED = (nn.Linear, nn.LayerNorm, nn.ReLU, nn.Dropout, nn.Identity)
NORM_EPS = 1e-6


@dataclass
class _Record:
    layer: nn.Module
    inputs: Tensor  # Linear: the input activation a; LayerNorm: the normalised input xhat
    output: Tensor


def layer_chain(model: nn.Module) -> list[nn.Module]:
    """The model's leaf modules in forward order; refuses anything whose per-sample gradient is not closed form.

    Riskboard's models are a single Linear or a Sequential of Linear [LayerNorm] ReLU [Dropout] ... Linear, so
    registration order is forward order. BatchNorm and GroupNorm are refused (they mix rows, or would mean Opacus
    swapped a layer in).
    """
    chain = [m for m in model.modules() if not list(m.children())]
    for layer in chain:
        if not isinstance(layer, SUPPORTED):
            raise TrainingError(UNSUPPORTED_LAYER.format(kind=type(layer).__name__))
        if isinstance(layer, nn.LayerNorm) and (len(layer.normalized_shape) != 1 or not layer.elementwise_affine):
            raise TrainingError(UNSUPPORTED_LAYER.format(kind="a LayerNorm without a 1-D affine shape"))
    return chain


def _forward(chain: list[nn.Module], x: Tensor) -> tuple[Tensor, list[_Record]]:
    records: list[_Record] = []
    h = x
    for layer in chain:
        if isinstance(layer, nn.Linear):
            out = layer(h)
            records.append(_Record(layer, h, out))
        elif isinstance(layer, nn.LayerNorm):
            xhat = F.layer_norm(h, layer.normalized_shape, eps=layer.eps)
            out = xhat * layer.weight + layer.bias if layer.bias is not None else xhat * layer.weight
            records.append(_Record(layer, xhat, out))
        else:
            out = layer(h)
        h = out
    return h, records


def clipped_grad_step(chain: list[nn.Module], x: Tensor, per_row_loss: Callable[[Tensor], Tensor],
                      max_norm: float) -> tuple[Tensor, Tensor]:
    """Set every parameter's ``.grad`` to the sum over rows of the row's gradient clipped to ``max_norm``.

    ``per_row_loss(logits)`` returns one loss per row. Returns (per-row losses, per-row gradient norms before
    clipping), both detached. Noise and the division by the expected batch size are the caller's job.
    """
    logits, records = _forward(chain, x)
    losses = per_row_loss(logits)
    grads = torch.autograd.grad(losses.sum(), [r.output for r in records])
    sq = torch.zeros(x.shape[0], device=x.device, dtype=logits.dtype)
    for record, g in zip(records, grads, strict=True):
        g_sq = (g * g).sum(dim=1)
        if isinstance(record.layer, nn.Linear):
            sq = sq + g_sq * (record.inputs * record.inputs).sum(dim=1).detach()
        else:
            sq = sq + ((g * record.inputs.detach()) ** 2).sum(dim=1)
        if record.layer.bias is not None:
            sq = sq + g_sq
    norms = sq.sqrt()
    factor = (max_norm / (norms + NORM_EPS)).clamp(max=1.0)
    for record, g in zip(records, grads, strict=True):
        scaled = g * factor.unsqueeze(1)
        inputs = record.inputs.detach()
        layer = record.layer
        if isinstance(layer, nn.Linear):
            layer.weight.grad = scaled.t() @ inputs
        else:
            layer.weight.grad = (scaled * inputs).sum(dim=0)
        if layer.bias is not None:
            layer.bias.grad = scaled.sum(dim=0)
    return losses.detach(), norms.detach()
