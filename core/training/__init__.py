"""Training: options, the one training loop (plain or DP-SGD step), the run loader and saver, evaluation."""

from core.training.config import TrainConfig
from core.training.evaluate import Evaluation, evaluate
from core.training.loop import EpochRecord, FitResult, fit, predict_proba

__all__ = ["EpochRecord", "Evaluation", "FitResult", "TrainConfig", "evaluate", "fit", "predict_proba"]
