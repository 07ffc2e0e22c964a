"""What a private run records about its privacy: metrics for lists and charts, ``privacy.json`` for the details.

Run metrics are numbers only (pages and the CLI format them as floats), so the accountant's name and any fallback
note live in the ``privacy.json`` artifact; a run without that file was trained without privacy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from core.runs import RunArtifacts, RunKind, RunRecord

PRIVACY_JSON = "privacy.json"
NUMERIC_KEYS = ("epsilon", "delta", "noise_multiplier", "max_grad_norm", "sample_rate")


def privacy_record(extra: dict[str, Any]) -> dict[str, Any]:
    """The JSON payload for ``privacy.json`` from a private fit's ``FitResult.extra``."""
    keys = (*NUMERIC_KEYS, "accountant", "accountant_requested", "accountant_note", "steps", "steps_per_epoch",
            "target_epsilon", "empty_batches")
    return {key: extra.get(key) for key in keys}


def privacy_metrics(extra: dict[str, Any]) -> dict[str, float]:
    """Numeric run metrics of a private fit (``dp_steps`` is the number of noisy steps the accountant counted)."""
    out = {key: float(extra[key]) for key in NUMERIC_KEYS}
    out["dp_steps"] = float(extra["steps"])
    if extra.get("target_epsilon") is not None:
        out["target_epsilon"] = float(extra["target_epsilon"])
    return out


def save_privacy(arts: RunArtifacts, extra: dict[str, Any]) -> None:
    arts.write_json(PRIVACY_JSON, privacy_record(extra))


def load_privacy(arts: RunArtifacts) -> dict[str, Any] | None:
    """The run's privacy record, or None for a run trained without differential privacy."""
    return arts.read_json(PRIVACY_JSON) if arts.has(PRIVACY_JSON) else None


def config_is_private(config: Mapping[str, Any] | None) -> bool:
    """True for training options that ask for DP-SGD: a target epsilon or a noise multiplier is set."""
    config = config or {}
    return config.get("target_epsilon") is not None or config.get("noise_multiplier") is not None


def is_private(record: RunRecord) -> bool:
    """The one answer to "is this run private?": a model trained here with DP-SGD. Imported scores and uploaded
    models carry no guarantee Riskboard can vouch for, whatever their settings say."""
    return record.kind == RunKind.TRAIN and config_is_private(record.config)


def spent_epsilon(record: RunRecord) -> float | None:
    """The epsilon a finished private run spent (finite), or None for a run without a privacy guarantee."""
    epsilon = (record.metrics or {}).get("epsilon")
    if not is_private(record) or not isinstance(epsilon, int | float) or not math.isfinite(epsilon):
        return None
    return float(epsilon)
