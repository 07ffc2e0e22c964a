"""Fairness: sliced metrics with honest intervals, threshold what-ifs, mitigation, and audits of outside scores."""

from core.fairness._groups import INTERSECTION_SEP, group_labels, spec_column
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
from core.fairness._summary import summarise
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
    "DISPARITIES", "FOUR_FIFTHS", "GROUP_CAVEAT", "INTERSECTION_SEP", "RANDOMISED_NOTE", "STRATEGIES", "TOLERANCE",
    "Comparisons", "DecisionRule", "Disparity", "FairnessReport", "GroupResult", "ThresholdOutcome", "audit_groups",
    "cost_threshold", "evaluate_rule", "fit_thresholds", "group_labels", "spec_column", "summarise",
]
