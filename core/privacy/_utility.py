"""What past private and plain runs of one dataset actually got (epsilon vs test AUC): the only honest evidence of
the accuracy cost of privacy, shown beside the budget calculator."""

from __future__ import annotations

from typing import Any

from core.runs import RunKind, RunStatus


def utility_points(records: list[Any], dataset_id: str) -> list[dict[str, Any]]:
    """Succeeded runs trained here on ``dataset_id``: epsilon (None = non-private), test AUC and accuracy."""
    points = []
    for record in records:
        metrics = record.metrics or {}
        if (record.dataset_id != dataset_id or record.status != RunStatus.SUCCEEDED
                or record.kind != RunKind.TRAIN or metrics.get("roc_auc") is None):
            continue
        points.append({"run_id": record.id, "name": record.name or record.id, "epsilon": metrics.get("epsilon"),
                       "roc_auc": metrics.get("roc_auc"), "accuracy": metrics.get("accuracy"),
                       "noise_multiplier": metrics.get("noise_multiplier")})
    return points
