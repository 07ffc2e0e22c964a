"""Fairness: sliced metrics with honest intervals, threshold what-ifs, mitigation, and audits of outside scores.

The names below are loaded on first use (PEP 562): reading a cached result must not import torch, shap or
scikit-learn for the parts that compute one, which would cost every command seconds of start-up.
"""

from importlib import import_module

_WHERE = {
    "CONSTRAINT_CHOICES": "core.fairness._mitigation",
    "CONTRACT_DISPARITIES": "core.fairness._summary",
    "Comparisons": "core.fairness._report",
    "DECISIONS_NOTE": "core.fairness._imports",
    "DECISIONS_ONLY": "core.fairness._runs",
    "DECISION_RULE_JSON": "core.fairness._runs",
    "DISPARITIES": "core.fairness._report",
    "DecisionRule": "core.fairness._rules",
    "Disparity": "core.fairness._report",
    "FOUR_FIFTHS": "core.fairness._report",
    "FairnessReport": "core.fairness._report",
    "GROUP_CAVEAT": "core.fairness._thresholds",
    "GroupResult": "core.fairness._report",
    "IMPORT_JSON": "core.fairness._runs",
    "INTERSECTION_SEP": "core.fairness._groups",
    "METHODS": "core.fairness._mitigation",
    "MITIGATION_JSON": "core.fairness._runs",
    "PreparedImport": "core.fairness._model_import",
    "RANDOMISED_NOTE": "core.fairness._thresholds",
    "REDUCTIONS_JSON": "core.fairness._reductions",
    "REWEIGHTING_JSON": "core.fairness._mitigation",
    "RunScores": "core.fairness._runs",
    "STRATEGIES": "core.fairness._thresholds",
    "TOLERANCE": "core.fairness._thresholds",
    "ThresholdOutcome": "core.fairness._thresholds",
    "TorchClassifier": "core.fairness._reductions",
    "audit_groups": "core.fairness._report",
    "check_scores": "core.fairness._imports",
    "cost_threshold": "core.fairness._thresholds",
    "disparity_frame": "core.fairness._summary",
    "evaluate_rule": "core.fairness._thresholds",
    "fit_reductions": "core.fairness._reductions",
    "fit_thresholds": "core.fairness._thresholds",
    "group_frame": "core.fairness._summary",
    "group_labels": "core.fairness._groups",
    "has_scores": "core.fairness._runs",
    "import_model": "core.fairness._model_import",
    "import_scores": "core.fairness._imports",
    "kamiran_calders_weights": "core.fairness._mitigation",
    "load_run_scores": "core.fairness._runs",
    "member_mask": "core.fairness._model_import",
    "mixture_scores": "core.fairness._reductions",
    "prepare_import": "core.fairness._model_import",
    "run_classes": "core.fairness._runs",
    "run_fairness": "core.fairness._runs",
    "run_groups": "core.fairness._runs",
    "slicing_payload": "core.fairness._summary",
    "spec_column": "core.fairness._groups",
    "start_mitigation": "core.fairness._mitigation",
    "summarise": "core.fairness._summary",
    "tradeoff_points": "core.fairness._runs",
    "worst_class_frame": "core.fairness._summary",
    "worst_classes": "core.fairness._runs",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'core.fairness' has no attribute {name!r}")
