"""Preprocessing, data splits and torch modules for tabular classifiers."""

from core.models.modules import MLP, LogisticRegression, ModelConfig, build_model, n_outputs_for
from core.models.preprocess import TabularPreprocessor
from core.models.split import SplitIndices, stratified_split

__all__ = [
    "MLP",
    "LogisticRegression",
    "ModelConfig",
    "SplitIndices",
    "TabularPreprocessor",
    "build_model",
    "n_outputs_for",
    "stratified_split",
]
