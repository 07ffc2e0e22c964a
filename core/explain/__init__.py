"""SHAP values for Riskboard's torch models: exact closed form (logistic), batched DeepLIFT (MLP), grouped back to
the user's original columns, with additivity checked on every row and rank intervals over background draws.

The names below are loaded on first use (PEP 562): reading a cached result must not import torch, shap or
scikit-learn for the parts that compute one, which would cost every command seconds of start-up.
"""

from core._lazy import lazy_exports

_WHERE = {
    "Attributions": "core.explain._result",
    "Counterfactual": "core.explain._whatif",
    "EncodedAttributions": "core.explain._explain",
    "ExplainableRun": "core.explain._run",
    "LAYERNORM_NOTE": "core.explain._explain",
    "METHODS": "core.explain._run",
    "METHOD_DEEPLIFT": "core.explain._deeplift",
    "METHOD_LINEAR": "core.explain._deeplift",
    "MODEL_NOT_WORLD": "core.explain._whatif",
    "Scorer": "core.explain._whatif",
    "additivity_sentence": "core.explain._sentences",
    "attribute": "core.explain._explain",
    "background_rows": "core.explain._explain",
    "candidate_values": "core.explain._whatif",
    "counterfactuals": "core.explain._whatif",
    "coverage_sentence": "core.explain._sentences",
    "default_frozen": "core.explain._whatif",
    "edit_row": "core.explain._whatif",
    "explain_rows": "core.explain._explain",
    "explain_run": "core.explain._run",
    "feature_kinds": "core.explain._whatif",
    "group_values": "core.explain._explain",
    "importance_sentences": "core.explain._sentences",
    "known_levels": "core.explain._whatif",
    "load_run": "core.explain._run",
    "matching_rows": "core.explain._whatif",
    "near_threshold": "core.explain._whatif",
    "positive_probability": "core.explain._explain",
    "probability_text": "core.explain._whatif",
    "push_sentence": "core.explain._sentences",
    "rank_intervals": "core.explain._explain",
    "row_sentences": "core.explain._sentences",
}

__all__, __getattr__ = lazy_exports(__name__, _WHERE)
