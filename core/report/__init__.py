"""The stakeholder report (model card), the CI checks and run comparison, built from a run's stored results."""

from core.report._adapters import audit_for, command_for, explanation_for, fairness_for, privacy_for
from core.report._build import EXTENSIONS, FORMATS, MEDIA_TYPES, Report, build_report, render, report_from_inputs
from core.report._compare import (
    Comparison,
    RunPoint,
    compare_points,
    compare_runs,
    dominates,
    pareto_front,
    run_point,
)
from core.report._content import build_content
from core.report._inputs import (
    REPORTABLE_KINDS,
    ReportInputs,
    gather_inputs,
    package_versions,
    reproduce_command,
)
from core.report._provenance import document_hash, read_provenance
from core.report._settings import (
    DISPARITY_METRICS,
    TEXT_LABELS,
    CardText,
    ReportSettings,
    Thresholds,
    default_thresholds,
    load_settings,
    save_settings,
)
from core.report._verdict import ATTENTION, FAIL, NOT_RUN, PASS, Check, auc_interval, evaluate_checks, overall
from core.report._verify import Finding, verify_file, verify_text

__all__ = [
    "ATTENTION",
    "DISPARITY_METRICS",
    "EXTENSIONS",
    "FAIL",
    "FORMATS",
    "MEDIA_TYPES",
    "NOT_RUN",
    "PASS",
    "REPORTABLE_KINDS",
    "TEXT_LABELS",
    "CardText",
    "Check",
    "Comparison",
    "Finding",
    "Report",
    "ReportInputs",
    "ReportSettings",
    "RunPoint",
    "Thresholds",
    "auc_interval",
    "audit_for",
    "build_content",
    "build_report",
    "command_for",
    "compare_points",
    "compare_runs",
    "default_thresholds",
    "document_hash",
    "dominates",
    "evaluate_checks",
    "explanation_for",
    "fairness_for",
    "gather_inputs",
    "load_settings",
    "overall",
    "package_versions",
    "pareto_front",
    "privacy_for",
    "read_provenance",
    "render",
    "report_from_inputs",
    "reproduce_command",
    "run_point",
    "save_settings",
    "verify_file",
    "verify_text",
]
