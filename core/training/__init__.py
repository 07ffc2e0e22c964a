"""Training: options, the plain training loop and the evaluation of a trained model."""

from core.training.config import TrainConfig
from core.training.evaluate import Evaluation, evaluate
from core.training.loop import EpochRecord, FitResult, fit, predict_proba

__all__ = ["EpochRecord", "Evaluation", "FitResult", "TrainConfig", "evaluate", "fit", "predict_proba"]
