"""Names for saved specs that tell them apart: two specs for the same target differ in what the name shows."""

from __future__ import annotations

from collections.abc import Iterable

from core.data.spec import DatasetSpec
from core.text import plural


def default_spec_name(spec: DatasetSpec) -> str:
    """``approved = yes · 6 features · by group, sex``: target, positive class, feature count and audited groups."""
    name = f"{spec.target} = {spec.positive_class} · {plural(len(spec.features), 'feature')}"
    if spec.sensitive_columns:
        name += f" · by {', '.join(spec.sensitive_columns)}"
    return name


def unique_spec_name(name: str, spec: DatasetSpec, saved: Iterable[DatasetSpec]) -> str:
    """``name``, or ``name (2)``, ``(3)``... when another saved spec of the dataset already has it.

    Saving the same choices again keeps their name (same spec id); a different spec never shares a name, so the
    Train page's list never shows two entries that read alike.
    """
    name = name.strip() or default_spec_name(spec)
    taken = {s.name for s in saved if s.spec_id != spec.spec_id and s.dataset_id == spec.dataset_id}
    if name not in taken:
        return name
    number = 2
    while f"{name} ({number})" in taken:
        number += 1
    return f"{name} ({number})"
