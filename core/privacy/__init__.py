"""Privacy analyses above training: the membership-inference audit (it trains reference models), its job, its
reading, and what past runs got (epsilon vs AUC). The DP maths (accountants, noise search, clipping, budget) lives
in the leaf :mod:`core.dp`."""

from core.privacy._audit import (
    ATTACKS,
    DEFAULT_REFERENCE_MODELS,
    AuditResult,
    AuditRows,
    audit_arrays,
    cached_audit,
    choose_audit_rows,
)
from core.privacy._audit_job import AUDIT_KIND, AUDIT_TASK, AuditProgress, audit_progress, submit_audit, wait_audit
from core.privacy._leakage import leakage_table
from core.privacy._mia import (
    AttackReport,
    EpsilonBound,
    attack_report,
    audit_ceiling,
    clopper_pearson,
    epsilon_lower_bound,
    lira_offline_scores,
    loss_scores,
    tpr_at_fpr,
)
from core.privacy._reading import audit_reading
from core.privacy._run import audit_run
from core.privacy._utility import cost_evidence, utility_points

__all__ = [
    "ATTACKS",
    "AUDIT_KIND",
    "AUDIT_TASK",
    "DEFAULT_REFERENCE_MODELS",
    "AttackReport",
    "AuditProgress",
    "AuditResult",
    "AuditRows",
    "EpsilonBound",
    "attack_report",
    "audit_arrays",
    "audit_ceiling",
    "audit_progress",
    "audit_reading",
    "audit_run",
    "cached_audit",
    "choose_audit_rows",
    "clopper_pearson",
    "cost_evidence",
    "epsilon_lower_bound",
    "leakage_table",
    "lira_offline_scores",
    "loss_scores",
    "submit_audit",
    "tpr_at_fpr",
    "utility_points",
    "wait_audit",
]
