"""Fairness: sliced metrics with honest intervals, threshold what-ifs, mitigation, and audits of outside scores."""

from core.fairness._groups import INTERSECTION_SEP, group_labels, spec_column
from core.fairness._imports import DECISIONS_NOTE, check_scores, import_scores
from core.fairness._mitigation import (
    CONSTRAINT_CHOICES,
    METHODS,
    REWEIGHTING_JSON,
    kamiran_calders_weights,
    start_mitigation,
)
from core.fairness._reductions import REDUCTIONS_JSON, TorchClassifier, fit_reductions, mixture_scores
from core.fairness._report import (
    DISPARITIES,
    FOUR_FIFTHS,
    Comparisons,
    Disparity,
    FairnessReport,
    GroupResult,
    audit_groups,
)
from core.fairness._rules import DecisionRule
from core.fairness._runs import (
    DECISION_RULE_JSON,
    DECISIONS_ONLY,
    IMPORT_JSON,
    MITIGATION_JSON,
    RunScores,
    has_scores,
    load_run_scores,
    run_fairness,
    run_groups,
    tradeoff_points,
)
from core.fairness._summary import CONTRACT_DISPARITIES, disparity_frame, group_frame, slicing_payload, summarise
from core.fairness._thresholds import (
    GROUP_CAVEAT,
    RANDOMISED_NOTE,
    STRATEGIES,
    TOLERANCE,
    ThresholdOutcome,
    cost_threshold,
    evaluate_rule,
    fit_thresholds,
)

__all__ = [
    "CONSTRAINT_CHOICES",
    "CONTRACT_DISPARITIES",
    "DECISIONS_NOTE",
    "DECISIONS_ONLY",
    "DECISION_RULE_JSON",
    "DISPARITIES",
    "FOUR_FIFTHS",
    "GROUP_CAVEAT",
    "IMPORT_JSON",
    "INTERSECTION_SEP",
    "METHODS",
    "MITIGATION_JSON",
    "RANDOMISED_NOTE",
    "REDUCTIONS_JSON",
    "REWEIGHTING_JSON",
    "STRATEGIES",
    "TOLERANCE",
    "Comparisons",
    "DecisionRule",
    "Disparity",
    "FairnessReport",
    "GroupResult",
    "RunScores",
    "ThresholdOutcome",
    "TorchClassifier",
    "audit_groups",
    "check_scores",
    "cost_threshold",
    "disparity_frame",
    "evaluate_rule",
    "fit_reductions",
    "fit_thresholds",
    "group_frame",
    "group_labels",
    "has_scores",
    "import_scores",
    "kamiran_calders_weights",
    "load_run_scores",
    "mixture_scores",
    "run_fairness",
    "run_groups",
    "slicing_payload",
    "spec_column",
    "start_mitigation",
    "summarise",
    "tradeoff_points",
]
