"""What past private and plain runs of one dataset actually got (epsilon vs test AUC): the only honest evidence of
the accuracy cost of privacy, shown beside the budget calculator."""

from __future__ import annotations

from typing import Any

from core.runs import RunKind, RunStatus
from core.runs.naming import display_name


def utility_points(records: list[Any], dataset_id: str) -> list[dict[str, Any]]:
    """Succeeded runs trained here on ``dataset_id``: epsilon (None = non-private), test AUC and accuracy."""
    points = []
    for record in records:
        metrics = record.metrics or {}
        if (record.dataset_id != dataset_id or record.status != RunStatus.SUCCEEDED
                or record.kind != RunKind.TRAIN or metrics.get("roc_auc") is None):
            continue
        points.append({"run_id": record.id, "name": display_name(record), "epsilon": metrics.get("epsilon"),
                       "roc_auc": metrics.get("roc_auc"), "accuracy": metrics.get("accuracy"),
                       "noise_multiplier": metrics.get("noise_multiplier")})
    return points


def cost_evidence(points: list[dict[str, Any]]) -> str | None:
    """One sentence on the accuracy cost seen on this dataset (each private run's AUC against the best non-private
    run's), or None while the dataset lacks a private or a non-private run to compare."""
    plain = [p for p in points if p["epsilon"] is None]
    private = [p for p in points if p["epsilon"] is not None]
    if not plain or not private:
        return None
    best_plain = max(p["roc_auc"] for p in plain)
    lines = [f"ε {p['epsilon']:.2f}: test AUC {p['roc_auc']:.3f} ({p['roc_auc'] - best_plain:+.3f} vs the best "
             f"non-private run, {best_plain:.3f})" for p in sorted(private, key=lambda p: p["epsilon"])]
    return "Accuracy cost seen on this dataset: " + "; ".join(lines[:6]) + "."
