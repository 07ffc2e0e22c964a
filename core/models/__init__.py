"""Preprocessing, data splits and torch modules for tabular classifiers.

The names below are loaded on first use (PEP 562): importing one part (the split, the preprocessor) must not import
torch or scikit-learn for the others, which would cost every command seconds of start-up.
"""

from core._lazy import lazy_exports

_WHERE = {
    "MLP": "core.models.modules",
    "LogisticRegression": "core.models.modules",
    "build_model": "core.models.modules",
    "n_outputs_for": "core.models.modules",
    "ModelConfig": "core.models.model_config",
    "TabularPreprocessor": "core.models.preprocess",
    "SplitIndices": "core.models.split",
    "stratified_split": "core.models.split",
}

__all__, __getattr__ = lazy_exports(__name__, _WHERE)
