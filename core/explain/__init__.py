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
from core.explain._run import METHODS, ExplainableRun, explain_run, load_run
from core.explain._sentences import (
    additivity_sentence,
    coverage_sentence,
    importance_sentences,
    push_sentence,
    row_sentences,
)
from core.explain._whatif import (
    MODEL_NOT_WORLD,
    Counterfactual,
    Scorer,
    candidate_values,
    counterfactuals,
    default_frozen,
    edit_row,
    feature_kinds,
    known_levels,
    matching_rows,
    near_threshold,
    probability_text,
)

__all__ = [
    "LAYERNORM_NOTE",
    "METHODS",
    "METHOD_DEEPLIFT",
    "METHOD_LINEAR",
    "MODEL_NOT_WORLD",
    "Attributions",
    "Counterfactual",
    "EncodedAttributions",
    "ExplainableRun",
    "Scorer",
    "additivity_sentence",
    "attribute",
    "background_rows",
    "candidate_values",
    "counterfactuals",
    "coverage_sentence",
    "default_frozen",
    "edit_row",
    "explain_rows",
    "explain_run",
    "feature_kinds",
    "group_values",
    "importance_sentences",
    "known_levels",
    "load_run",
    "matching_rows",
    "near_threshold",
    "positive_probability",
    "probability_text",
    "push_sentence",
    "rank_intervals",
    "row_sentences",
]
