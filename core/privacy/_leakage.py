"""Leakage by group beside fairness by group: the audit's per-group table joined with the same run's fairness
numbers (test rows, accuracy, selection rate), so a reader sees whose records leak and how the model treats them."""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.errors import RiskboardError
from core.privacy._audit import AuditResult


def _fairness_columns(store: Any, run_id: str, column: str) -> pd.DataFrame | None:
    """That group's fairness numbers for the same run (cached by the fairness audit), or None when unavailable."""
    from core.fairness import run_fairness

    try:
        reports = run_fairness(store, run_id, [column])
    except RiskboardError:  # e.g. too few test rows: fairness is context here, the privacy audit stands alone
        return None
    report = reports.get(column) or next(iter(reports.values()), None)
    if report is None:
        return None
    return pd.DataFrame([{"group": str(g.group), "test rows": g.count,
                          "accuracy": g.metrics.get("accuracy"), "selection rate": g.metrics.get("selection_rate")}
                         for g in report.groups])


def leakage_table(store: Any, result: AuditResult, column: str) -> tuple[pd.DataFrame, bool]:
    """(the per-group leakage table of ``column``, whether the fairness columns could be joined to it)."""
    groups = result.by_group[column]
    table = pd.DataFrame([{"group": g, "members audited": v["n_members"], "non-members audited": v["n_nonmembers"],
                           "attack AUC": v["attack_auc"], "TPR at 1% FPR": v["tpr_at_fpr_0.01"],
                           "small group": v["small"]} for g, v in groups.items()])
    fairness = _fairness_columns(store, result.run_id, column)
    if fairness is None:
        return table, False
    return table.merge(fairness, on="group", how="left"), True
