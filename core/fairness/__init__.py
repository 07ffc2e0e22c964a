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

__all__ = [
    "DISPARITIES", "FOUR_FIFTHS", "INTERSECTION_SEP", "Comparisons", "Disparity", "FairnessReport", "GroupResult",
    "audit_groups", "group_labels", "spec_column",
]
