"""Tables the Data page shows, computed here so the page only renders (and the report can reuse them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from core.data.schema import LeakageWarning
from core.data.spec import MISSING_GROUP, SensitiveColumn, sensitive_groups


def schema_table(schema) -> pd.DataFrame:
    """One row per column: kind, missing share, distinct values, examples and warnings, as plain text cells."""
    return pd.DataFrame({
        "column": [c.name for c in schema.columns],
        "kind": [c.kind for c in schema.columns],
        "missing": [float(c.missing) for c in schema.columns],
        "unique": [int(c.unique) for c in schema.columns],
        "examples": [", ".join(map(str, c.examples[:5])) for c in schema.columns],
        "warnings": ["; ".join(c.warnings) for c in schema.columns],
    })


def _bin_order(label: str) -> float:
    """Sort key of a bin label such as "[25, 45)": its lower edge; "missing" goes last."""
    if label == MISSING_GROUP:
        return float("inf")
    lower = label[1:].split(",")[0].strip()
    return float("-inf") if lower == "-∞" else float(lower)


def group_sizes(frame: pd.DataFrame, sensitive: Iterable[SensitiveColumn]) -> dict[str, pd.Series]:
    """Rows per group for each sensitive column, with missing values as their own group.

    Categories come largest first; bins come in their natural order (youngest age band first), which is how people
    read them.
    """
    sizes = {}
    for column in sensitive:
        counts = sensitive_groups(frame, column).value_counts()
        if column.binning != "none":
            counts = counts.iloc[sorted(range(len(counts)), key=lambda i: _bin_order(str(counts.index[i])))]
        sizes[column.column] = counts
    return sizes


@dataclass(frozen=True)
class LeakReview:
    """Target-leakage warnings against the features chosen: which leaky columns were left out, which were kept."""

    left_out: tuple[str, ...]  # leaky columns not among the features
    selected: tuple[LeakageWarning, ...]  # warnings about columns the user kept as features


def review_leaks(leaks: Iterable[LeakageWarning], features: Iterable[str]) -> LeakReview:
    """Sort the leakage warnings by the features chosen, reading each warning's column (never its text)."""
    leaks, chosen = list(leaks), set(features)
    return LeakReview(left_out=tuple(w.column for w in leaks if w.column not in chosen),
                      selected=tuple(w for w in leaks if w.column in chosen))
