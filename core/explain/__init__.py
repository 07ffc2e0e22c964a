"""SHAP values for Riskboard's torch models: exact closed form (logistic), batched DeepLIFT (MLP), grouped back to
the user's original columns, with additivity checked on every row and rank intervals over background draws."""

from core.explain._deeplift import METHOD_DEEPLIFT, METHOD_LINEAR
from core.explain._explain import (
    LAYERNORM_NOTE,
    EncodedAttributions,
    attribute,
    background_rows,
    explain_rows,
    group_values,
    positive_probability,
    rank_intervals,
)
from core.explain._result import Attributions

__all__ = [
    "LAYERNORM_NOTE",
    "METHOD_DEEPLIFT",
    "METHOD_LINEAR",
    "Attributions",
    "EncodedAttributions",
    "attribute",
    "background_rows",
    "explain_rows",
    "group_values",
    "positive_probability",
    "rank_intervals",
]
