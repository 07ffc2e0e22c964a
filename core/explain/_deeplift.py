"""DeepLIFT (rescale rule) for our Linear / ReLU / LayerNorm / Dropout stacks, batched over rows x background.

``shap.DeepExplainer`` computes exactly this for a ReLU MLP: for each (row, background row) pair it back-propagates
the output with every ReLU's gradient replaced by ``(relu(z) - relu(z_ref)) / (z - z_ref)`` (the plain gradient
where ``|z - z_ref| < 1e-6``), multiplies the input multipliers by ``x - x_ref`` and averages over the background.
It does so with autograd hooks, one explained row at a time, which takes ~40 s for 10,000 rows. Here the pairs are
laid out as an ``(rows, background, width)`` tensor and the backward pass is a handful of batched matrix products,
chunked over rows so that no tensor grows past ``max_elements`` floats. Sum of the attributions plus the base value
(mean output over the background) equals the output for every row by construction, up to float rounding.

LayerNorm has no exact DeepLIFT rule (the division by the row's own standard deviation couples all units). We use
the **elementwise rescale approximation**: the centring ``c = z - mean(z)`` is linear and handled exactly; the map
``c -> gamma * c / sigma + beta`` is treated per unit like a one-dimensional nonlinearity, with multiplier
``(y - y_ref) / (c - c_ref)`` (the gradient ``gamma / sigma`` where ``|c - c_ref| < 1e-6``). It keeps additivity
wherever ``c != c_ref``; the residue where a unit's centred value matches but sigma differs is not attributed, and
it shows up in the reported additivity error (which is computed on every row, never assumed).

A model with only Linear layers (logistic regression) reduces to the closed form ``phi_i = w_i (x_i - mean_i)``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from core.errors import ConfigError

UNSUPPORTED_LAYER = ("the model has a {name} layer, for which Riskboard has no exact attribution rule; only "
                     "Linear, ReLU, LayerNorm and Dropout stacks (the models Riskboard trains) can be explained.")
BAD_OUTPUT = "output index {index} is outside the model's {n} output(s)."
NO_BACKGROUND = "the background needs at least one row; got none."
WIDTH_MISMATCH = "the rows have {got} encoded columns but the model expects {expected}."
GRADIENT_EPS = 1e-6  # shap's threshold below which the rescale multiplier falls back to the gradient
DEFAULT_MAX_ELEMENTS = 1 << 20  # 4 MB of float32 per (rows, background, width) tensor: stays in the cache

METHOD_DEEPLIFT = "deeplift-rescale"
METHOD_LINEAR = "linear-exact"


@dataclass(frozen=True)
class _Layer:
    kind: str  # "linear", "relu", "layernorm"
    weight: Tensor | None = None
    bias: Tensor | None = None
    eps: float = 0.0


def _leaves(model: nn.Module) -> list[nn.Module]:
    if isinstance(model, nn.Sequential):
        return [leaf for child in model for leaf in _leaves(child)]
    children = list(model.children())
    if not children:
        return [model]
    if len(children) == 1:  # LogisticRegression(linear) and MLP(net): a thin wrapper around one stack
        return _leaves(children[0])
    raise ConfigError(UNSUPPORTED_LAYER.format(name=type(model).__name__))


def layer_plan(model: nn.Module, *, output_index: int | None = 0, sign: float = 1.0,
               dtype: torch.dtype = torch.float32, device: torch.device | None = None) -> list[_Layer]:
    """The model as a list of layers, the last Linear cut to the one explained output (times ``sign``).

    ``output_index=None`` keeps every output (to compute class probabilities). Weights are detached copies in
    ``dtype``: nothing done here can change the model's parameters or buffers.
    """
    def copy(tensor: Tensor | None) -> Tensor | None:
        return None if tensor is None else tensor.detach().to(device=device, dtype=dtype, copy=True)

    plan: list[_Layer] = []
    for leaf in _leaves(model):
        if isinstance(leaf, nn.Linear):
            plan.append(_Layer("linear", copy(leaf.weight), copy(leaf.bias)))
        elif isinstance(leaf, nn.ReLU):
            plan.append(_Layer("relu"))
        elif isinstance(leaf, nn.LayerNorm):
            if len(leaf.normalized_shape) != 1:
                raise ConfigError(UNSUPPORTED_LAYER.format(name="multi-dimensional LayerNorm"))
            plan.append(_Layer("layernorm", copy(leaf.weight), copy(leaf.bias), float(leaf.eps)))
        elif isinstance(leaf, nn.Dropout | nn.Identity):
            continue  # identity in eval mode
        else:
            raise ConfigError(UNSUPPORTED_LAYER.format(name=type(leaf).__name__))
    if not plan or plan[-1].kind != "linear":
        raise ConfigError(UNSUPPORTED_LAYER.format(name="final non-Linear"))
    if output_index is None:
        return plan
    last = plan[-1]
    n_out = last.weight.shape[0]
    if not 0 <= output_index < n_out:
        raise ConfigError(BAD_OUTPUT.format(index=output_index, n=n_out))
    weight = last.weight[output_index:output_index + 1] * sign
    bias = last.bias[output_index:output_index + 1] * sign if last.bias is not None else None
    plan[-1] = _Layer("linear", weight, bias)
    return plan


def is_linear(plan: list[_Layer]) -> bool:
    return all(layer.kind == "linear" for layer in plan)


def _layernorm(layer: _Layer, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Centred input, its standard deviation and the LayerNorm output (same formula as ``nn.LayerNorm``)."""
    c = z - z.mean(dim=-1, keepdim=True)
    sigma = torch.sqrt((c * c).mean(dim=-1, keepdim=True) + layer.eps)
    y = c / sigma
    if layer.weight is not None:
        y = y * layer.weight
    if layer.bias is not None:
        y = y + layer.bias
    return c, sigma, y


