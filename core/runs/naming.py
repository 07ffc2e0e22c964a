"""The one place a run's display name is built: what a person reads in every picker, chart, table and report.

A name says what kind of model it is, whether it is private (and at what epsilon), what mitigation made it and
when it was created, e.g. ``Neural network · ε 1 · 4 Dec 15:31:07`` or ``Logistic regression · no privacy ·
reweighted for equal share selected · 4 Dec 15:40:12``. A plain run and a private run of the same spec therefore
never share a name. A name the user typed (stored with :meth:`core.runs.RunStore.rename`) replaces the built one.
"""

from __future__ import annotations

from core.labels import model_label
from core.runs._kinds import RunKind
from core.runs._record import RunRecord

IMPORTED = "Imported scores"
AUDIT_PREFIX = "audit of "


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) >= 0.01 else f"{value:.2g}"


def privacy_label(config: dict) -> str:
    """``ε 1`` for a target epsilon, ``DP noise 1.1`` for a noise multiplier, ``no privacy`` otherwise."""
    if config.get("target_epsilon") is not None:
        return f"ε {_number(float(config['target_epsilon']))}"
    if config.get("noise_multiplier") is not None:
        return f"DP noise {_number(float(config['noise_multiplier']))}"
    return "no privacy"


def _what(record: RunRecord) -> list[str]:
    config = record.config or {}
    if record.kind == RunKind.IMPORT:
        source = (record.name or "").removeprefix("imported: ").strip()
        return [IMPORTED + (f" ({source})" if source else "")]
    if record.kind != RunKind.TRAIN and record.name:
        return [record.name]
    parts = [model_label(config.get("model"))]
    parts.append(privacy_label(config))
    return parts


def display_name(record: RunRecord) -> str:
    """The run's readable name: the user's own when set, else model · privacy · mitigation · creation time (UTC)."""
    if record.custom_name:
        return record.custom_name
    if record.kind == RunKind.TRAIN and record.parent_id is None and record.name:
        return record.name  # a name given when the run was created is the user's own
    parts = _what(record)
    if record.parent_id and record.name:
        parts.append(record.name)
    parts.append(f"{record.created_at:%-d %b %H:%M:%S}")
    return " · ".join(parts)
