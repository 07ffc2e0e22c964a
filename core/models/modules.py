"""The two torch models Riskboard trains: logistic regression and a small ReLU MLP.

Both are plain stacks of ``nn.Linear`` (+ ReLU, optional Dropout / LayerNorm) so that every later audit works on
them unchanged: per-sample gradients for DP-SGD (no BatchNorm, whose statistics mix rows of a batch and which
Opacus would swap for GroupNorm), exact SHAP rules for Linear/ReLU, and a clean copy in eval mode for explaining.
Binary targets use one output logit (``BCEWithLogitsLoss``), K >= 3 classes use K logits (``CrossEntropyLoss``).
A model is rebuilt from its :class:`ModelConfig` and input/output sizes, then its weights are loaded from a
safetensors file, so no pickled module ever needs to be loaded.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from core.errors import ConfigError
from core.models.model_config import ModelConfig

BAD_SIZES = "a model needs at least one input and one output; got {n_inputs} inputs and {n_outputs} outputs."


def n_outputs_for(n_classes: int) -> int:
    """One logit for a binary target, one per class otherwise."""
    if n_classes < 2:
        raise ConfigError(f"a classifier needs at least 2 classes; got {n_classes}.")
    return 1 if n_classes == 2 else n_classes


class LogisticRegression(nn.Module):
    """One linear layer: logits = x W^T + b. With BCE/CE loss this is (multinomial) logistic regression."""

    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        _check_sizes(n_inputs, n_outputs)
        self.linear = nn.Linear(n_inputs, n_outputs)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x)


class MLP(nn.Module):
    """Linear -> [LayerNorm] -> ReLU -> [Dropout] per hidden layer, then a Linear output layer (logits).

    LayerNorm normalises each row on its own, so it stays valid under per-sample gradients (DP-SGD), unlike
    BatchNorm, which is deliberately not offered.
    """

    def __init__(self, n_inputs: int, n_outputs: int, hidden: Sequence[int] = (64, 32), dropout: float = 0.0,
                 layernorm: bool = False) -> None:
        super().__init__()
        _check_sizes(n_inputs, n_outputs)
        ModelConfig(model="mlp", hidden=tuple(hidden), dropout=dropout, layernorm=layernorm).validate()
        layers: list[nn.Module] = []
        width = n_inputs
        for size in hidden:
            layers.append(nn.Linear(width, size))
            if layernorm:
                layers.append(nn.LayerNorm(size))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_outputs))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def _check_sizes(n_inputs: int, n_outputs: int) -> None:
    if n_inputs < 1 or n_outputs < 1:
        raise ConfigError(BAD_SIZES.format(n_inputs=n_inputs, n_outputs=n_outputs))


def build_model(config: ModelConfig, n_inputs: int, n_outputs: int) -> nn.Module:
    """Build a freshly initialised model (seed torch first for reproducible weights).

    ``config`` may be a :class:`ModelConfig` or anything with the same attributes (a ``TrainConfig``).
    """
    spec = ModelConfig(model=config.model, hidden=tuple(config.hidden), dropout=config.dropout,
                       layernorm=config.layernorm)
    spec.validate()
    if spec.model == "logistic":
        return LogisticRegression(n_inputs, n_outputs)
    return MLP(n_inputs, n_outputs, hidden=spec.hidden, dropout=spec.dropout, layernorm=spec.layernorm)
