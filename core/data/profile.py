"""Tables the Data page shows, computed here so the page only renders (and the report can reuse them)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from core.data.spec import SensitiveColumn, sensitive_groups


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


def group_sizes(frame: pd.DataFrame, sensitive: Iterable[SensitiveColumn]) -> dict[str, pd.Series]:
    """Rows per group for each sensitive column (largest first), with missing values as their own group."""
    return {s.column: sensitive_groups(frame, s).value_counts() for s in sensitive}
