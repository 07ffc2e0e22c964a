"""Training: options, the one training loop (plain or DP-SGD step), the run loader and saver, evaluation.

The names below are loaded on first use (PEP 562): reading a run's settings or artifacts must not import torch and
scikit-learn for the training loop and the metrics, which would cost every command seconds of start-up.
"""

from core._lazy import lazy_exports

_WHERE = {
    "TrainConfig": "core.training.config",
    "Evaluation": "core.training.evaluate",
    "evaluate": "core.training.evaluate",
    "EpochRecord": "core.training.loop",
    "FitResult": "core.training.loop",
    "fit": "core.training.loop",
    "predict_proba": "core.training.loop",
}

__all__, __getattr__ = lazy_exports(__name__, _WHERE)
