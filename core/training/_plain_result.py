"""A fit's result as plain data (safetensors weights, dicts) and back: how a fit done in another process (a Ray
task, a Ray Train worker) returns its model without pickling a module."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from core.models.modules import build_model, n_outputs_for
from core.training.config import TrainConfig
from core.training.loop import EpochRecord, FitResult


def to_plain(result: FitResult) -> dict[str, Any]:
    """Weights as safetensors bytes, the history as dicts, the rest as numbers and strings."""
    state = {k: v.detach().cpu().contiguous() for k, v in result.model.state_dict().items()}
    return {"state": save_safetensors(state), "history": [dataclasses.asdict(h) for h in result.history],
            "best_epoch": result.best_epoch, "stopped_early": result.stopped_early, "device": result.device,
            "seconds": result.seconds, "extra": dict(result.extra)}


def rebuild(out: Mapping[str, Any], config: TrainConfig, n_inputs: int, n_classes: int) -> FitResult:
    """The :class:`FitResult` that :func:`to_plain` described (the module rebuilt, its weights loaded)."""
    model = build_model(config.model_config(), n_inputs, n_outputs_for(n_classes))
    model.load_state_dict(load_safetensors(out["state"]))
    return FitResult(model=model.eval(), history=[EpochRecord(**h) for h in out["history"]],
                     best_epoch=int(out["best_epoch"]), stopped_early=bool(out["stopped_early"]),
                     device=str(out["device"]), seconds=float(out["seconds"]), extra=dict(out["extra"]))