def forward(plan: list[_Layer], x: Tensor) -> tuple[Tensor, list[tuple[Tensor, ...]]]:
    """Outputs ``(n, outputs)`` and what each nonlinearity saw (ReLU: its input; LayerNorm: centred input, sigma, y)."""
    saved: list[tuple[Tensor, ...]] = []
    a = x
    for layer in plan:
        if layer.kind == "linear":
            a = a @ layer.weight.T
            if layer.bias is not None:
                a = a + layer.bias
        elif layer.kind == "relu":
            saved.append((a,))
            a = torch.relu(a)
        else:
            c, sigma, y = _layernorm(layer, a)
            saved.append((c, sigma, y))
            a = y
    return a, saved


def _chunk_rows(n_background: int, widths: list[int], max_elements: int) -> int:
    return max(1, max_elements // (n_background * max(widths)))


def deeplift(plan: list[_Layer], x: Tensor, background: Tensor, *, max_elements: int = DEFAULT_MAX_ELEMENTS,
             on_chunk=None, weights: Tensor | None = None, workers: int = 1) -> tuple[Tensor, Tensor, Tensor]:
    """Attributions ``(n, d)``, outputs ``f(x)`` ``(n,)`` and background outputs ``(B,)``, all on ``x``'s device.

    ``weights`` (``(B,)``, summing to 1) weigh the background rows, as for a k-means summary whose centres stand
    for clusters of different sizes; by default every row counts the same. ``on_chunk(rows_done)`` is called after
    each chunk (for progress bars), always on the calling thread. ``workers`` > 1 attributes the row chunks on that
    many threads at once (each chunk is independent; torch releases the GIL inside its kernels): for the CPU, with
    torch's own intra-op threads set to 1 by the caller (:func:`core.device.cpu_workers`).
    """
    if background.shape[0] == 0:
        raise ConfigError(NO_BACKGROUND)
    expected = plan[0].weight.shape[1]
    if x.shape[1] != expected:
        raise ConfigError(WIDTH_MISMATCH.format(got=x.shape[1], expected=expected))
    if weights is None:
        weights = torch.full((background.shape[0],), 1.0 / background.shape[0], dtype=x.dtype, device=x.device)
    with torch.no_grad():
        f_bg, saved_bg = forward(plan, background)
        f_bg = f_bg[:, 0]
        if is_linear(plan):
            return _linear(plan, x, background, f_bg, weights)
    widths = [expected] + [layer.weight.shape[0] for layer in plan if layer.kind == "linear"]
    step = _chunk_rows(background.shape[0], widths, max_elements)
    starts = range(0, x.shape[0], step)

    def attribute_chunk(start: int) -> tuple[Tensor, Tensor]:
        with torch.no_grad():  # grad mode is per thread: a worker sets its own
            chunk = x[start:start + step]
            f_x, saved_x = forward(plan, chunk)
            return _chunk(plan, chunk, background, saved_x, saved_bg, weights), f_x[:, 0]

    phis, outs = [], []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deeplift") if workers > 1 else _serial() as run:
        for start, (phi, f_x) in zip(starts, run.map(attribute_chunk, starts), strict=True):
            phis.append(phi)
            outs.append(f_x)
            if on_chunk is not None:
                on_chunk(min(x.shape[0], start + step))
    empty = x.new_zeros((0,))
    return (torch.cat(phis) if phis else x.new_zeros((0, expected)), torch.cat(outs) if outs else empty, f_bg)


class _serial:
    """The executor interface for one worker: ``map`` computes lazily, in order, on the calling thread."""

    def __enter__(self) -> _serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @staticmethod
    def map(function, items):
        return map(function, items)


def _linear(plan: list[_Layer], x: Tensor, background: Tensor, f_bg: Tensor, weights: Tensor
            ) -> tuple[Tensor, Tensor, Tensor]:
    """Only Linear layers: the product of the weights is one vector w, and phi = w * (x - mean(background))."""
    w = plan[0].weight.T
    for layer in plan[1:]:
        w = w @ layer.weight.T
    w = w[:, 0]
    f_x = forward(plan, x)[0][:, 0]
    return (x - weights @ background) * w, f_x, f_bg


def _rescale(delta_out: Tensor, delta_in: Tensor, gradient: Tensor) -> Tensor:
    """Pairwise multiplier ``delta_out / delta_in``, the gradient at the row where the inputs (nearly) agree."""
    small = delta_in.abs() < GRADIENT_EPS
    safe = torch.where(small, torch.ones_like(delta_in), delta_in)
    return torch.where(small, gradient, delta_out / safe)


def _relu_multiplier(z_x: Tensor, z_b: Tensor) -> Tensor:
    """``(relu(z) - relu(z_ref)) / (z - z_ref)`` for every pair, the gradient at the row where ``|z - z_ref| < 1e-6``.

    The fallback is shap's rule. It matters beyond additivity: a unit whose input barely moves can still carry
    large, cancelling per-feature contributions, and the multiplier decides how they split between features.
    The ratio is computed in place, and the fallback's ``where`` is skipped for chunks without such a pair.
    """
    delta_in = z_x[:, None, :] - z_b[None, :, :]
    multiplier = torch.relu(z_x)[:, None, :] - torch.relu(z_b)[None, :, :]
    multiplier.div_(delta_in)
    small = delta_in.abs_() < GRADIENT_EPS
    if bool(small.any()):
        gradient = (z_x > 0).to(z_x.dtype)[:, None, :].expand_as(multiplier)
        multiplier = torch.where(small, gradient, multiplier)
    return multiplier


def _chunk(plan: list[_Layer], x: Tensor, background: Tensor, saved_x: list, saved_bg: list, weights: Tensor
           ) -> Tensor:
    """Back-propagate multipliers for every (row, background) pair of one chunk and average over the background."""
    g: Tensor = plan[-1].weight[0]  # (h,): d output / d last hidden activation, the same for every pair
    nonlinear = len(saved_x)
    hidden = plan[:-1]
    for position in range(len(hidden) - 1, -1, -1):
        layer = hidden[position]
        if layer.kind == "linear":
            if position == 0:
                break  # the first Linear is folded into the final step below
            g = g @ layer.weight  # (R, B, h_out) @ (h_out, h_in)
            continue
        nonlinear -= 1
        if layer.kind == "relu":
            (z_x,), (z_b,) = saved_x[nonlinear], saved_bg[nonlinear]
            m = _relu_multiplier(z_x, z_b)
            g = m.mul_(g)
        else:
            (c_x, s_x, y_x), (c_b, _s_b, y_b) = saved_x[nonlinear], saved_bg[nonlinear]
            gamma = layer.weight if layer.weight is not None else torch.ones_like(c_x[0])
            delta_in = c_x[:, None, :] - c_b[None, :, :]
            delta_out = y_x[:, None, :] - y_b[None, :, :]
            gradient = (gamma / s_x)[:, None, :]
            g = g * _rescale(delta_out, delta_in, gradient)
            g = g - g.mean(dim=-1, keepdim=True)  # through the (linear, symmetric) centring c = z - mean(z)
    first = hidden[0].weight  # (h1, d)
    if g.dim() == 1:  # no nonlinearity at all (handled by _linear, kept for safety)
        return (x - weights @ background) * (g @ first)
    # phi[r, i] = sum_b w_b sum_k g[r, b, k] W[k, i] (x[r, i] - bg[b, i]), without the (R, B, d) tensor:
    # x * (sum_b w_b g) @ W  -  sum_k W[k, i] * (g^T (w * bg))[r, k, i]
    own = x * (torch.matmul(g.transpose(1, 2), weights) @ first)
    weighted = (background * weights[:, None]).expand(g.shape[0], -1, -1)
    mixed = torch.bmm(g.transpose(1, 2), weighted)  # (R, h1, d)
    return own - (mixed * first).sum(dim=1)
