"""Plain words for the engine's internal names (metrics, disparities, threshold strategies, constraints, methods).

Every page, figure, report and summary that shows one of these names to a person asks this module, so
``selection_rate`` or ``demographic_parity`` never reaches a screen and one name is spelled one way everywhere.
Unknown names fall back to their words with underscores as spaces, never to the raw identifier.
"""

from __future__ import annotations

METRICS: dict[str, str] = {
    "base_rate": "Share actually positive",
    "selection_rate": "Share selected",
    "accuracy": "Accuracy",
    "tpr": "True positive rate (recall)",
    "fpr": "False positive rate",
    "fnr": "False negative rate",
    "precision": "Precision",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "mean_score": "Mean score",
    "calibration_gap": "Calibration gap",
    "balanced_accuracy": "Balanced accuracy",
    "f1": "F1 score",
    "recall": "Recall",
    "log_loss": "Log-loss",
    "brier": "Brier score",
    "count": "Rows",
}

DISPARITIES: dict[str, str] = {
    "demographic_parity_difference": "Gap in share selected",
    "demographic_parity_ratio": "Ratio of shares selected",
    "equalized_odds_difference": "Gap in error rates (equalized odds)",
    "equal_opportunity_difference": "Gap in true positive rates",
    "accuracy_difference": "Gap in accuracy",
    "four_fifths": "Four-fifths rule",
}

#: The statisticians' term for each disparity, printed after the plain words where a reader may look it up.
DISPARITY_TERMS: dict[str, str] = {
    "demographic_parity_difference": "demographic parity difference",
    "demographic_parity_ratio": "demographic parity ratio",
    "equalized_odds_difference": "equalized odds difference",
    "equal_opportunity_difference": "equal opportunity difference",
    "accuracy_difference": "accuracy difference",
}

STRATEGIES: dict[str, str] = {
    "single": "One threshold for everyone",
    "cost": "One threshold from a cost ratio",
    "manual": "Hand-set thresholds per group",
    "demographic_parity": "Equal share selected per group",
    "demographic_parity (deterministic)": "Equal share selected per group (fixed thresholds)",
    "demographic_parity (randomised)": "Equal share selected per group (randomised)",
    "equal_opportunity": "Equal true positive rates per group",
    "equal_opportunity (deterministic)": "Equal true positive rates per group (fixed thresholds)",
    "equal_opportunity (randomised)": "Equal true positive rates per group (randomised)",
    "equalized_odds": "Equal error rates per group",
    "equalized_odds (deterministic)": "Equal error rates per group (fixed thresholds)",
    "equalized_odds (randomised)": "Equal error rates per group (randomised)",
    "equal_accuracy": "Equal accuracy per group",
}

CONSTRAINTS: dict[str, str] = {
    "demographic_parity": "equal share selected",
    "equalized_odds": "equal error rates",
    "equal_opportunity": "equal true positive rates",
}

METHODS: dict[str, str] = {
    "thresholds": "group thresholds",
    "reweight": "reweighted",
    "reductions": "fairness-constrained retraining",
}

MODELS: dict[str, str] = {"mlp": "Neural network", "logistic": "Logistic regression"}


def _fallback(name: str) -> str:
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def metric_label(name: str) -> str:
    """``tpr`` -> ``True positive rate (recall)``."""
    return METRICS.get(name) or DISPARITIES.get(name) or _fallback(name)


def disparity_label(name: str) -> str:
    """``demographic_parity_difference`` -> ``Gap in share selected``."""
    return DISPARITIES.get(name) or _fallback(name)


def disparity_phrase(name: str) -> str:
    """``demographic_parity_difference`` -> ``Gap in share selected (demographic parity difference)``: the plain
    words first, the term a reader can look up after them (choice lists, threshold labels)."""
    term = DISPARITY_TERMS.get(name)
    label = disparity_label(name)
    return f"{label} ({term})" if term and "(" not in label else label  # a label that names its term keeps it


def strategy_label(name: str) -> str:
    """``demographic_parity (deterministic)`` -> ``Equal share selected per group (fixed thresholds)``."""
    return STRATEGIES.get(name) or _fallback(name)


def constraint_label(name: str) -> str:
    """``equalized_odds`` -> ``equal error rates``."""
    return CONSTRAINTS.get(name) or _fallback(name).lower()


def model_label(name: str | None) -> str:
    """``mlp`` -> ``Neural network``."""
    return MODELS.get(str(name), _fallback(name or "model"))


def mitigation_label(method: str, detail: str) -> str:
    """What a mitigated run did, in words: ``reweighted for equal share selected``."""
    if method == "thresholds":
        return f"thresholds: {strategy_label(detail).lower()}"
    return f"{METHODS.get(method, _fallback(method)).lower()} for {constraint_label(detail)}"
