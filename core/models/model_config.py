"""What a model is, without torch: the architecture's kind and sizes (:class:`ModelConfig`), checked in plain words.

Kept apart from :mod:`core.models.modules` so a run's settings can be read and checked (reports, fairness, run
lists) without importing torch, which costs seconds in every command that would otherwise pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import ConfigError

MODEL_KINDS = ("logistic", "mlp")
UNKNOWN_MODEL = "model must be one of {kinds}; got {value!r}."
BAD_HIDDEN = "hidden layer sizes must be whole numbers from 1 to 4096; got {value!r}."
BAD_DROPOUT = "dropout must be at least 0 and below 1; got {value!r}."


@dataclass(frozen=True)
class ModelConfig:
    """What :func:`build_model` needs; :meth:`core.training.config.TrainConfig.model_config` produces one."""

    model: str = "mlp"
    hidden: tuple[int, ...] = (64, 32)
    dropout: float = 0.0
    layernorm: bool = False

    def validate(self) -> None:
        """Raise :class:`ConfigError` with a plain message for an unusable architecture."""
        if self.model not in MODEL_KINDS:
            raise ConfigError(UNKNOWN_MODEL.format(kinds=", ".join(MODEL_KINDS), value=self.model))
        bad_size = any(isinstance(h, bool) or not isinstance(h, int) or not 1 <= h <= 4096 for h in self.hidden)
        if self.model == "mlp" and (not self.hidden or bad_size):
            raise ConfigError(BAD_HIDDEN.format(value=self.hidden))
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, int | float) or not 0 <= self.dropout < 1:
            raise ConfigError(BAD_DROPOUT.format(value=self.dropout))

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "hidden": list(self.hidden), "dropout": self.dropout, "layernorm": self.layernorm}
