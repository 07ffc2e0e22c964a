"""Group labels for a table: one sensitive column, or the intersection of several (sex x race).

Labels are text. Missing values form an explicit ``"missing"`` group (fairlearn 0.15 rejects NaN in sensitive
features, and dropping them would hide the people the data knows least about); numeric columns are cut with the
spec's bins. Bins are computed on the whole stored table and the labels then taken for the rows audited, so the
test split gets the same bands the Data page showed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.data.spec import SensitiveColumn, sensitive_groups
from core.errors import FairnessError

INTERSECTION_SEP = " × "
NO_SENSITIVE = ("No sensitive column was chosen; pick at least one column to slice the results by (for example "
                "'sex').")
UNKNOWN_SENSITIVE = "The sensitive column {name!r} is not in this table; pick one of: {choices}."


def group_labels(frame: pd.DataFrame, columns: Sequence[SensitiveColumn | str], *, intersect: bool = False,
                 rows: np.ndarray | None = None) -> dict[str, pd.Series]:
    """Map each slicing's name to its per-row group labels.

    Without ``intersect`` every column is its own slicing (``{"sex": ..., "race": ...}``); with it the columns form
    one slicing named ``"sex × race"`` whose labels read ``"Female × White"``. ``rows`` picks the audited rows
    (positions in ``frame``) after the bins were computed on the whole table.
    """
    if not columns:
        raise FairnessError(NO_SENSITIVE)
    chosen = [c if isinstance(c, SensitiveColumn) else SensitiveColumn(str(c)) for c in columns]
    for column in chosen:
        if column.column not in frame.columns:
            shown = ", ".join(map(repr, list(frame.columns)[:8]))
            raise FairnessError(UNKNOWN_SENSITIVE.format(name=column.column, choices=shown))
    labels = {}
    for column in chosen:
        values = sensitive_groups(frame, column).astype(str)
        if rows is not None:
            values = values.iloc[rows]
        labels[column.column] = values.reset_index(drop=True)
    if not intersect or len(chosen) < 2:
        return labels
    name = INTERSECTION_SEP.join(labels)
    joined = None
    for values in labels.values():
        joined = values if joined is None else joined + INTERSECTION_SEP + values
    return {name: joined.rename(name)}


def spec_column(spec_sensitive: Sequence[SensitiveColumn], name: str) -> SensitiveColumn:
    """The spec's binning for ``name`` when the spec lists it; a plain (unbinned) column otherwise."""
    for column in spec_sensitive:
        if column.column == name:
            return column
    return SensitiveColumn(name)
